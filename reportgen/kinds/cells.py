"""Cells, captions and the comparison table that every kind's sections share: a model's name
with its colour, best-in-column, interval and delta text, the verdict's clauses, element ids."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Protocol

import pandas as pd

from reportgen import formatting as fmt
from reportgen import metrics
from reportgen.kinds.power_text import detects, in_sentence, tie_note
from reportgen.model import Cell, Figure, SubTone, Table, chart
from reportgen.stats.comparison import Comparison

OTHER = "(other)"


def metric_label(name: str) -> str:
    return metrics.label(name)


def model_cell(name: str, colours: dict[str, str]) -> Cell:
    return Cell(name, swatch=colours[name], role="model")


def best_index(values: Sequence[float | None], metric: str) -> set[int]:
    return metrics.best_indices(values, metrics.higher_is_better(metric))


def interval_text(interval: Sequence[float] | None) -> str:
    return "" if not interval else f"95% CI {fmt.rate(interval[0])} to {fmt.rate(interval[1])}"


NOT_SIGNIFICANT = "n.s."


def delta_interval_text(interval: Sequence[float] | None) -> str:
    """The interval of a difference, signed: 95% CI −0.0012 to +0.031."""
    if not interval:
        return ""
    return f"95% CI {fmt.signed(interval[0])} to {fmt.signed(interval[1])}"


def delta_cell_parts(comparison: Comparison, mark: bool = True) -> tuple[str, SubTone]:
    """(text, tone) of a delta: an arrow by direction, a tone only when significant, and
    (``mark``) followed by n.s. when tested and not significant, so that every output (HTML,
    Markdown, plain text) says it in the same words. Tables with a verdict column pass
    ``mark=False``."""
    delta = comparison.delta or 0.0
    arrow = "▲" if delta > 0 else "▼" if delta < 0 else "="
    tone: SubTone = ""
    if comparison.verdict in ("better", "worse"):
        tone = comparison.verdict
    text = f"{arrow} {fmt.signed(delta, floor=True)}"
    if comparison.shared_only:  # the values beside it are of whole runs; Δ is not
        text += f" on {fmt.count(comparison.n_paired)} shared"
    if mark and comparison.verdict == "tie":
        text += f" {NOT_SIGNIFICANT}"
    return text, tone


def add_delta(cell: Cell, comparison: Comparison) -> Cell:
    """The delta from the baseline as the cell's second line (see :func:`delta_cell_parts`)."""
    cell.sub, cell.sub_tone = delta_cell_parts(comparison)
    cell.sub_role = "delta"
    return cell


FEW = 3  # a verdict names the metrics when at most this many differ, else counts them
SHOWN = 2  # candidates a verdict spells out when three or more models are ranked


