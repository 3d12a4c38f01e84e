"""Binary runs larger than memory: one ``GROUP BY (label, prediction, score bucket,
calibration side)`` per run, crowded buckets refined by rereading their rows, and the same
sufficient statistics as in memory, with stated bounds on ROC AUC and average precision.

Score buckets are equal steps of ln(score) (of -ln(1 - score) above 0.5): each bucket is a fixed
fraction (2⁻¹², 0.024%) of its scores wherever they crowd (click-through rates near 0.003 as
well as probabilities near 0.5 or 0.999). Scores in one bucket count as tied, as
scikit-learn counts tied scores; the exact AUC lies within ``auc_bound`` of the binned one:
half the share of positive-negative pairs that share a bucket; crowded buckets are split
finer by rereading their rows (:func:`refine`). Confusion counts, log loss, Brier score and
calibration bins are exact (a bucket holding an ECE edge is split at it by one comparison).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reportgen.engines.sql import Engine, _label_names, score_is_probability
from reportgen.errors import ReportgenError
from reportgen.ingest.runs import sort_classes
from reportgen.kinds.classification.encode import choose_positive
from reportgen.kinds.classification.statistics import (
    ECE_BINS,
    CalibrationCounts,
    ConfusionCounts,
    ProbabilitySums,
    RankCounts,
)

BUCKET_BITS = 12  # buckets 2^-12 of ln(score) wide: 0.024% of the score (of 1 - s above 0.5)

STEP_BITS = 8  # each refinement round splits a bucket 256 ways


MAX_LEVEL = 5  # at most 5 x 8 = 40 more bits: 2^-52 of ln(score), about 2e-16 relative


FINE_BITS = 40  # bits of the within-bucket position key


BOUND_TARGET = 1e-7  # refine crowded buckets until the AUC bound is below this


GROUP_BUDGET = 1_000_000  # new groups one refinement round may create (its memory)


EPS = float(np.finfo(np.float64).eps)


HARMONIC_DIRECT = 256  # buckets with at most this many positives: summed term by term
HARMONIC_NEAR = 256  # from c on, the Euler-Maclaurin form is exact to double precision
HARMONIC_CHUNK = 20_000
ECE_EDGES = np.linspace(0.0, 1.0, ECE_BINS + 1)


@dataclass(frozen=True)
class BinnedStats:
    """A binary run's statistics from one aggregation, and how far binning can move AUC/AP."""

    classes: tuple[str, ...]
    positive: int
    confusion: ConfusionCounts
    rank: RankCounts  # one entry per occupied score bucket (mean score of the bucket)
    calibration: CalibrationCounts | None
    probability: ProbabilitySums | None
    auc_bound: float  # |exact AUC - binned AUC| <= auc_bound (exact ties are not errors)
    ap_range: tuple[float, float]  # the exact AP lies in this range
    average_precision: float  # ties as scikit-learn counts them; mixed buckets: mid-range
    ap_bound: float  # |exact AP - average_precision| <= ap_bound
    n_buckets: int
    score_range: tuple[float, float]


def position_sql(x: str, probability: bool) -> str:
    """A log-scale position that orders like ``x``: buckets of equal width in it have equal
    *relative* width in the score, so they stay narrow wherever scores crowd.

    Probabilities: ln(s) up to 0.5, -ln(1 - s) above (1 - s is exact there, so scores near 1
    are resolved as finely as scores near 0); 0 and 1 get their own ends. Other scores
    (logits, margins): sign(x) * (ln|x| + 746), 746 lifting every positive double above 0."""
    if probability:
        return (
            f"CASE WHEN {x} <= 0 THEN -800.0 WHEN {x} >= 1 THEN 800.0 "
            f"WHEN {x} <= 0.5 THEN ln({x}) ELSE -ln(1 - {x}) END"
        )
    return f"CASE WHEN {x} = 0 THEN 0.0 WHEN {x} > 0 THEN ln({x}) + 746 ELSE -(ln(-{x}) + 746) END"


def coarse_sql(position: str) -> str:
    """The coarse bucket of a position: 2^BUCKET_BITS buckets per unit of ln(score)."""
    return f"CAST(floor({position} * {1 << BUCKET_BITS}) AS BIGINT)"


