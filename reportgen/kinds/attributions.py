"""Token attributions of classification runs (``--attributions NAME=PATH``, JSON Lines): token
strips coloured by attribution, the models side by side on the same example ids.

The examples shown are those where the models' predictions differ, then the most confident
mistakes, then the rest, at most ``MAX_EXAMPLES`` of them and ``MAX_TOKENS`` tokens each; the
page says how many were left out. The strips are plain text cells (:class:`~reportgen.model.
Token`): no chart and no JavaScript, so the static page and the email show them as they are.

Rank agreement of a candidate's attributions with the baseline's, per example with identical
tokens: Spearman's ρ, the Pearson correlation of the two lists' average ranks (ties share
their mean rank, as ``scipy.stats.spearmanr``); the headline is its mean over those examples
(examples where either list is constant have no ρ and are left out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reportgen import formatting as fmt
from reportgen.ingest.attributions import AttributionFile, read_attributions
from reportgen.ingest.folders import check_regular_file
from reportgen.kinds.base import BoardPart, Context, Kind, KindResult, SummaryPart
from reportgen.kinds.cells import model_cell
from reportgen.kinds.classification.encode import EncodedRun
from reportgen.kinds.classification.examples import confidence
from reportgen.model import Cell, ExampleRef, Section, Table, Token
from reportgen.stats.score import Score

MAX_EXAMPLES = 12  # examples shown
MAX_TOKENS = 256  # tokens shown per strip; the rest are counted
MAX_TOKEN_CHARS = 40  # characters of one token shown (a token of a whole line is cut)
METRIC = "attribution_rank_agreement"
REASONS = ("models disagree", "confident mistake", "right, models agree")


@dataclass
class ModelAttributions:
    """One model's attributions matched to its classification run."""

    name: str
    file: AttributionFile
    encoded: EncodedRun
    ids: pd.Index  # the run's ids as text, in row order
    unmatched: int  # ids of the file that the run does not have
    agreement: float | None = None  # mean Spearman ρ with the baseline's attributions
    compared: int = 0  # examples behind it (same tokens, neither list constant)


@dataclass
class Shown:
    """One example chosen for the page, and why."""

    id: str
    reason: str
    label: str


@dataclass
class AttributionsResult(KindResult):
    models_attributed: list[ModelAttributions] = field(default_factory=list)
    shown: list[Shown] = field(default_factory=list)
    pool: int = 0  # examples with attributions in some file and in that model's run
    by_reason: dict[str, int] = field(default_factory=dict)  # the pool's examples per reason


