"""Candidates joined to the baseline on id inside the engine: McNemar's table and the paired
cell bootstrap from the joint cells (a deterministic id-hash sample beyond ``JOINT_ROWS``
pairs), and every run's intervals and comparisons."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from reportgen.engines.binary import binary_rows, calibration_sql
from reportgen.engines.multiclass import multiclass_rows
from reportgen.engines.slicing import _mistake_range
from reportgen.engines.sql import Engine, _label_names
from reportgen.engines.tables import (
    TableStats,
    _binary_cells_frame,
    _cell_position,
    _multiclass_cells_frame,
    _quantile_edges,
    run_cells,
)
from reportgen.errors import ReportgenError
from reportgen.ingest.runs import (
    class_name,
)
from reportgen.kinds.classification.assess import Assessment, declared_test
from reportgen.kinds.classification.evaluate import (
    HEADLINE,
    RunEvaluation,
    metric_values,
)
from reportgen.kinds.classification.resample import (
    CELL_BUDGET,
    MAX_BINS,
    Cells,
    replicate_metrics,
)
from reportgen.stats import significance as compare
from reportgen.stats.comparison import Comparison
from reportgen.stats.pairing import Pairing

JOINT_ROWS = 2_000_000  # pairs joined at most for the paired tests (a hash sample beyond)

JOINT_STEPS = 16  # joint cells group scores in steps of 1/16 of ln(score) before merging


def _sampled(engine: Engine, found: TableStats, sample: int) -> str:
    """The run's rows, or the 1/``sample`` of them its id hash keeps (filtered as they are
    read, before any per-row expression)."""
    run = found.run
    if sample <= 1:
        return run.source
    keep = engine.sample_sql(run.id_expression(engine), sample)
    return f"(SELECT * FROM {found.staged or run.source} WHERE {keep}) AS sampled"


def _check_unique_ids(engine: Engine, found: TableStats, sample: int) -> None:
    """Ids must be unique to pair runs, as in memory. Beyond JOINT_ROWS only the id sample
    is checked (both copies of an id share its hash: they are sampled together)."""
    repeated = engine.frame(
        f"SELECT id FROM (SELECT {found.run.id_expression(engine)} AS id "
        f"FROM {_sampled(engine, found, sample)}) AS ids "
        "GROUP BY id HAVING count(*) > 1 LIMIT 1"
    )
    if not repeated.empty:
        raise ReportgenError(
            f"{found.run.path}: duplicate id {class_name(repeated['id'].iloc[0])} in column "
            f"{found.run.id!r}; ids must be unique to pair runs (or pass --unpaired)"
        )


def _no_shared_ids(base: str, candidate: str) -> ReportgenError:
    """As the memory engine says it (ids of one type and the other are compared as text)."""
    return ReportgenError(
        f"runs {base!r} and {candidate!r} share no example ids; compare runs on the same "
        "examples, or pass --unpaired"
    )


def joint_sample(stats: Sequence[TableStats]) -> int:
    """One in how many ids the paired tests join: all up to JOINT_ROWS pairs; one modulus
    for the report, so every pair's sample is the same set of ids."""
    return max(1, math.ceil(max(s.n for s in stats) / JOINT_ROWS))


def stage_rows(
    engine: Engine,
    stats: Sequence[TableStats],
    evaluations: Sequence[RunEvaluation],
    k: int,
) -> None:
    """For runs beyond JOINT_ROWS, keep in one small table, from one scan, the rows the
    paired tests (the id sample) and the top-k mistakes (a score range) will read, instead
    of scanning each file once for each."""
    sample = joint_sample(stats)
    if sample <= 1:
        return
    for index, (found, evaluation) in enumerate(zip(stats, evaluations, strict=True)):
        run = found.run
        if run.id is None or found.task != "binary" or found.score is None:
            continue
        keep = engine.sample_sql(run.id_expression(engine), sample)
        wanted = _mistake_range(engine, found, evaluation.encoded, k)
        if wanted is None:
            continue  # every row may be a mistake worth listing: nothing to gain
        found.staged = engine.materialize(
            f"reportgen_staged_{index}",
            f"SELECT * FROM {run.source} WHERE {keep} OR ({wanted})",
        )