def fine_sql(position: str, level: int) -> str:
    """The place inside its coarse bucket after ``level`` refinements (STEP_BITS more bits
    each), scaled to FINE_BITS so that keys of every level interleave in score order (exact:
    only powers of two scale the position)."""
    if level == 0:
        return "CAST(0 AS BIGINT)"
    step = STEP_BITS * level
    finer = f"floor({position} * {1 << (BUCKET_BITS + step)})"
    coarse = f"floor({position} * {1 << BUCKET_BITS}) * {1 << step}"
    return f"CAST({finer} - {coarse} AS BIGINT) * {1 << (FINE_BITS - step)}"


def refine(
    engine: Engine,
    rows: str,
    cells: pd.DataFrame,
    keys: str,
    measures: str,
    positive: Callable[[pd.DataFrame], np.ndarray],
) -> pd.DataFrame:
    """Split the buckets that carry most of the AUC bound, STEP_BITS finer per round, rereading
    only their rows (``rows``: a relation with the position column ``reportgen_w``), until the
    bound is below BOUND_TARGET (or MAX_LEVEL is reached)."""
    cells = cells.assign(level=0)
    for level in range(1, MAX_LEVEL + 1):
        # only buckets of the last level can be split further: their keys are what the
        # reread rows are matched on
        heavy = _heavy_buckets(cells, positive(cells), level - 1)
        if heavy.empty:
            break
        engine.register("reportgen_heavy", heavy)
        w = "reportgen_w"
        finer = engine.frame(
            f"""SELECT {keys}, {fine_sql(w, level)} AS fine, {measures}
                FROM (SELECT *, {coarse_sql(w)} AS reportgen_c,
                             {fine_sql(w, level - 1)} AS reportgen_f
                      FROM {rows}) AS t
                WHERE EXISTS (SELECT 1 FROM reportgen_heavy AS h
                              WHERE h.coarse = t.reportgen_c AND h.fine = t.reportgen_f)
                GROUP BY ALL"""
        )
        engine.unregister("reportgen_heavy")
        refined = pd.MultiIndex.from_frame(heavy[["coarse", "fine"]])
        current = pd.MultiIndex.from_frame(cells[["coarse", "fine"]])
        finer = finer.assign(level=level)
        cells = pd.concat([cells[~current.isin(refined)], finer], ignore_index=True)
    return cells.drop(columns="level")


def _heavy_buckets(cells: pd.DataFrame, is_pos: np.ndarray, level: int) -> pd.DataFrame:
    """The fewest buckets, largest shares of positive-negative pairs first, whose refinement
    brings the AUC bound below BOUND_TARGET, within GROUP_BUDGET new groups; only buckets
    holding different scores (an exact tie is not an error)."""
    n = cells["n"].to_numpy(dtype=np.float64)
    frame = pd.DataFrame(
        {
            "coarse": cells["coarse"],
            "fine": cells["fine"],
            "pos": n * is_pos,
            "neg": n * ~is_pos,
            "low": cells["low"],
            "high": cells["high"],
        }
    )
    by = frame.groupby(["coarse", "fine"], sort=False).agg(
        pos=("pos", "sum"), neg=("neg", "sum"), low=("low", "min"), high=("high", "max")
    )
    total = by["pos"].sum() * by["neg"].sum()
    empty = pd.DataFrame({"coarse": np.zeros(0, np.int64), "fine": np.zeros(0, np.int64)})
    if total == 0:
        return empty
    mixed = (by["high"] > by["low"]).to_numpy()
    # each bucket's part of the AUC bound and of the AP range (_average_precision), by score
    ordered = by.sort_index(ascending=False)
    pos, neg = ordered["pos"].to_numpy(), ordered["neg"].to_numpy()
    auc_part = 0.5 * pos * neg / total
    ap_part = _ap_widths(pos, neg)
    part = pd.Series((auc_part + ap_part) * mixed[_positions(by, ordered)], index=ordered.index)
    if part.sum() <= 2 * BOUND_TARGET:
        return empty
    at_level = (
        frame.assign(level=cells["level"]).groupby(["coarse", "fine"], sort=False)["level"].first()
    )
    share = part[(part > 0) & (at_level.reindex(part.index) == level).to_numpy()]
    share = share.sort_values(ascending=False, kind="stable")
    remaining = part.sum() - share.cumsum()
    needed = int(np.searchsorted(-remaining.to_numpy(), -2 * BOUND_TARGET)) + 1
    rows = (by["pos"] + by["neg"]).reindex(share.index)
    groups = np.minimum(rows.to_numpy(), 2 << STEP_BITS).cumsum()  # both labels per sub-bucket
    affordable = max(1, int(np.searchsorted(groups, GROUP_BUDGET, side="right")))
    take = min(needed, affordable)
    if share.iloc[:take].sum() < 0.5 * (part.sum() - 2 * BOUND_TARGET):
        # the bound is spread thin over many buckets: a rescan would barely move it
        return empty
    chosen = share.index[:take]
    return chosen.to_frame(index=False).astype(np.int64)


