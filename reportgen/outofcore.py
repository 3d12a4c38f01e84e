"""Sufficient statistics of runs larger than memory, computed where the data lie (DuckDB).

One aggregation pass per run, ``GROUP BY (label, prediction, score bucket, calibration bin)``,
returns a few thousand to a few million rows of counts and sums; the same
:class:`~reportgen.evaluate.RunStats` the in-memory path builds follow from them, so every
metric function is shared.

Score buckets follow the float's bit pattern: ``BUCKET_BITS`` mantissa bits per power of two,
so a bucket's width is a fixed fraction (2⁻¹⁶) of its scores wherever they crowd (click-through
rates near 0.003 as well as probabilities near 0.5). Scores in one bucket count as tied, as
scikit-learn counts tied scores; the exact AUC lies within ``auc_bound`` of the binned one:
half the share of positive-negative pairs that share a bucket. Confusion counts, log loss,
Brier score and calibration bins are exact.

This is the engine layer only: it is not yet wired into ``reportgen build``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import digamma

from reportgen.errors import ReportgenError
from reportgen.ingest import class_name
from reportgen.stats import (
    ECE_BINS,
    CalibrationCounts,
    ConfusionCounts,
    ProbabilitySums,
    RankCounts,
)
from reportgen.tasks import choose_positive, sort_classes

BUCKET_BITS = 16
FINE_BITS = 32  # a refined bucket is split by 32 more mantissa bits (48 of the double's 52)
MIRROR = 1 << 40  # probability buckets above 0.5 count down from here
BOUND_TARGET = 1e-7  # refine crowded buckets until the AUC bound is below this
MAX_REFINED = 200_000  # buckets refined in the second pass, at most
EPS = float(np.finfo(np.float64).eps)
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
    n_buckets: int
    score_range: tuple[float, float]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def bucket_sql(x: str, bits: int = BUCKET_BITS) -> str:
    """A bucket id that orders like ``x``: sign, exponent and the top ``bits`` mantissa bits
    of the float (0 for exact zeros)."""
    scale = 1 << bits
    magnitude = f"abs({x})"
    exponent = f"floor(log2({magnitude}))"
    mantissa = f"floor(({magnitude} / pow(2, {exponent}) - 1) * {scale})"
    return (
        f"CASE WHEN {x} = 0 THEN 0 ELSE sign({x}) * "
        f"(({exponent} + 1100) * {scale} + {mantissa} + 1) END"
    )


def coarse_sql(x: str, probability: bool) -> str:
    """The bucket of ``x`` at BUCKET_BITS, as a BIGINT ordering like ``x``. Probabilities are
    bucketed by their distance to the nearer end (1 - s is exact for s >= 0.5), so scores
    crowding near 1 are resolved as finely as scores crowding near 0."""
    if not probability:
        return f"CAST({bucket_sql(x)} AS BIGINT)"
    return (
        f"CASE WHEN {x} <= 0.5 THEN CAST({bucket_sql(x)} AS BIGINT) "
        f"ELSE {MIRROR} - CAST({bucket_sql(f'(1 - {x})')} AS BIGINT) END"
    )


def fine_sql(x: str, probability: bool) -> str:
    """The next FINE_BITS mantissa bits of ``x`` inside its coarse bucket, ordering like
    ``x`` (exact in double arithmetic: only powers of two scale the mantissa)."""

    def bits(v: str) -> str:
        m = f"(abs({v}) / pow(2, floor(log2(abs({v})))) - 1)"
        top = 1 << (BUCKET_BITS + FINE_BITS)
        return (
            f"CASE WHEN {v} = 0 THEN 0 ELSE CAST(floor({m} * {top}) - "
            f"floor({m} * {1 << BUCKET_BITS}) * {1 << FINE_BITS} AS BIGINT) END"
        )

    if not probability:
        return f"CASE WHEN {x} < 0 THEN {(1 << FINE_BITS) - 1} - ({bits(x)}) ELSE {bits(x)} END"
    return (
        f"CASE WHEN {x} <= 0.5 THEN {bits(x)} "
        f"ELSE {(1 << FINE_BITS) - 1} - ({bits(f'(1 - {x})')}) END"
    )


def calibration_sql(x: str) -> str:
    """The ECE bin of ``x`` by the in-memory rule: bin i holds (edge i, edge i+1]."""
    inner = ECE_EDGES[1:-1]
    return " + ".join(f"CAST({x} > {float(edge)!r} AS INTEGER)" for edge in inner)


def source_sql(paths: Sequence[str | Path]) -> str:
    """A DuckDB table function reading the files in place (globs and folders of Parquet)."""
    files = [str(p) for p in paths]
    expanded = []
    for item in files:
        path = Path(item)
        expanded.append(str(path / "**" / "*.parquet") if path.is_dir() else item)
    lower = [f.lower() for f in expanded]
    listed = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in expanded) + "]"
    if all(f.endswith((".parquet", ".pq")) for f in lower):
        return f"read_parquet({listed})"
    if all(f.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")) for f in lower):
        return f"read_csv({listed}, header = true)"
    if all(f.endswith((".jsonl", ".jsonl.gz", ".ndjson")) for f in lower):
        return f"read_json({listed}, format = 'newline_delimited')"
    raise ReportgenError(
        f"{files[0]}: the DuckDB engine reads Parquet, CSV/TSV or JSON Lines; convert the file"
    )


def connect(memory_limit: str | None = None, temp_directory: str | None = None) -> object:
    try:
        import duckdb
    except ImportError:
        raise ReportgenError(
            "the DuckDB engine needs the duckdb package: pip install duckdb"
        ) from None
    con = duckdb.connect()
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if temp_directory:  # memory_limit alone does not cap the process: spill here instead
        con.execute(f"SET temp_directory = '{temp_directory}'")
    con.execute("SET preserve_insertion_order = false")
    return con


def binary_cells(
    con: object,
    source: str,
    label: str,
    score: str,
    prediction: str | None,
    positive_label: str | None = None,
) -> pd.DataFrame:
    """Per (label, prediction, score bucket, calibration bin): the count and the sums every
    statistic needs. A first pass buckets at BUCKET_BITS; buckets holding a large share of
    positive-negative pairs (crowded or tied scores) are split by a second pass over their
    rows only, FINE_BITS finer."""
    s = f"CAST({quote(score)} AS DOUBLE)"
    extremes = con.sql(f"SELECT min({s}), max({s}) FROM {source}").fetchall()[0]  # type: ignore[attr-defined]
    probability = extremes[0] is not None and extremes[0] >= 0 and extremes[1] <= 1
    clipped = f"least(greatest({s}, {EPS!r}), {1 - EPS!r})"
    pred = f"CAST({quote(prediction)} AS VARCHAR)" if prediction else "NULL"
    measures = f"""
        count(*) AS n, sum({s}) AS score_sum, sum({s} * {s}) AS score_sq,
        sum(-ln({clipped})) AS loss_if_positive, sum(-ln(1 - {clipped})) AS loss_if_negative,
        min({s}) AS low, max({s}) AS high"""
    keys = f"""CAST({quote(label)} AS VARCHAR) AS label, {pred} AS prediction,
        {coarse_sql(s, probability)} AS coarse, {calibration_sql(s)} AS cal"""
    coarse = con.sql(  # type: ignore[attr-defined]
        f"SELECT {keys}, CAST(0 AS BIGINT) AS fine, {measures} FROM {source} GROUP BY ALL"
    ).df()
    heavy = _crowded_buckets(coarse, positive_label)
    if len(heavy) == 0:
        return coarse
    con.register("reportgen_heavy", pd.DataFrame({"coarse": heavy}))  # type: ignore[attr-defined]
    fine = con.sql(  # type: ignore[attr-defined]
        f"""SELECT {keys}, {fine_sql(s, probability)} AS fine, {measures} FROM {source}
            WHERE {coarse_sql(s, probability)} IN (SELECT coarse FROM reportgen_heavy)
            GROUP BY ALL"""
    ).df()
    con.unregister("reportgen_heavy")  # type: ignore[attr-defined]
    kept = coarse[~coarse["coarse"].isin(heavy)]
    return pd.concat([kept, fine], ignore_index=True)


def _crowded_buckets(cells: pd.DataFrame, positive_label: str | None) -> np.ndarray:
    """The fewest coarse buckets whose refinement brings the AUC bound (half the share of
    positive-negative pairs sharing a bucket) below BOUND_TARGET, largest shares first."""
    labels = _label_names(cells["label"])
    classes = sort_classes(set(labels))
    if len(classes) != 2:
        return np.zeros(0, dtype=np.int64)
    positive = choose_positive(classes, positive_label)
    is_pos = (labels == positive).to_numpy()
    n = cells["n"].to_numpy(dtype=np.float64)
    return _largest_shares(cells["coarse"], n * is_pos, n * ~is_pos)


def _largest_shares(coarse: pd.Series, pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    frame = pd.DataFrame({"coarse": coarse, "pos": pos, "neg": neg})
    by = frame.groupby("coarse", sort=False)[["pos", "neg"]].sum()
    total = by["pos"].sum() * by["neg"].sum()
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    share = ((by["pos"] * by["neg"]) / total).sort_values(ascending=False, kind="stable")
    remaining = 0.5 * (share.sum() - share.cumsum())  # the bound left after refining the first k
    needed = int(np.searchsorted(-remaining.to_numpy(), -BOUND_TARGET)) + 1
    chosen = share.iloc[: min(needed, MAX_REFINED)]
    return chosen[chosen > 0].index.to_numpy(dtype=np.int64)


def _label_names(values: pd.Series) -> pd.Series:
    """Class names as the in-memory path writes them (1.0 -> "1")."""

    def name(value: object) -> str:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value)
        return class_name(number) if str(value).strip() not in ("True", "False") else str(value)

    mapping = {v: name(v) for v in values.unique()}
    return values.map(mapping)


def binary_stats(
    cells: pd.DataFrame, positive_label: str | None = None, threshold: float = 0.5
) -> BinnedStats:
    """The run's statistics from its aggregated cells."""
    if cells["label"].isna().any():
        raise ReportgenError("missing labels; every example needs a label")
    cells = cells.assign(label=_label_names(cells["label"]))
    has_prediction = cells["prediction"].notna().all()
    if has_prediction:
        cells = cells.assign(prediction=_label_names(cells["prediction"]))
    seen = set(cells["label"]) | (set(cells["prediction"]) if has_prediction else set())
    classes = sort_classes(seen)
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
    else:  # no prediction column: score >= threshold, cells split at the threshold exactly
        negative = 1 - positive if len(classes) == 2 else positive
        p = np.where(cells["low"].to_numpy() >= threshold, positive, negative)
    k = len(classes)
    confusion = ConfusionCounts(
        np.bincount(y * k + p, weights=n, minlength=k * k).reshape(k, k).astype(np.int64)
    )

    rank, auc_bound, n_buckets = _rank_of(cells, is_pos)

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
        ap_range=_ap_range(rank),
        n_buckets=n_buckets,
        score_range=(low, high),
    )