def joint_multiclass_cells(
    engine: Engine,
    stats: Sequence[TableStats],
    evaluations: Sequence[RunEvaluation],
    sample: int = 1,
) -> tuple[Cells, int, int, bool]:
    """As :func:`joint_cells`, for two multiclass runs with class probabilities."""
    sides = []
    for m, found in enumerate(stats):
        run = found.run
        assert run.id is not None
        rows = multiclass_rows(
            engine,
            _sampled(engine, found, sample),
            run.label,
            run.class_scores,
            run.prediction,
            f"{run.id_expression(engine)} AS id",
        )
        sides.append(rows.removesuffix(" AS r") + f" AS t{m}")
    pick = ", ".join(
        f"t{m}.prediction AS p{m}, t{m}.cal AS c{m}, t{m}.top = t{m}.label AS r{m}, "
        f"sum(t{m}.confidence) AS s{m}, sum(t{m}.loss) AS l{m}, sum(t{m}.top2) AS t{m}"
        for m in range(2)
    )
    frame = engine.frame(
        f"""SELECT t0.label AS label, t1.label AS other_label, count(*) AS n, {pick},
                   t0.id IS NULL AS only_candidate, t1.id IS NULL AS only_baseline
            FROM {sides[0]} FULL OUTER JOIN {sides[1]} ON t0.id = t1.id GROUP BY ALL"""
    )
    unmatched = (frame["only_candidate"] | frame["only_baseline"]).to_numpy(dtype=bool)
    frame = frame[~unmatched].drop(columns=["only_candidate", "only_baseline"])
    if frame.empty:
        raise _no_shared_ids(evaluations[0].name, evaluations[1].name)
    names = _label_names(frame["label"])
    disagree = int(frame["n"][names != _label_names(frame["other_label"])].sum())
    index = {c: i for i, c in enumerate(evaluations[0].classes)}
    frame = frame.drop(columns="other_label").assign(label=names)
    for m in range(2):
        frame[f"p{m}"] = _label_names(frame[f"p{m}"]).map(index)
        frame[f"r{m}"] = frame[f"r{m}"].astype(bool)
    cells = _multiclass_cells_frame([e.encoded for e in evaluations], frame)
    return cells, int(frame["n"].sum()), disagree, not unmatched.any()


def joint_cells(
    engine: Engine,
    stats: Sequence[TableStats],
    evaluations: Sequence[RunEvaluation],
    threshold: float | None,
    sample: int = 1,
) -> tuple[Cells, int, int, bool]:
    """Two binary runs joined on their id inside the engine, grouped into cells of (label,
    each model's prediction, score bin and calibration bin) with the sums the metrics need:
    the paired bootstrap and McNemar's table from one join, over the ids that
    ``engine.sample_sql(id, sample)`` keeps (every id when ``sample`` is 1). Returns the cells,
    the number of joined examples, how many of them disagree on the label, and whether every
    id (of the sample) was in both runs."""
    sides = []
    for m, (found, evaluation) in enumerate(zip(stats, evaluations, strict=True)):
        run = found.run
        assert run.id is not None
        column = found.score
        assert column is not None
        rows = binary_rows(
            engine,
            _sampled(engine, found, sample),
            run.label,
            column,
            run.prediction if threshold is None else None,
            found.probability,
            0.5 if threshold is None else threshold,
            f"{run.id_expression(engine)} AS id",
        )
        bins = int(np.clip(math.sqrt(CELL_BUDGET / 8), 1, MAX_BINS))
        edges = _quantile_edges(_cell_position(found.cells), found.cells["n"].to_numpy(), bins)
        sides.append((rows.removesuffix(" AS r") + f" AS t{m}", edges, evaluation))
    pick = []
    for m in range(len(sides)):
        t = f"t{m}"
        pred = f"{t}.prediction" if stats[m].run.prediction and threshold is None else f"{t}.above"
        cal = calibration_sql(f"{t}.s") if stats[m].probability else "0"
        pick.append(
            f"{pred} AS p{m}, CAST(floor({t}.reportgen_w * {JOINT_STEPS}) AS BIGINT) AS b{m}, "
            f"{cal} AS c{m}, "
            f"sum({t}.s) AS s{m}, sum({t}.s * {t}.s) AS q{m}, sum(-{t}.lp) AS lp{m}, "
            f"sum(-{t}.lq) AS lq{m}"
        )
    select = f"SELECT t0.label AS label, t1.label AS other_label, count(*) AS n, {', '.join(pick)}"
    # a full join: the ids only one run has tell whether every example is paired
    frame = engine.frame(
        f"""{select}, t0.id IS NULL AS only_candidate, t1.id IS NULL AS only_baseline
            FROM {sides[0][0]} FULL OUTER JOIN {sides[1][0]} ON t0.id = t1.id GROUP BY ALL"""
    )
    unmatched = (frame["only_candidate"] | frame["only_baseline"]).to_numpy(dtype=bool)
    every_id_paired = not unmatched.any()
    frame = frame[~unmatched].drop(columns=["only_candidate", "only_baseline"])
    if frame.empty:
        raise _no_shared_ids(evaluations[0].name, evaluations[1].name)
    encoded = [e.encoded for e in evaluations]
    for m, (_, edges, _) in enumerate(sides):
        # fine log-scale steps, merged into each model's quantile bins here (a comparison
        # tree per row would cost more than the join)
        frame[f"b{m}"] = np.searchsorted(edges, frame[f"b{m}"] / JOINT_STEPS, side="right")
    names = _label_names(frame["label"])
    disagree = int(frame["n"][names != _label_names(frame["other_label"])].sum())
    classes = encoded[0].classes
    index = {c: i for i, c in enumerate(classes)}
    for m in range(2):
        if stats[m].run.prediction and threshold is None:
            frame[f"p{m}"] = _label_names(frame[f"p{m}"]).map(index)
        else:
            positive = encoded[m].positive
            frame[f"p{m}"] = np.where(frame[f"p{m}"].to_numpy(dtype=bool), positive, 1 - positive)
    frame = frame.drop(columns="other_label").assign(
        label=names, is_pos=(names == classes[encoded[0].positive]).to_numpy()
    )
    probability = stats[0].probability and stats[1].probability
    cells = _binary_cells_frame(encoded, frame, probability)
    return cells, int(frame["n"].sum()), disagree, every_id_paired


