"""The robustness section of the report model: accuracy against severity, clean against
perturbed, corruption error relative to the baseline, flip rates with the most flipped
examples, and McNemar's tests. Tables say what a cell is; render/ decides how it looks."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from reportgen import formatting as fmt
from reportgen.kinds.cells import best_index, model_cell
from reportgen.kinds.robustness.compute import MAX_FLIPPED, ModelRobustness
from reportgen.model import PALETTE, Cell, Figure, Section, Table, chart

ALPHA = 0.05


def _num(text: str, **kwargs: object) -> Cell:
    return Cell(text, role="num", **kwargs)  # type: ignore[arg-type]


def _severity(value: float) -> str:
    return f"{value:g}"


def colours_for(models: Sequence[str], colours: dict[str, str]) -> dict[str, str]:
    return {m: colours.get(m, PALETTE[i % len(PALETTE)]) for i, m in enumerate(models)}


def severity_figure(points: pd.DataFrame, models: Sequence[str], colours: dict[str, str]) -> Figure:
    perturbations = [p for p in dict.fromkeys(points["perturbation"]) if p != "none"]
    clean = points[points["perturbation"] == "none"]
    # the clean value drawn at severity 0 in every panel, where each line starts
    starts = [clean.assign(perturbation=p) for p in perturbations]
    drawn = pd.concat([*starts, points[points["perturbation"] != "none"]], ignore_index=True)
    drawn = drawn[drawn["model"].isin(models)][
        ["model", "perturbation", "severity", "value", "low", "high"]
    ].round({"value": 4, "low": 4, "high": 4})
    return Figure(
        "robustness-severity",
        "Accuracy against severity",
        chart(
            "severity_panels",
            drawn,
            perturbations,
            list(models),
            [colours[m] for m in models],
        ),
        lead="One panel per perturbation, one line per model; severity 0 is the clean copy. "
        "Bands are 95% Wilson intervals (none for values from a robustness table).",
    )


def drop_table(
    found: Sequence[ModelRobustness], points: pd.DataFrame, colours: dict[str, str]
) -> Table:
    rows = []
    for model in found:
        mine = points[(points["model"] == model.name) & (points["perturbation"] != "none")]
        means = mine.groupby("perturbation", sort=False)["value"].mean()
        entries = [*means.items(), ("all perturbations", model.robust)]
        for perturbation, value in entries:
            drop = None if model.clean is None or value is None else model.clean - value
            relative = None if drop is None or not model.clean else drop / model.clean
            rows.append(
                [
                    model_cell(model.name, colours),
                    Cell(
                        str(perturbation),
                        role="text" if perturbation != "all perturbations" else "",
                    ),
                    _num(fmt.rate(model.clean)),
                    _num(fmt.rate(value)),
                    _num(fmt.signed(None if drop is None else -drop)),
                    _num(fmt.percent(relative)),
                ]
            )
    return Table(
        [
            "Model",
            "Perturbation",
            "Clean accuracy",
            "Perturbed accuracy",
            "Change",
            "Relative drop",
        ],
        rows,
        title="Clean against perturbed accuracy",
        lead=True,
        caption="Perturbed accuracy is the mean over the perturbation's severities; 'all "
        "perturbations' is the robust accuracy (the mean over every perturbation and "
        "severity). Relative drop = (clean − perturbed) / clean.",
        numeric=[False, False, True, True, True, True],
    )


def mce_table(found: Sequence[ModelRobustness], baseline: str, colours: dict[str, str]) -> Table:
    perturbations = list(dict.fromkeys(p for m in found for p in m.ce))
    best = best_index([m.mce for m in found], "mce")
    rows = []
    for i, model in enumerate(found):
        mce = Cell(
            fmt.rate(model.mce),
            role="num",
            best=i in best,
            undefined=model.mce is None,
            title=model.mce_reason,
        )
        rows.append(
            [model_cell(model.name, colours), mce]
            + [_num(fmt.rate(model.ce.get(p)), undefined=p not in model.ce) for p in perturbations]
        )
    return Table(
        ["Model", "mCE", *(f"CE {p}" for p in perturbations)],
        rows,
        title="Corruption error relative to the baseline",
        caption=f"CE of a perturbation = the model's errors summed over severities ÷ the "
        f"baseline's ({baseline}); mCE = the mean CE over perturbations, as ImageNet-C "
        "(Hendrycks & Dietterich 2019). Below 1 is more robust than the baseline; lower is "
        "better.",
        numeric=[False] + [True] * (1 + len(perturbations)),
    )


def flip_table(found: Sequence[ModelRobustness], colours: dict[str, str]) -> Table | None:
    rows = []
    for model in found:
        if model.flips is None:
            continue
        per = model.flips.groupby("perturbation", sort=False)[["flipped", "copies"]].sum()
        for perturbation, row in per.iterrows():
            flipped, copies = int(row["flipped"]), int(row["copies"])
            rows.append(
                [
                    model_cell(model.name, colours),
                    Cell(str(perturbation), role="text"),
                    _num(fmt.rate(flipped / copies if copies else None)),
                    _num(f"{flipped:,} of {copies:,}"),
                ]
            )
        rows.append(
            [
                model_cell(model.name, colours),
                Cell("all perturbations"),
                _num(fmt.rate(model.flip_rate)),
                _num(
                    fmt.count(int(model.flips["flipped"].sum()))
                    + " of "
                    + fmt.count(int(model.flips["copies"].sum()))
                ),
            ]
        )
    if not rows:
        return None
    return Table(
        ["Model", "Perturbation", "Flip rate", "Flipped copies"],
        rows,
        title="Flip rate",
        caption="The share of perturbed copies whose prediction differs from the model's "
        "prediction on the clean copy, right or wrong; lower is more stable.",
        numeric=[False, False, True, True],
    )


def flipped_table(found: Sequence[ModelRobustness], colours: dict[str, str]) -> Table | None:
    rows = []
    for model in found:
        if model.flipped is None:
            continue
        for _, row in model.flipped.iterrows():
            rows.append(
                [
                    model_cell(model.name, colours),
                    Cell(str(row["id"]), role="mono"),
                    Cell(str(row["label"]), role="text"),
                    Cell(str(row["clean_prediction"]), role="text"),
                    _num(f"{int(row['flipped']):,} of {int(row['copies']):,}"),
                    Cell(str(row["where"]), role="text"),
                ]
            )
    if not rows:
        return None
    return Table(
        ["Model", "Id", "Label", "Clean prediction", "Flipped", "Flipped under"],
        rows,
        title="Most flipped examples",
        caption=f"Per model, at most {MAX_FLIPPED} examples whose prediction changed under the "
        "most perturbed copies (ties in id order).",
        numeric=[False, False, False, False, True, False],
    )


def _p_cell(p: float, adjusted: float, worse: bool) -> Cell:
    tone = ("worse" if worse else "better") if adjusted < ALPHA else "tie"
    return Cell(fmt.p_value(adjusted), role="num", tone=tone, title=f"unadjusted {fmt.p_value(p)}")


def mcnemar_clean_table(found: Sequence[ModelRobustness], colours: dict[str, str]) -> Table | None:
    rows = []
    for model in found:
        if model.mcnemar is None:
            continue
        for _, row in model.mcnemar.iterrows():
            rows.append(
                [
                    model_cell(model.name, colours),
                    Cell(str(row["perturbation"]), role="text"),
                    _num(_severity(row["severity"])),
                    _num(fmt.rate(row["clean"])),
                    _num(fmt.rate(row["perturbed"])),
                    _num(fmt.count(int(row["lost"]))),
                    _num(fmt.count(int(row["gained"]))),
                    _p_cell(row["p"], row["p_adjusted"], row["lost"] > row["gained"]),
                ]
            )
    if not rows:
        return None
    return Table(
        ["Model", "Perturbation", "Severity", "Clean", "Perturbed", "Lost", "Gained", "p (Holm)"],
        rows,
        title="McNemar: clean against each perturbation",
        caption="McNemar's exact test on the same ids: lost = right on the clean copy and "
        "wrong on the perturbed one, gained = the reverse; p adjusted by Holm over each "
        f"model's tests (α = {ALPHA}). Accuracies are on the ids of the perturbed copies.",
        numeric=[False, False, True, True, True, True, True, True],
    )


def mcnemar_pair_table(
    pairs: dict[str, pd.DataFrame], baseline: str, colours: dict[str, str]
) -> Table | None:
    rows = []
    for name, frame in pairs.items():
        for _, row in frame.iterrows():
            rows.append(
                [
                    model_cell(name, colours),
                    Cell(str(row["perturbation"]), role="text"),
                    _num(_severity(row["severity"])),
                    _num(fmt.count(int(row["n"]))),
                    _num(fmt.rate(row["baseline"])),
                    _num(fmt.rate(row["candidate"])),
                    _num(fmt.count(int(row["worse"]))),
                    _num(fmt.count(int(row["better"]))),
                    _p_cell(row["p"], row["p_adjusted"], row["worse"] > row["better"]),
                ]
            )
    if not rows:
        return None
    return Table(
        [
            "Candidate",
            "Perturbation",
            "Severity",
            "Paired",
            "Baseline",
            "Cand.",
            "Lost",
            "Gained",
            "p (Holm)",
        ],
        rows,
        title=f"McNemar: each candidate against {baseline} per perturbation",
        caption="McNemar's exact test on the ids both models have at each perturbation and "
        "severity: Baseline and Cand. are their accuracies there, lost = ids only the "
        "baseline gets right, gained = ids only the candidate gets right; p adjusted by Holm "
        f"over each candidate's tests (α = {ALPHA}).",
        numeric=[False, False, True, True, True, True, True, True, True],
    )


def robustness_section(
    points: pd.DataFrame,
    found: Sequence[ModelRobustness],
    pairs: dict[str, pd.DataFrame],
    baseline: str,
    colours: dict[str, str],
    drawn: Sequence[str],
    notes: Sequence[str],
) -> Section:
    tables = [drop_table(found, points, colours), mce_table(found, baseline, colours)]
    # the per-setting tables grow with models x perturbations x severities: charted models only
    shown = [m for m in found if m.name in set(drawn)]
    for table in (
        flip_table(shown, colours),
        flipped_table(shown, colours),
        mcnemar_clean_table(shown, colours),
        mcnemar_pair_table({k: v for k, v in pairs.items() if k in set(drawn)}, baseline, colours),
    ):
        if table is not None:
            tables.append(table)
    section = Section(
        "robustness",
        "Robustness under perturbation",
        lead="Accuracy on perturbed copies of the same examples, against the clean copy; "
        f"corruption errors are relative to the baseline, {baseline}.",
        figures=[severity_figure(points, drawn, colours)],
        tables=tables,
        notes=list(notes),
    )
    return section