def _rank_of(cells: pd.DataFrame, is_pos: np.ndarray) -> tuple[RankCounts, float, int]:
    """Positives and negatives per bucket in descending score order (each bucket's mean score
    as its score), the AUC bound, and the number of buckets."""
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
    return rank, bound, size


def _ap_range(rank: RankCounts) -> tuple[float, float]:
    """AP with each bucket's positives ranked first (the highest AP any order within buckets
    can give) and last (the lowest)."""
    pos, neg = rank.positives.astype(np.float64), rank.negatives.astype(np.float64)
    total = pos.sum()
    if total == 0:
        return (float("nan"), float("nan"))
    before_pos = np.cumsum(pos) - pos
    before_all = np.cumsum(pos + neg) - (pos + neg)

    def ap(offset: np.ndarray) -> float:
        # the j-th positive of a bucket (j = 1..m) sits at rank c + j with a = positives and
        # c = examples ranked before it: sum_j (a + j) / (c + j) = m - (c - a) * sum_j 1/(c + j),
        # and sum_j 1/(c + j) = digamma(c + m + 1) - digamma(c + 1)
        a, c, m = before_pos, before_all + offset, pos
        harmonic = digamma(c + m + 1) - digamma(c + 1)
        return float(np.where(m > 0, m - (c - a) * harmonic, 0.0).sum() / total)

    return ap(neg), ap(np.zeros_like(neg))