def _positions(by: pd.DataFrame, ordered: pd.DataFrame) -> np.ndarray:
    """Where each row of ``ordered`` sits in ``by``."""
    return by.index.get_indexer(ordered.index)


def _ap_widths(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Per bucket (descending score order): how far the bucket's unknown inner order can move
    AP, the difference between its positives ranked first and last."""
    total = pos.sum()
    if total == 0:
        return np.zeros_like(pos)
    high, low = _strict_credits(pos, neg)
    return (high - low) / total


def _strict_credits(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per bucket (descending score order), the summed precision of its positives when they
    are ranked before the bucket's negatives (the most AP can get) and after them (the least).

    The j-th positive (j = 1..m) sits at rank c + j with a positives and c examples ranked
    before it: sum_j (a + j) / (c + j) = m - (c - a) * sum_j 1 / (c + j)."""
    before_pos = np.cumsum(pos) - pos
    before_all = np.cumsum(pos + neg) - (pos + neg)

    def credit(offset: np.ndarray) -> np.ndarray:
        c = before_all + offset
        return np.where(pos > 0, pos - (c - before_pos) * _harmonic(c, pos), 0.0)

    return credit(np.zeros_like(neg)), credit(neg)


def _harmonic(c: np.ndarray, m: np.ndarray) -> np.ndarray:
    """sum_{j=1..m} 1 / (c + j) per bucket.

    The digamma difference loses about 1e-15 x ln(c) to cancellation, which (c - a) then
    multiplies, so it is used only where c is small and m large. Elsewhere: term by term
    (c < HARMONIC_NEAR), or Euler-Maclaurin, ln((c + m + 1/2) / (c + 1/2)) + (1/24)(1/(c + m
    + 1/2)^2 - 1/(c + 1/2)^2), whose next term is below 1e-12 of the sum for c >= 256."""
    out = np.zeros(len(c), dtype=np.float64)
    far = (m > 0) & (c >= HARMONIC_NEAR)
    a, b = c[far] + 0.5, c[far] + m[far] + 0.5
    out[far] = np.log1p(m[far] / a) + (1 / b**2 - 1 / a**2) / 24
    large = (m > HARMONIC_DIRECT) & ~far
    if large.any():
        from scipy.special import digamma  # scipy.special costs 0.4 s to import

        out[large] = digamma(c[large] + m[large] + 1) - digamma(c[large] + 1)
    small = np.flatnonzero((m > 0) & ~large & ~far)
    j = np.arange(1, HARMONIC_DIRECT + 1, dtype=np.float64)
    for start in range(0, len(small), HARMONIC_CHUNK):
        rows = small[start : start + HARMONIC_CHUNK]
        terms = np.where(j <= m[rows, None], 1.0 / (c[rows, None] + j), 0.0)
        out[rows] = terms.sum(axis=1)
    return out


def calibration_sql(x: str) -> str:
    """The ECE bin of ``x`` by the in-memory rule: bin i holds (edge i, edge i+1], edge i being
    i * (1/15) as ``np.linspace`` computes it. floor(15 x) is corrected by one comparison with
    each neighbouring edge, so rounding never moves a score across an edge."""
    step = f"{1 / ECE_BINS!r}E0"  # a DOUBLE literal in every dialect
    c = f"least(greatest(floor({x} * {ECE_BINS}), 0), {ECE_BINS - 1})"
    return (
        f"greatest(CAST({c} AS INTEGER) - CAST({x} <= {c} * {step} AS INTEGER) "
        f"+ CAST({x} > ({c} + 1) * {step} AS INTEGER), 0)"
    )


def binary_rows(
    engine: Engine,
    source: str,
    label: str,
    score: str,
    prediction: str | None,
    probability: bool,
    threshold: float = 0.5,
    extra: str = "",
) -> str:
    """A relation of the run's rows with the columns every binary query reads: label,
    prediction (or ``above``: score >= threshold, without a prediction column), s (the score),
    lp and lq (ln s and ln(1 - s), clipped), reportgen_w (the score's log-scale position),
    reportgen_k (its coarse bucket) and ``extra`` select items (slice, id)."""
    quote = engine.quote
    s = f"CAST({quote(score)} AS DOUBLE)"
    # keys keep the columns' own types (casting every row to a string costs more than the
    # whole aggregation); class names are made from the few distinct values afterwards
    pred = (
        f"{quote(prediction)} AS prediction"
        if prediction
        else f"CAST(s >= {threshold!r}E0 AS INTEGER) AS above"
    )
    if probability:
        clipped = f"least(greatest(s, {EPS!r}), {1 - EPS!r})"
        logs = f"ln({clipped}) AS lp, ln(1 - {clipped}) AS lq"
        # the position reuses the loss's logarithms; only scores below EPS need their own
        position = (
            f"CASE WHEN s <= 0 THEN -800.0 WHEN s >= 1 THEN 800.0 WHEN s < {EPS!r} THEN ln(s) "
            "WHEN s <= 0.5 THEN lp ELSE -lq END"
        )
    else:
        logs, position = "0.0 AS lp, 0.0 AS lq", position_sql("s", False)
    extra = f", {extra}" if extra else ""
    return f"""(SELECT *, {coarse_sql("reportgen_w")} AS reportgen_k
               FROM (SELECT *, {position} AS reportgen_w
                     FROM (SELECT {quote(label)} AS label, {pred}{extra}, s, {logs}
                           FROM (SELECT *, {s} AS s FROM {source}) AS r0) AS r1) AS r2) AS r"""


def binary_cells(
    engine: Engine,
    source: str,
    label: str,
    score: str,
    prediction: str | None,
    positive_label: str | None = None,
    slice_column: str | None = None,
    threshold: float = 0.5,
    slice_sql: str | None = None,
    probability: bool | None = None,
) -> pd.DataFrame:
    """Per (label, prediction, score bucket, calibration bin[, slice value]): the count and the
    sums every statistic needs. A first pass buckets at BUCKET_BITS; buckets holding a large
    share of positive-negative pairs (crowded or tied scores) are split finer by further passes
    over their rows only. ``slice_sql``: an expression grouping the slice column's values."""
    if probability is None:
        probability = score_is_probability(engine, source, score)
    if slice_column is not None and slice_sql is None:
        slice_sql = engine.quote(slice_column)
    extra = f"{slice_sql} AS slice" if slice_sql is not None else ""
    rows = binary_rows(engine, source, label, score, prediction, probability, threshold, extra)
    measures = """
        count(*) AS n, sum(s) AS score_sum, sum(s * s) AS score_sq,
        sum(-lp) AS loss_if_positive, sum(-lq) AS loss_if_negative,
        min(s) AS low, max(s) AS high"""
    edge_keys = _edge_buckets(engine) if probability else np.zeros(0, dtype=np.int64)
    keys = f"label, {'prediction' if prediction else 'above'}, "
    keys += f"reportgen_k AS coarse, {_edge_side_sql(edge_keys)} AS cal_above"
    if slice_sql is not None:
        keys += ", slice"
    coarse = engine.frame(
        f"SELECT {keys}, CAST(0 AS BIGINT) AS fine, {measures} FROM {rows} GROUP BY ALL"
    )
    if not prediction:
        coarse = coarse.assign(prediction=None)

    def positive(cells: pd.DataFrame) -> np.ndarray:
        labels = _label_names(cells["label"])
        classes = sort_classes(set(labels))
        if len(classes) != 2:
            return np.zeros(len(cells), dtype=bool)  # nothing to rank: no refinement
        return (labels == choose_positive(classes, positive_label)).to_numpy()

    cells = refine(engine, rows, coarse, keys, measures, positive)
    # the calibration bin: the edges in buckets below, and the one in the bucket if above it
    below = np.searchsorted(edge_keys, cells["coarse"].to_numpy(dtype=np.int64), side="left")
    return cells.assign(cal=below + cells["cal_above"].to_numpy(dtype=np.int64)).drop(
        columns="cal_above"
    )


def _edge_buckets(engine: Engine) -> np.ndarray:
    """The coarse bucket of each inner ECE edge, computed by the engine's own expressions
    (numpy's log and the engine's ln may differ in the last bit)."""
    engine.register("reportgen_edges", pd.DataFrame({"label": 0, "score": ECE_EDGES[1:-1]}))
    rows = binary_rows(engine, "reportgen_edges", "label", "score", None, True)
    found = engine.frame(f"SELECT s, reportgen_k FROM {rows}").sort_values("s")
    engine.unregister("reportgen_edges")
    return found["reportgen_k"].to_numpy(dtype=np.int64)


def _edge_side_sql(edge_keys: np.ndarray) -> str:
    """1 when a row shares its bucket with an ECE edge and lies above it, else 0: with the
    edges in buckets below, that is the row's calibration bin (bin i holds (edge i, edge
    i+1]). One bucket test per row, instead of placing every score among the edges."""
    if len(edge_keys) == 0:
        return "0"
    edges = ECE_EDGES[1:-1]
    inside = ", ".join(str(int(k)) for k in edge_keys)
    which = " ".join(
        f"WHEN reportgen_k = {int(k)} THEN CAST(s > {float(e)!r}E0 AS INTEGER)"
        for k, e in zip(edge_keys, edges, strict=True)
    )
    return f"CASE WHEN reportgen_k IN ({inside}) THEN (CASE {which} END) ELSE 0 END"


def slice_stats(
    cells: pd.DataFrame,
    positive_label: str | None = None,
    threshold: float = 0.5,
    classes: tuple[str, ...] | None = None,
) -> dict[str, BinnedStats]:
    """Each slice value's statistics (cells from ``binary_cells(..., slice_column=...)``), on
    ``classes`` (default: the classes in the cells); a missing value is named "(missing)"."""
    named = cells.assign(slice=cells["slice"].fillna("(missing)"))
    if classes is None:
        labels = set(_label_names(named["label"]))
        if named["prediction"].notna().all():
            labels |= set(_label_names(named["prediction"]))
        classes = sort_classes(labels)
    return {
        str(value): binary_stats(group, positive_label, threshold, classes)
        for value, group in named.groupby("slice", sort=True)
    }


def binary_stats(
    cells: pd.DataFrame,
    positive_label: str | None = None,
    threshold: float = 0.5,
    classes: tuple[str, ...] | None = None,
) -> BinnedStats:
    """The run's statistics from its aggregated cells (``classes``: the run's classes, when
    ``cells`` are one slice of it)."""
    if cells["label"].isna().any():
        raise ReportgenError("missing labels; every example needs a label")
    cells = cells.assign(label=_label_names(cells["label"]))
    has_prediction = cells["prediction"].notna().all()
    if has_prediction:
        cells = cells.assign(prediction=_label_names(cells["prediction"]))
    seen = set(cells["label"]) | (set(cells["prediction"]) if has_prediction else set())
    classes = classes or sort_classes(seen)
    if len(classes) > 2:
        raise ReportgenError(f"{len(classes)} classes: the binned binary engine needs two")
    positive_name = choose_positive(classes, positive_label)
    positive = classes.index(positive_name)
    index = {c: i for i, c in enumerate(classes)}
    is_pos = (cells["label"] == positive_name).to_numpy()
    n = cells["n"].to_numpy(dtype=np.int64)
    y = cells["label"].map(index).to_numpy(dtype=np.int64)
    if has_prediction:
        p = cells["prediction"].map(index).to_numpy(dtype=np.int64)
    else:  # no prediction column: score >= threshold (the ``above`` key)
        negative = 1 - positive if len(classes) == 2 else positive
        above = cells["above"] if "above" in cells else cells["low"] >= threshold
        p = np.where(above.to_numpy(dtype=bool), positive, negative)
    k = len(classes)
    confusion = ConfusionCounts(
        np.bincount(y * k + p, weights=n, minlength=k * k).reshape(k, k).astype(np.int64)
    )

    rank, auc_bound, n_buckets, mixed = _rank_of(cells, is_pos)
    ap, ap_bound, ap_range = _average_precision(rank, mixed)

    low, high = float(cells["low"].min()), float(cells["high"].max())
    calibration = probability = None
    if low >= 0 and high <= 1:
        cal = cells["cal"].to_numpy(dtype=np.int64)
        calibration = CalibrationCounts(
            edges=ECE_EDGES,
            count=np.bincount(cal, weights=n, minlength=ECE_BINS).astype(np.int64),
            confidence_sum=np.bincount(cal, weights=cells["score_sum"], minlength=ECE_BINS),
            outcome_sum=np.bincount(cal, weights=n * is_pos, minlength=ECE_BINS),
        )
        loss = np.where(is_pos, cells["loss_if_positive"], cells["loss_if_negative"]).sum()
        # sum (s - y)^2 = sum s^2 - 2 y sum s + y n
        brier = (cells["score_sq"] - 2 * is_pos * cells["score_sum"] + is_pos * n).sum()
        probability = ProbabilitySums(int(n.sum()), float(loss), float(brier))
    return BinnedStats(
        classes=classes,
        positive=positive,
        confusion=confusion,
        rank=rank,
        calibration=calibration,
        probability=probability,
        auc_bound=auc_bound,
        ap_range=ap_range,
        average_precision=ap,
        ap_bound=ap_bound,
        n_buckets=n_buckets,
        score_range=(low, high),
    )


def _rank_of(cells: pd.DataFrame, is_pos: np.ndarray) -> tuple[RankCounts, float, int, np.ndarray]:
    """Positives and negatives per bucket in descending score order (each bucket's mean score
    as its score), the AUC bound, the number of buckets, and which buckets hold different
    scores (in the rank's order)."""
    n = cells["n"].to_numpy(dtype=np.int64)
    coarse_rank = np.unique(cells["coarse"].to_numpy(dtype=np.int64), return_inverse=True)[1]
    bucket = coarse_rank.astype(np.int64) * (1 << FINE_BITS) + cells["fine"].to_numpy(np.int64)
    order_buckets, inverse = np.unique(bucket, return_inverse=True)
    size = len(order_buckets)
    pos = np.bincount(inverse, weights=n * is_pos, minlength=size)
    neg = np.bincount(inverse, weights=n * ~is_pos, minlength=size)
    mean = np.bincount(inverse, weights=cells["score_sum"].to_numpy(), minlength=size)
    mean = mean / (pos + neg)
    rank = RankCounts(mean[::-1], pos[::-1].astype(np.int64), neg[::-1].astype(np.int64))
    n_pos, n_neg = pos.sum(), neg.sum()
    # a bucket whose scores are all equal is an exact tie, counted half as scikit-learn does:
    # only buckets holding different scores can move the AUC
    spread = pd.DataFrame({"b": inverse, "low": cells["low"], "high": cells["high"]}).groupby("b")
    mixed = (spread["high"].max() > spread["low"].min()).to_numpy()
    pairs = (pos * neg * mixed).sum()
    bound = float(0.5 * pairs / (n_pos * n_neg)) if n_pos and n_neg else 0.0
    return rank, bound, size, mixed[::-1]


def _average_precision(
    rank: RankCounts, mixed: np.ndarray
) -> tuple[float, float, tuple[float, float]]:
    """AP with exact ties credited as scikit-learn does (every tied positive at the precision
    after the whole tie) and each bucket of different scores at the middle of what its unknown
    inner order allows; the bound on its distance to the exact AP; and the lowest and highest
    AP any order within buckets gives. (A tie's credit can exceed any strict order's, so
    binned-as-tied AP is not itself within that range.)"""
    pos, neg = rank.positives.astype(np.float64), rank.negatives.astype(np.float64)
    total = pos.sum()
    if total == 0:
        return float("nan"), 0.0, (float("nan"), float("nan"))
    before_pos = np.cumsum(pos) - pos
    before_all = np.cumsum(pos + neg) - (pos + neg)
    tie = pos * (before_pos + pos) / np.maximum(before_all + pos + neg, 1)
    high, low = _strict_credits(pos, neg)
    terms = np.where(mixed, (high + low) / 2, tie)
    bound = float(np.where(mixed, (high - low) / 2, 0.0).sum() / total)
    span = (float(low.sum() / total), float(high.sum() / total))
    return float(terms.sum() / total), bound, span