def assess_tables(
    engine: Engine,
    stats: Sequence[TableStats],
    evaluations: Sequence[RunEvaluation],
    baseline: str | None,
    unpaired: bool,
    replicates: int,
    seed: int,
    threshold: float | None,
    parallel_map: Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]] | None = None,
) -> Assessment:
    """Intervals for every run from its cells; each candidate against the baseline from the
    joint cells of an id join (McNemar for accuracy, the paired cell bootstrap otherwise)."""
    names = [e.name for e in evaluations]
    baseline = baseline or names[0]
    base_index = names.index(baseline)
    mapper = parallel_map or (lambda f, items: [f(i) for i in items])

    def interval(index: int) -> dict[str, list[float] | None]:
        found, evaluation = stats[index], evaluations[index]
        found_cells = run_cells(found, evaluation) if replicates else None
        return _intervals(evaluation, found_cells, replicates, seed + index)

    pairings: dict[str, Pairing] = {}
    comparisons: list[Comparison] = []
    base = evaluations[base_index]
    # seeds come from the run's position, so the result does not depend on the threads
    found_intervals = mapper(interval, list(range(len(evaluations))))
    sample = joint_sample(stats)
    for index, evaluation in enumerate(evaluations):
        if index != base_index:
            comparisons += _versus(
                engine,
                (stats[base_index], stats[index]),
                (base, evaluation),
                pairings,
                unpaired,
                replicates,
                seed + 1000 + index,
                threshold,
                sample,
            )
    intervals = {e.name: i for e, i in zip(evaluations, found_intervals, strict=True)}
    return Assessment(baseline, replicates, seed, intervals, pairings, comparisons)


def _versus(
    engine: Engine,
    pair: tuple[TableStats, TableStats],
    runs: tuple[RunEvaluation, RunEvaluation],
    pairings: dict[str, Pairing],
    unpaired: bool,
    replicates: int,
    seed: int,
    threshold: float | None,
    sample: int,
) -> list[Comparison]:
    """One candidate against the baseline (on the 1/``sample`` of ids the engine keeps);
    records how they were paired in ``pairings``."""
    base, evaluation = runs
    binary = all(s.task == "binary" and "coarse" in s.cells for s in pair)
    multiclass = all(s.multiclass is not None for s in pair)
    can_pair = not unpaired and all(s.run.id for s in pair) and (binary or multiclass)
    if not can_pair:
        why = (
            "--unpaired"
            if unpaired
            else "no id column in both runs"
            if not all(s.run.id for s in pair)
            else "paired tests out of core need scores or class probabilities"
        )
        pairings[evaluation.name] = Pairing("unpaired", None, None, f"unpaired: {why}")
        return _unpaired(base, evaluation)
    for found in pair:
        _check_unique_ids(engine, found, sample)
    if binary:
        cells, joined, disagree, every_id_paired = joint_cells(
            engine, pair, [base, evaluation], threshold, sample
        )
    else:
        cells, joined, disagree, every_id_paired = joint_multiclass_cells(
            engine, pair, [base, evaluation], sample
        )
    if joined == 0:
        raise _no_shared_ids(base.name, evaluation.name)
    if disagree:
        raise ReportgenError(
            f"{base.name} and {evaluation.name} disagree on the label of {disagree:,} "
            "paired examples; they were not scored on the same data (--unpaired to compare "
            "them anyway)"
        )
    # both runs of one size with every sampled id in both: every example is paired
    whole = every_id_paired and pair[0].n == pair[1].n
    n_paired = pair[0].n if whole else joined * sample
    note = f"{n_paired:,} examples joined on id in the engine"
    if sample > 1:
        note += (
            f"; McNemar's test and the paired bootstrap use the deterministic 1/{sample} "
            f"sample of ids ({joined:,} pairs), interval widths scaled to all pairs"
        )
        if not whole:
            note += " (their number estimated from the sample)"
    pairings[evaluation.name] = Pairing("id", None, None, note, n_paired)
    return _paired(base, evaluation, cells, n_paired, replicates, seed, joined)