def listed(items: Sequence[str]) -> str:
    """Items as a list in prose: "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def named(metric_names: Sequence[str]) -> str:
    """Metric labels as a list in prose: "F1", "log loss and Brier", "F1, ECE and Brier"."""
    return listed([in_sentence(metric_label(m)) for m in metric_names])


def verdict_parts(comparisons: Sequence[Comparison], baseline: str, what: str) -> list[str]:
    return list(verdict_clauses(comparisons, baseline, what).values())


def verdict_clauses(comparisons: Sequence[Comparison], baseline: str, what: str) -> dict[str, str]:
    """One clause per candidate, led by what most of its significant differences say, the
    few named and many counted: "candidate is worse than production on 10 of 11 metrics
    (better on ECE)", "naive-bayes is worse than logistic on log loss and Brier, ties on 9",
    "v2 and v1 tie on all 7 metrics"."""
    parts: dict[str, str] = {}
    for candidate in dict.fromkeys(c.candidate for c in comparisons):
        tested = [c for c in comparisons if c.candidate == candidate and c.verdict != "untested"]
        if not tested:
            continue
        better = [c.metric for c in tested if c.verdict == "better"]
        worse = [c.metric for c in tested if c.verdict == "worse"]
        ties = len(tested) - len(better) - len(worse)
        tied = next((c for c in tested if c.verdict == "tie" and c.mde is not None), None)
        if not better and not worse and len(tested) == 1 and tied is not None:
            label = in_sentence(metric_label(tied.metric))
            parts[candidate] = f"{candidate} ties {baseline} on {label} {tie_note(tied)}"
            continue
        detected = (
            "" if tied is None else " " + tie_note(tied, in_sentence(metric_label(tied.metric)))
        )
        if not better and not worse:
            parts[candidate] = (
                f"{candidate} and {baseline} tie on all {len(tested)} {what}{detected}"
            )
            continue
        lead_worse = len(worse) > len(better)
        main, other = (worse, better) if lead_worse else (better, worse)
        verb = f"is worse than {baseline}" if lead_worse else f"beats {baseline}"
        on = named(main) if len(main) <= FEW else f"{len(main)} of {len(tested)} {what}"
        text = f"{candidate} {verb} on {on}"
        if other:
            shown = named(other) if len(other) <= FEW else f"{len(other)}"
            text += f" ({'better' if lead_worse else 'worse'} on {shown})"
        if ties:
            text += f", ties on {ties}{detected}"
        parts[candidate] = text
    return parts


class Verdicted(Protocol):
    """A comparison record's verdict: a :class:`Comparison`, an lm-eval task's delta."""

    @property
    def candidate(self) -> str: ...
    @property
    def verdict(self) -> str: ...


def significant(comparisons: Sequence[Verdicted]) -> dict[str, tuple[int, int]]:
    """Per candidate: on how many metrics it is significantly worse, and better."""
    found: dict[str, tuple[int, int]] = {}
    for c in comparisons:
        worse, better = found.get(c.candidate, (0, 0))
        found[c.candidate] = (worse + (c.verdict == "worse"), better + (c.verdict == "better"))
    return found


def ranked_verdict(
    clauses: dict[str, str],
    ranks: dict[str, int] | None,
    metric: str,
    baseline: str,
    comparisons: Sequence[Verdicted],
) -> list[str]:
    """With three or more models ranked: who is best first ("Best: v3 (rank 1 of 5 on F1;
    v5 not distinguishable)"), then the clauses of the two candidates that differ most from
    the baseline in ``comparisons`` (significantly worse first: regressions are what a
    reader must not miss), and a count of the rest."""
    if not ranks or len(ranks) < 3:
        return list(clauses.values())
    order = sorted(ranks, key=ranks.__getitem__)  # stable: ties keep the report's order
    top = [m for m in order if ranks[m] == 1]
    on = in_sentence(metric_label(metric))
    if len(top) == len(ranks):
        lead = f"No model ranks above the others on {on} (all {len(ranks)} share rank 1)"
    else:
        lead = f"Best: {top[0]} (rank 1 of {len(ranks)} on {on}"
        if len(top) > 1:
            rest = listed(top[1:])
            lead += f"; {rest} {'is' if len(top) == 2 else 'are'} not distinguishable"
        lead += ")"
    counts = significant(comparisons)
    candidates = [m for m in order if m != baseline and m in clauses]
    candidates.sort(key=lambda m: (-counts.get(m, (0, 0))[0], -counts.get(m, (0, 0))[1]))
    shown = [clauses[m] for m in candidates[:SHOWN]]
    hidden = candidates[SHOWN:]
    if hidden:
        plural = "s" if len(hidden) > 1 else ""
        if all(counts.get(m) == (0, 0) for m in hidden):  # compared, and all ties
            shown.append(f"{len(hidden)} more candidate{plural} tie with {baseline} throughout")
        else:
            shown.append(f"{len(hidden)} more candidate{plural} in the comparisons")
    return [lead, *shown]


def comparison_views(
    comparisons: Sequence[Comparison],
    colours: dict[str, str],
    figure_id: str,
    metric_name: Callable[[Comparison], str] = lambda c: metric_label(c.metric),
    value_text: Callable[[str, float | None], str] = lambda metric, value: fmt.rate(value),
    draws: Callable[[str], bool] = lambda name: True,
) -> tuple[Table, Figure | None]:
    """The table of comparisons (delta, adjusted and plain intervals, p, adjusted p, test,
    verdict) and the chart of improvements with the adjusted intervals, for any kind of run;
    the chart draws the candidates ``draws`` says, the table lists every one.

    The chart and the verdict use the same interval: it crosses zero exactly for a tie."""
    rows, points = [], []
    for c in comparisons:
        sign = -1.0 if metrics.lower_is_better(c.metric) else 1.0
        text, tone = delta_cell_parts(c, mark=False)  # the verdict has its own column
        interval = f"{fmt.signed(c.ci[0])} to {fmt.signed(c.ci[1])}" if c.ci else fmt.MISSING
        drawn_ci = c.ci_adjusted or c.ci
        adjusted = (
            f"{fmt.signed(drawn_ci[0])} to {fmt.signed(drawn_ci[1])}" if drawn_ci else fmt.MISSING
        )
        rows.append(
            [
                model_cell(c.candidate, colours),
                Cell(metric_name(c)),
                Cell(value_text(c.metric, c.baseline_value), role="num"),
                Cell(value_text(c.metric, c.candidate_value), role="num"),
                Cell(text, role="num", delta=True, tone=tone),
                Cell(adjusted, title=f"unadjusted 95% interval: {interval}", role="num"),
                Cell(interval, role="num"),
                Cell(fmt.p_value(c.p_value), title=metrics.TESTS.get(c.test), role="num"),
                Cell(fmt.p_value(c.p_value_adjusted), role="num"),
                Cell(
                    fmt.MISSING if c.mde is None else detects(c.mde),
                    title="the smallest change this test detects with 80% power at its level",
                    role="num",
                ),
                Cell(c.test, role="mono"),
                Cell(c.verdict, role="verdict", tone=c.verdict),
            ]
        )
        if drawn_ci is not None and draws(c.candidate):
            low, high = sorted((sign * drawn_ci[0], sign * drawn_ci[1]))
            points.append(
                {
                    "candidate": c.candidate,
                    "metric": metric_name(c),
                    "improvement": round(sign * c.delta, 6),  # type: ignore[operator]
                    "low": round(low, 6),
                    "high": round(high, 6),
                    "verdict": c.verdict,
                    "p": fmt.p_value(c.p_value_adjusted),
                    "plain": interval,
                    "label": f"{c.candidate}, {metric_name(c)}: {c.verdict}",
                    # rates in [0, 1] share one scale; other metrics get their own
                    "scale": "shared" if metrics.bounded(c.metric) else "own",
                }
            )
    table = Table(
        [
            "Candidate",
            "Metric",
            "Baseline",
            "Candidate",
            "Δ",
            "Adjusted CI of Δ",
            "95% CI of Δ",
            "p",
            "p (adjusted)",
            "MDE",
            "Test",
            "Verdict",
        ],
        rows,
        title="Comparison table",
        caption="Δ = candidate minus baseline. Verdicts use p < 0.05 adjusted "
        f"{correction_text(comparisons)}; the adjusted interval is the one the verdict "
        "uses (it crosses zero exactly for a tie), the 95% interval is each metric's own. "
        "MDE: the smallest change the test detects with 80% power at its adjusted level.",
        numeric=[False, False, True, True, True, True, True, True, True, True, False, False],
    )
    if not points:
        return table, None
    candidates = list(dict.fromkeys(p["candidate"] for p in points))
    drawn = chart(
        "improvement_chart",
        pd.DataFrame(points),
        list(dict.fromkeys(metric_name(c) for c in comparisons)),
        candidates,
        [colours[c] for c in candidates],
    )
    figure = Figure(
        figure_id,
        "Improvement over the baseline, with adjusted intervals",
        drawn,
        lead="Right of zero is better (the sign is flipped for metrics where lower is "
        "better). Each bar is the adjusted interval the verdict uses, coloured by it: one "
        "that crosses zero is a tie. Rates share one scale; other metrics have their own. "
        "Hover for the unadjusted 95% interval.",
    )
    return table, figure


def correction_text(comparisons: Sequence[Comparison]) -> str:
    """How the p-values were corrected, and in families of how many tests, as a lead says it:
    "by max-T (correlated metrics count together) in families of 11 tests (--multiplicity)"."""
    sizes = sorted({c.family for c in comparisons if c.family})
    if not sizes:
        return "(no test was run)"
    names = sorted({c.correction for c in comparisons if c.correction and c.correction != "none"})
    how = {
        "max-T": "by max-T (correlated metrics count for less than separate tests)",
        "Holm": "by Holm",
    }
    by = " or ".join(how.get(n, n) for n in names) or "not at all (families of one)"
    shown = " or ".join(str(n) for n in sizes)
    return f"{by}, in families of {shown} tests (--multiplicity)"


def metadata_items(metadata: dict[str, object]) -> list[tuple[str, str]]:
    """A run's metadata as (key, text) pairs; values that are not text shown as JSON."""
    return [
        (str(k), v if isinstance(v, str) else json.dumps(v, sort_keys=True))
        for k, v in metadata.items()
    ]


TEXT_PREVIEW = 120


TEXT_HOVER = 2000


def slug_of(text: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")
    return cleaned or "column"