def grouped_ranks(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties share their mean) of ``values`` within each ``group``."""
    n = len(values)
    order = np.lexsort((values, group))
    v, g = values[order], group[order]
    pos = np.arange(n)
    new_group = np.r_[True, g[1:] != g[:-1]] if n else np.zeros(0, bool)
    new_block = new_group | np.r_[True, v[1:] != v[:-1]] if n else new_group
    first = pos[new_block]
    counts = np.diff(np.r_[first, n])
    block = np.cumsum(new_block) - 1
    group_first = np.maximum.accumulate(np.where(new_group, pos, 0))
    ranks = np.empty(n)
    ranks[order] = (first + (counts - 1) / 2.0)[block] - group_first + 1.0
    return ranks


def grouped_spearman(a: np.ndarray, b: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Spearman's ρ of ``a`` and ``b`` within consecutive groups of the given lengths (NaN for a
    group with fewer than 2 values or a constant list)."""
    groups = len(lengths)
    group = np.repeat(np.arange(groups), lengths)
    ra, rb = grouped_ranks(a, group), grouped_ranks(b, group)
    size = np.maximum(lengths, 1).astype(np.float64)
    da = ra - (np.bincount(group, ra, groups) / size)[group]
    db = rb - (np.bincount(group, rb, groups) / size)[group]
    cov = np.bincount(group, da * db, groups)
    var = np.bincount(group, da * da, groups) * np.bincount(group, db * db, groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = cov / np.sqrt(var)
    return np.where((var > 0) & (lengths >= 2), rho, np.nan)


def rank_agreement(base: AttributionFile, other: AttributionFile) -> tuple[float | None, int]:
    """Mean Spearman ρ over the examples both files hold with the same tokens."""
    same = [
        (base.examples[i].values, other.examples[i].values)
        for i in base.examples
        if i in other.examples and base.examples[i].tokens == other.examples[i].tokens
    ]
    if not same:
        return None, 0
    lengths = np.array([len(a) for a, _ in same])
    rho = grouped_spearman(
        np.concatenate([a for a, _ in same]), np.concatenate([b for _, b in same]), lengths
    )
    defined = rho[np.isfinite(rho)]
    return (float(defined.mean()) if len(defined) else None), len(defined)


def choose(models: Sequence[ModelAttributions], limit: int) -> tuple[list[Shown], int, dict]:
    """The examples to show: where the models' predictions differ (most confident first), then
    any model's confident mistakes, then the rest, in the order of the files. Returns them,
    the size of the pool they come from, and how many of the pool each reason holds."""
    pool = pd.Index(list(dict.fromkeys(i for m in models for i in m.file.examples if i in m.ids)))
    if not len(pool):
        return [], 0, {}
    preds, right, conf, valid = [], [], [], []
    for m in models:
        rows = m.ids.get_indexer(pool)
        ok = rows >= 0
        at = np.where(ok, rows, 0)
        enc = m.encoded
        preds.append(np.where(ok, enc.y_pred[at], -1))
        right.append(enc.y_pred[at] == enc.y_true[at])
        sure = confidence(enc)
        conf.append(np.where(ok, sure[at], np.nan) if sure is not None else np.full(len(pool), 0.0))
        valid.append(ok)
    p, r, c, v = (np.column_stack(x) for x in (preds, right, conf, valid))
    high = np.where(v, p, -1).max(axis=1)
    low = np.where(v, p, np.iinfo(np.int64).max).min(axis=1)
    disagree = (v.sum(axis=1) >= 2) & (high != low)
    wrong = v & ~r
    mistake = wrong.any(axis=1)
    tier = np.where(disagree, 0, np.where(mistake, 1, 2))
    sure_any = np.nan_to_num(np.where(v, c, np.nan), nan=-np.inf).max(axis=1)
    sure_wrong = np.nan_to_num(np.where(wrong, c, np.nan), nan=-np.inf).max(axis=1)
    key = np.where(tier == 0, sure_any, np.where(tier == 1, sure_wrong, 0.0))
    order = np.lexsort((np.arange(len(pool)), -key, tier))[:limit]
    first = v.argmax(axis=1)  # the first model whose run holds the id gives its true class
    labels = [
        models[first[k]].encoded.classes[
            models[first[k]].encoded.y_true[models[first[k]].ids.get_loc(pool[k])]
        ]
        for k in order
    ]
    shown = [
        Shown(str(pool[k]), REASONS[tier[k]], label) for k, label in zip(order, labels, strict=True)
    ]
    counts = {REASONS[t]: int(np.count_nonzero(tier == t)) for t in range(3)}
    return shown, len(pool), counts


def strip(values: np.ndarray, tokens: Sequence[str]) -> tuple[tuple[Token, ...], int]:
    """The first MAX_TOKENS tokens as a strip, scaled by the example's largest |attribution|
    (over all its tokens, so a cut strip keeps its scale), and how many were left out."""
    scale = float(np.abs(values).max()) or 1.0
    kept = min(len(tokens), MAX_TOKENS)
    weights = np.round(values[:kept] / scale, 2)
    return (
        tuple(
            Token(_token_text(t), float(round(v, 6)), float(w))
            for t, v, w in zip(tokens[:kept], values[:kept].tolist(), weights.tolist(), strict=True)
        ),
        len(tokens) - kept,
    )


def _token_text(token: str) -> str:
    shown = fmt.escape_hidden(token)  # a newline token reads \n; a bidi override cannot act
    return shown if len(shown) <= MAX_TOKEN_CHARS else shown[: MAX_TOKEN_CHARS - 1] + "…"


def _model_cell(m: ModelAttributions, ident: str) -> Cell:
    example = m.file.examples.get(ident)
    row = m.ids.get_indexer([ident])[0]
    if example is None or row < 0:
        return Cell("no attributions for this id", undefined=True)
    enc = m.encoded
    sure = confidence(enc)
    said = enc.classes[enc.y_pred[row]]
    verdict = "right" if enc.y_pred[row] == enc.y_true[row] else "wrong"
    text = f"{said} · {verdict}" + (f" · {fmt.rate(float(sure[row]))}" if sure is not None else "")
    if example.target is not None:
        text += f" · explains {example.target}"
    tokens, left = strip(example.values, example.tokens)
    return Cell(
        text,
        role="text",  # wraps, within a readable width
        tokens=tokens,
        example=ExampleRef(m.name, ident, "strip"),  # linked to its error row, if listed
        sub=f"{fmt.count(left)} more tokens not shown" if left else None,
        sub_role="tag" if left else "",
    )


def attributions_section(result: AttributionsResult, ctx: Context) -> Section:
    models = [m for m in result.models_attributed if ctx.draws(m.name)]
    rows = [
        [
            Cell(fmt.escape_hidden(s.id), role="mono"),  # a bidi override cannot act
            Cell(s.label, role="mono"),
            Cell(s.reason),
            *[_model_cell(m, s.id) for m in models],
        ]
        for s in result.shown
    ]
    left = result.pool - len(result.shown)
    counts = "; ".join(f"{r}: {n:,}" for r, n in result.by_reason.items() if n)
    table = Table(
        ["Id", "Label", "Why shown", *[m.name for m in models]],
        rows,
        title="Token attributions",
        lead=True,
        caption=f"{len(result.shown):,} of {result.pool:,} examples with attributions shown"
        + (f", {left:,} left out" if left else "")
        + f" (of the {result.pool:,}: {counts}); at most {MAX_EXAMPLES} examples and the first "
        f"{MAX_TOKENS} tokens of each. Each model's cell: its prediction, right or wrong, its "
        "confidence, the class its attributions explain, then its tokens." + _agreement(result),
    )
    section = Section(
        "attributions",
        "Token attributions",
        lead="Which tokens pushed each model towards the class its attributions explain "
        "(orange) or away from it (blue), side by side on the same examples: first those the "
        "models predict differently, then the most confident mistakes. Each strip is scaled "
        "by its own largest absolute attribution (full colour), so compare tokens within a "
        "strip, not strengths across strips. Hover a token for its value. A model's prediction "
        "links to the example's row in the error analysis below when that lists it.",
        tables=[table],
    )
    if len(models) < len(result.models_attributed):
        section.notes.append(
            f"Strips of {len(models)} of {len(result.models_attributed)} models, those the "
            "charts draw; the token attributions board lists every model."
        )
    methods = {m.name: m.file.methods for m in models}
    for m in models:
        said = ", ".join(methods[m.name]) or "not stated"
        note = f"{m.name}: {m.file.path.name}, method {said}"
        deltas = [a.delta for a in m.file.examples.values() if a.delta is not None]
        if deltas:
            note += f", mean |convergence delta| {np.mean(np.abs(deltas)):.3g}"
        if m.unmatched:
            note += f"; {m.unmatched:,} ids of the file are not in the run and are left out"
        section.notes.append(note + ".")
    if len({tuple(v) for v in methods.values()}) > 1:
        section.notes.append(
            "The models' attributions come from different methods; their scales and signs "
            "need not agree."
        )
    return section


def _agreement(result: AttributionsResult) -> str:
    """The headline as a sentence: each candidate's rank agreement with the baseline."""
    parts = [
        f"{m.name} {fmt.rate(m.agreement)} ({m.compared:,} examples)"
        for m in result.models_attributed[1:]
    ]
    if not parts:
        return ""
    return f" Rank agreement with {result.baseline} (mean Spearman ρ): {', '.join(parts)}."


def attributions_board(result: AttributionsResult, colours: dict[str, str]) -> Table:
    """One row per model: its attributions, and how their ranking agrees with the baseline's."""
    rows = []
    for m in result.models_attributed:
        deltas = [abs(a.delta) for a in m.file.examples.values() if a.delta is not None]
        is_base = m.name == result.baseline
        rows.append(
            [
                model_cell(m.name, colours),
                Cell(fmt.count(len(m.file.examples)), role="num"),
                Cell(", ".join(m.file.methods) or "not stated"),
                Cell(
                    "baseline" if is_base else fmt.rate(m.agreement),
                    role="num",
                    undefined=not is_base and m.agreement is None,
                    title=None if is_base else f"over {m.compared:,} examples with the same tokens",
                ),
                Cell(f"{np.mean(deltas):.3g}" if deltas else fmt.MISSING, role="num"),
            ]
        )
    return Table(
        ["Model", "Examples", "Method", "Rank agreement (ρ)", "Mean |convergence delta|"],
        rows,
        title="Token attributions",
        caption="Rank agreement: Spearman's ρ between the model's and the baseline's "
        "attributions, averaged over the examples both explain with the same tokens (1: the "
        "same order of importance; 0: unrelated). A convergence delta far from 0 means the "
        "attributions do not add up to the model's output.",
        numeric=[False, True, False, True, True],
    )


class AttributionsKind(Kind):
    """Token attributions of classification runs, drawn just before the error analysis."""

    name = "token attributions"
    title = "Token attributions"
    board = "attributions"  # its own small board: the Markdown summary shows it
    board_title = "Token attributions"
    before_section = "errors"
    reads = ("classification",)
    options = ("attributions",)

    def evaluate(self, runs: list[Any], ctx: Context) -> AttributionsResult | None:
        found = ctx.result("classification")
        encoded = {} if found is None else {e.name: e.encoded for e in found.evaluations}
        files = _attach(ctx, encoded)
        if found is None or not files:
            return None
        models = []
        for name, file in files.items():
            enc = encoded[name]
            run_ids = enc.run.ids
            ids = pd.Index(
                np.arange(1, len(enc.y_true) + 1) if run_ids is None else run_ids
            ).astype(str)
            unmatched = int(np.count_nonzero(~pd.Index(list(file.examples)).isin(ids)))
            models.append(ModelAttributions(name, file, enc, ids, unmatched))
        models.sort(key=lambda m: (m.name != found.baseline, found.models.index(m.name)))
        baseline = models[0].name
        for m in models[1:]:
            m.agreement, m.compared = rank_agreement(models[0].file, m.file)
        shown, pool, by_reason = choose(models, MAX_EXAMPLES)
        return AttributionsResult(
            kind=self.name,
            baseline=baseline,
            models=[m.name for m in models],
            models_attributed=models,
            shown=shown,
            pool=pool,
            by_reason=by_reason,
        )

    def scores(self, result: AttributionsResult) -> list[Score]:
        return [
            Score(
                m.name,
                self.name,
                METRIC,
                m.agreement,
                result.baseline,
                n=m.compared,
                reason=None if m.agreement is not None else "no example with the same tokens",
            )
            for m in result.models_attributed[1:]
        ]

    def on_board(self, result: AttributionsResult, ctx: Context) -> BoardPart:
        return BoardPart(table=attributions_board(result, ctx.colours))

    def sections(self, result: AttributionsResult, ctx: Context) -> list[Section]:
        return [attributions_section(result, ctx)]

    def summary(self, result: AttributionsResult) -> SummaryPart:
        models = {
            m.name: {
                "path": str(m.file.path),
                "sha256": m.file.sha256,
                "examples": len(m.file.examples),
                "unmatched_ids": m.unmatched,
                "methods": m.file.methods,
                "rank_agreement_with_baseline": m.agreement,
                "rank_agreement_examples": m.compared,
            }
            for m in result.models_attributed
        }
        top = {
            "token_attributions": {
                "baseline": result.baseline,
                "models": models,
                "examples_with_attributions": result.pool,
                "by_reason": result.by_reason,
                "shown": [{"id": s.id, "reason": s.reason} for s in result.shown],
                "max_examples": MAX_EXAMPLES,
                "max_tokens": MAX_TOKENS,
            }
        }
        return SummaryPart(top=top)


def _attach(ctx: Context, encoded: dict[str, EncodedRun]) -> dict[str, AttributionFile]:
    """Each ``--attributions NAME=PATH``, read and checked against the classification runs."""
    files: dict[str, AttributionFile] = {}
    for given in ATTRIBUTIONS.file_arguments(
        ctx,
        list(encoded),
        of="classification",
        why="token attributions are shown beside classification predictions",
    ):
        with given.named():
            check_regular_file(given.path, "attributions")
        files[given.name] = read_attributions(given.path, given.name)
    return files


ATTRIBUTIONS = AttributionsKind()