@dataclass(frozen=True)
class OneVsRest:
    """One class's ranking statistics against the rest, from its own score column."""

    rank: RankCounts
    auc_bound: float


def ovr_ranks(
    con: object, source: str, label: str, class_columns: dict[str, str]
) -> dict[str, OneVsRest]:
    """For each class, positives (label = class) and negatives per bucket of its score column,
    crowded buckets refined as for a binary run: the one-vs-rest histograms of a multiclass
    run."""
    found = {}
    for name, column in class_columns.items():
        s = f"CAST({quote(column)} AS DOUBLE)"
        is_class = f"(CAST({quote(label)} AS VARCHAR) = '{name.replace(chr(39), chr(39) * 2)}')"
        measures = "count(*) AS n, sum(" + s + ") AS score_sum, min(" + s + ") AS low, "
        measures += "max(" + s + ") AS high"
        keys = f"{is_class} AS positive, {coarse_sql(s, True)} AS coarse"
        coarse = con.sql(  # type: ignore[attr-defined]
            f"SELECT {keys}, CAST(0 AS BIGINT) AS fine, {measures} FROM {source} GROUP BY ALL"
        ).df()
        heavy = _heavy(coarse)
        cells = coarse
        if len(heavy):
            con.register("reportgen_heavy", pd.DataFrame({"coarse": heavy}))  # type: ignore[attr-defined]
            fine = con.sql(  # type: ignore[attr-defined]
                f"""SELECT {keys}, {fine_sql(s, True)} AS fine, {measures} FROM {source}
                    WHERE {coarse_sql(s, True)} IN (SELECT coarse FROM reportgen_heavy)
                    GROUP BY ALL"""
            ).df()
            con.unregister("reportgen_heavy")  # type: ignore[attr-defined]
            cells = pd.concat([coarse[~coarse["coarse"].isin(heavy)], fine], ignore_index=True)
        rank, bound, _ = _rank_of(cells, cells["positive"].to_numpy(dtype=bool))
        found[name] = OneVsRest(rank, bound)
    return found


def _heavy(cells: pd.DataFrame) -> np.ndarray:
    is_pos = cells["positive"].to_numpy(dtype=bool)
    n = cells["n"].to_numpy(dtype=np.float64)
    return _largest_shares(cells["coarse"], n * is_pos, n * ~is_pos)