def _intervals(
    evaluation: RunEvaluation, cells: Cells | None, replicates: int, seed: int
) -> dict[str, list[float] | None]:
    if cells is None or not replicates:
        return {m: None for m in evaluation.metrics}
    names = list(evaluation.metrics)
    values = replicate_metrics(cells, replicates, seed, names)[0]
    from reportgen.kinds.classification.resample import cell_stats

    on_cells, _ = metric_values(cell_stats(cells, 0, cells.counts))
    found: dict[str, list[float] | None] = {}
    for name, value in evaluation.metrics.items():
        centre = on_cells.get(name)
        interval = None
        if value is not None and centre is not None:
            interval = compare.percentile_interval(values[name], value, centre)
        found[name] = list(interval) if interval else None
    return found


def _unpaired(base: RunEvaluation, candidate: RunEvaluation) -> list[Comparison]:
    found = []
    for name in HEADLINE[base.task]:
        b, c = base.metrics.get(name), candidate.metrics.get(name)
        delta = None if b is None or c is None else c - b
        found.append(
            Comparison(base.name, candidate.name, name, b, c, delta, None, None, "none", 0)
        )
    return found


def _paired(
    base: RunEvaluation,
    candidate: RunEvaluation,
    cells: Cells,
    n_paired: int,
    replicates: int,
    seed: int,
    joined: int,
) -> list[Comparison]:
    """Deltas of every headline metric, McNemar's exact test for accuracy (on the joined
    pairs) and the paired cell bootstrap for the rest. When the cells hold a sample of the
    pairs, the replicates' spread is scaled by sqrt(sample / all pairs)."""
    from reportgen.kinds.classification.resample import cell_stats

    names = list(HEADLINE[base.task])
    scale_spread = math.sqrt(joined / n_paired) if n_paired else 1.0
    whole = n_paired == base.confusion.n == candidate.confusion.n
    if whole:
        base_values, cand_values = base.metrics, candidate.metrics
    else:
        base_values, _ = metric_values(cell_stats(cells, 0, cells.counts))
        cand_values, _ = metric_values(cell_stats(cells, 1, cells.counts))
    reps = replicate_metrics(cells, replicates, seed, names) if replicates else None
    cells_base, _ = metric_values(cell_stats(cells, 0, cells.counts))
    cells_cand, _ = metric_values(cell_stats(cells, 1, cells.counts))
    right = [cells.models[m].prediction == cells.label for m in range(2)]
    counts = cells.counts
    only_base = int(counts[right[0] & ~right[1]].sum())
    only_cand = int(counts[~right[0] & right[1]].sum())
    found = []
    for name in names:
        b, c = base_values.get(name), cand_values.get(name)
        delta = None if b is None or c is None else c - b
        result = Comparison(
            base.name, candidate.name, name, b, c, delta, None, None, "none", n_paired
        )
        found.append(result)
        if delta is None:
            continue
        if declared_test(name) == "mcnemar-exact":
            result.p_value = compare.mcnemar_from_counts(only_base, only_cand)
            result.test = "mcnemar-exact"
            result.discordance = (only_base + only_cand) / max(int(counts.sum()), 1)
        if reps is None or cells_base.get(name) is None or cells_cand.get(name) is None:
            continue
        on_cells = cells_cand[name] - cells_base[name]  # type: ignore[operator]
        deltas = on_cells + (reps[1][name] - reps[0][name] - on_cells) * scale_spread
        result.draws = deltas
        result.ci = compare.percentile_interval(deltas, delta, on_cells)
        wald = compare.wald_p_value(deltas, delta, on_cells)
        if wald is not None:
            result.se = wald[1]
            if declared_test(name) != "mcnemar-exact":
                result.p_value = wald[0]
                result.test = "bootstrap-paired"
    return found
