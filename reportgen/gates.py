"""CI gates: ``--fail-if`` expressions, parsed before anything is computed and checked against
the built report.

Grammar (a gate *fails* when its expression is true)::

    gate        := comparison | bound | regression
    comparison  := term OP NUMBER [for MODEL]
    term        := METRIC | delta(METRIC)
    bound       := (lower | upper)(delta(METRIC)) OP NUMBER [by COLUMN] [for MODEL]
    regression  := regression(METRIC) [by COLUMN] [for MODEL]
    OP          := <  <=  >  >=  ==  !=

``METRIC`` is any metric name of the JSON summary (``f1``, ``roc_auc``, ``perplexity``,
``exact_match``, ``latency_p99_ms``, ...) or an lm-eval task (its primary metric).
``delta(M)`` is the candidate's value minus the baseline's; ``regression(M)`` is true when the
candidate is significantly worse than the baseline on M (the report's paired test, adjusted
p < 0.05 within the candidate's comparison, by max-T or Holm); ``regression(M) by COLUMN``
is true when it is significantly worse on any value of the ``--slice`` column (max-T over
the column's values and metrics). ``lower(delta(M))`` and ``upper(delta(M))`` are the ends
of the adjusted interval of the delta, the one that agrees with the verdict and that the page
shows (``Comparison.ci_adjusted``): ``lower(delta(f1)) < -0.01`` is a non-inferiority gate
with margin 0.01, which passes only when the data show the candidate at most 0.01 worse;
``by COLUMN`` checks the bound on every value of the ``--slice`` column and fails if any
fails. Without ``for MODEL`` a gate checks every candidate
(every model but the baseline), or the only model of a one-model report.

Examples: ``f1 < 0.90``, ``roc_auc < 0.95 for candidate``, ``delta(accuracy) < -0.01``,
``regression(f1)``, ``lower(delta(f1)) < -0.01``, ``upper(delta(log_loss)) > 0.02 by region``,
``perplexity > 12``, ``latency_p99_ms > 500 for "v2 (int8)"``.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from reportgen import metrics as registry
from reportgen.errors import ReportgenError
from reportgen.stats.comparison import Comparison
from reportgen.stats.score import Score

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
GRAMMAR_HINT = (
    "write METRIC OP NUMBER, delta(METRIC) OP NUMBER, lower(delta(METRIC)) OP NUMBER, "
    "upper(delta(METRIC)) OP NUMBER, regression(METRIC) or regression(METRIC) by COLUMN, "
    'optionally followed by "for MODEL"; e.g. "f1 < 0.90", '
    '"delta(accuracy) < -0.01 for candidate", "lower(delta(f1)) < -0.01", '
    '"regression(f1) by region"'
)
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PATTERN = re.compile(
    r"""^\s*
    (?:
        (?P<regression>regression)\s*\(\s*(?P<rmetric>[\w.\-]+)\s*\)
        (?:\s+by\s+(?P<column>"[^"]+"|'[^']+'|[^\s"']+))?
      | (?P<bound>lower|upper)\s*\(\s*delta\s*\(\s*(?P<bmetric>[\w.\-]+)\s*\)\s*\)
        \s*(?P<bop><=|>=|==|!=|<|>)\s*(?P<bnumber>"""
    + _NUMBER
    + r""")
        (?:\s+by\s+(?P<bcolumn>"[^"]+"|'[^']+'|[^\s"']+))?
      | (?:(?P<delta>delta)\s*\(\s*(?P<dmetric>[\w.\-]+)\s*\)|(?P<metric>[\w.\-]+))
        \s*(?P<op><=|>=|==|!=|<|>)\s*(?P<number>"""
    + _NUMBER
    + r""")
    )
    (?:\s+for\s+(?P<model>"[^"]+"|'[^']+'|\S+))?
    \s*$""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Gate:
    expression: str
    kind: str  # value | delta | regression | lower | upper
    metric: str
    op: str | None
    threshold: float | None
    model: str | None
    column: str | None = None  # ... by COLUMN: any slice value of the column

    def describe(self) -> str:
        return self.expression.strip()

    @property
    def margin(self) -> float | None:
        """A bound gate's margin: how far worse the candidate may be shown to be at most
        (``lower(delta(f1)) < -0.01``: 0.01); None for other gates or a zero threshold."""
        if self.kind not in ("lower", "upper") or not self.threshold:
            return None
        return abs(self.threshold)


@dataclass(frozen=True)
class GateResult:
    gate: Gate
    model: str
    passed: bool
    detail: str  # what was found, one line

    @property
    def expression(self) -> str:
        return self.gate.describe()

    def summary(self) -> dict[str, Any]:
        return {
            "gate": self.expression,
            "model": self.model,
            "passed": self.passed,
            "detail": self.detail,
        }


def parse_gate(expression: str) -> Gate:
    """One ``--fail-if`` expression; a malformed one is a :class:`ReportgenError`."""
    match = _PATTERN.match(expression)
    if match is None:
        raise ReportgenError(f"--fail-if {expression!r}: cannot parse; {GRAMMAR_HINT}")
    model = match.group("model")
    if model is not None and model[0] in "'\"":
        model = model[1:-1]
    column = match.group("column") or match.group("bcolumn")
    if column is not None and column[0] in "'\"":
        column = column[1:-1]
    if match.group("regression"):
        return Gate(expression, "regression", match.group("rmetric"), None, None, model, column)
    if match.group("bound"):
        threshold = float(match.group("bnumber"))
        return Gate(
            expression,
            match.group("bound"),
            match.group("bmetric"),
            match.group("bop"),
            threshold,
            model,
            column,
        )
    kind = "delta" if match.group("delta") else "value"
    metric = match.group("dmetric") or match.group("metric")
    threshold = float(match.group("number"))
    return Gate(expression, kind, metric, match.group("op"), threshold, model)


def parse_gates(expressions: Iterable[str]) -> list[Gate]:
    return [parse_gate(e) for e in expressions]


def is_known_metric(name: str) -> bool:
    return registry.is_known(name)


def check_names(
    gates: Iterable[Gate], models: Iterable[str], extra_metrics: Iterable[str], baseline: str
) -> None:
    """Unknown metrics and models are usage errors, found before any metric is computed.

    ``extra_metrics``: names only known after loading (lm-eval tasks and sample metrics)."""
    models = list(models)
    extra = set(extra_metrics)
    for gate in gates:
        if not (is_known_metric(gate.metric) or gate.metric in extra):
            raise ReportgenError(
                f"--fail-if {gate.expression!r}: unknown metric {gate.metric!r}; use a metric "
                "of the JSON summary (accuracy, f1, roc_auc, perplexity, exact_match, ...) or "
                "an lm-eval task name"
            )
        if gate.model is not None and gate.model not in models:
            raise ReportgenError(
                f"--fail-if {gate.expression!r}: no model named {gate.model!r}; models are: "
                f"{', '.join(models)}"
            )
        if gate.kind != "value" and gate.model == baseline:
            raise ReportgenError(
                f"--fail-if {gate.expression!r}: {gate.model!r} is the baseline; "
                f"{gate.kind}() compares a candidate with it"
            )
        if gate.kind != "value" and len(models) < 2:
            raise ReportgenError(
                f"--fail-if {gate.expression!r}: {gate.kind}() needs a baseline and a candidate; "
                "the report has one model"
            )


def check_options(gates: Iterable[Gate], slices: Sequence[str], bootstrap: int) -> None:
    """A gate its options can never check is a usage error, found before anything is read:
    ``by COLUMN`` without ``--slice COLUMN``, and ``regression(M)`` of a bootstrap-tested
    metric with ``--bootstrap 0`` (the gate could never fail)."""
    sliced = {s.lower() for s in slices}
    for gate in gates:
        if gate.column is not None and gate.column.lower() not in sliced:
            raise ReportgenError(
                f"--fail-if {gate.expression!r}: the report is not sliced by {gate.column!r}; "
                f"add --slice {gate.column}"
            )
        declared = registry.get(gate.metric)
        by_bootstrap = declared is not None and declared.test == "bootstrap"
        if gate.kind == "regression" and bootstrap == 0 and by_bootstrap:
            raise ReportgenError(
                f"--fail-if {gate.expression!r}: {gate.metric} is tested by the paired "
                "bootstrap, which --bootstrap 0 turns off, so this gate could never fail; "
                f"drop --bootstrap 0, or gate on delta({gate.metric})"
            )
        resampled = declared is not None and declared.test in ("bootstrap", "mcnemar-exact")
        if gate.kind in _BOUNDS and bootstrap == 0 and resampled:
            raise ReportgenError(
                f"--fail-if {gate.expression!r}: the interval of delta({gate.metric}) "
                "comes from the paired bootstrap, which --bootstrap 0 turns off; drop "
                "--bootstrap 0"
            )


Lookup = Callable[[str, str], float | None]  # (model, metric) -> value
# (model, metric, column) -> the comparison on each slice value, or None when not sliced
SliceComparisons = Callable[[str, str, str], list[Comparison] | None]
Compared = Callable[[str, str], Comparison | None]  # (model, metric) -> its comparison


def evaluate_gates(
    gates: Iterable[Gate],
    models: list[str],
    baseline: str,
    scores: Sequence[Score],
    comparisons: Sequence[Comparison],
) -> list[GateResult]:
    """Every gate on every model it targets, read from the report's records; failed results
    first, then in gate order.

    A gate without ``for MODEL`` targets every candidate that has the metric (in a report of
    several kinds, a regression metric concerns the regression runs only). A (model, metric)
    is looked up in the first kind that scored it (kinds in page order); its baseline is the
    one that kind compares it with (``Score.baseline``), else the report's."""
    values: dict[tuple[str, str], float] = {}
    bases: dict[tuple[str, str], str] = {}
    for s in scores:
        if s.slice_column is None:
            if s.value is not None:
                values.setdefault((s.model, s.metric), s.value)
            if s.baseline is not None:
                bases.setdefault((s.model, s.metric), s.baseline)
    whole: dict[tuple[str, str], Comparison] = {}
    sliced: dict[tuple[str, str, str], list[Comparison]] = {}
    for c in comparisons:
        if c.slice_column is None:
            whole.setdefault((c.candidate, c.metric), c)
        else:
            sliced.setdefault((c.candidate, c.metric, c.slice_column.lower()), []).append(c)

    def value_of(model: str, metric: str) -> float | None:
        return values.get((model, metric))

    def compared(model: str, metric: str) -> Comparison | None:
        return whole.get((model, metric))

    def base_of(model: str, metric: str) -> str:
        return bases.get((model, metric), baseline)

    def slice_comparisons(model: str, metric: str, column: str) -> list[Comparison] | None:
        return sliced.get((model, metric, column.lower()))

    results = []
    for gate in gates:
        targets = [gate.model] if gate.model else _candidates(gate, models, base_of, value_of)
        for model in targets:
            base = base_of(model, gate.metric)
            if gate.column is not None:
                results.append(_check_slices(gate, model, base, slice_comparisons))
            elif gate.kind in ("lower", "upper"):
                results.append(_check_bound(gate, model, base, compared(model, gate.metric)))
            else:
                results.append(_check(gate, model, base, value_of, compared))
    return sorted(results, key=lambda r: r.passed)  # stable: failed first


def _check_slices(
    gate: Gate, model: str, baseline: str, slice_comparisons: SliceComparisons
) -> GateResult:
    """``regression(METRIC) by COLUMN``: fails when any value of the slice column is
    significantly worse than the baseline's on that value (max-T over the column's values
    and metrics); a bound ``by COLUMN`` fails when the bound fails on any value."""
    assert gate.column is not None
    found = slice_comparisons(model, gate.metric, gate.column)
    if found and gate.kind in ("lower", "upper"):
        return _check_bound_slices(gate, model, baseline, found)
    if not found:
        return GateResult(
            gate,
            model,
            False,
            f"cannot check: no per-slice comparison of {model} with {baseline} on "
            f"{gate.metric} by {gate.column} (pass --slice {gate.column}; slices below "
            "--min-slice-size and runs that cannot be paired are not tested)",
        )
    worse = [str(c.slice_value) for c in found if c.verdict == "worse"]
    if worse:
        shown = ", ".join(worse[:5]) + (f" and {len(worse) - 5} more" if len(worse) > 5 else "")
        return GateResult(
            gate,
            model,
            False,
            f"{model} is significantly worse than {baseline} on {gate.metric} where "
            f"{gate.column} is {shown}",
        )
    return GateResult(
        gate,
        model,
        True,
        f"{model} is not significantly worse than {baseline} on {gate.metric} on any of "
        f"{len(found)} {gate.column} values",
    )


def _candidates(
    gate: Gate, models: list[str], base_of: Callable[[str, str], str], value_of: Lookup
) -> list[str]:
    candidates = [m for m in models if m != base_of(m, gate.metric)] or models
    having = [m for m in candidates if value_of(m, gate.metric) is not None]
    return having or candidates  # nobody has it: every check says so


def _number(value: float) -> str:
    return f"{value:.4g}" if abs(value) >= 1e4 or (value and abs(value) < 1e-3) else f"{value:.3f}"


def _not_compared(gate: Gate, model: str, baseline: str) -> GateResult:
    return GateResult(
        gate,
        model,
        False,
        f"cannot check: no comparison of {model} with {baseline} on {gate.metric} "
        f"(only headline metrics are tested); use delta({gate.metric}) instead",
    )


def _check(
    gate: Gate, model: str, baseline: str, value_of: Lookup, compared: Compared
) -> GateResult:
    if gate.kind == "regression":
        comparison = compared(model, gate.metric)
        if comparison is None:
            return _not_compared(gate, model, baseline)
        verdict = comparison.verdict
        if verdict == "untested":
            why = comparison.reason or "no test applies"
            return GateResult(
                gate, model, False, f"cannot check: {gate.metric} was not tested ({why})"
            )
        worse = verdict == "worse"
        return GateResult(
            gate,
            model,
            not worse,
            f"{model} is {'significantly worse than' if worse else 'not significantly worse than'} "
            f"{baseline} on {gate.metric} ({verdict})",
        )
    value = value_of(model, gate.metric)
    if value is None or not math.isfinite(value):
        return GateResult(gate, model, False, f"cannot check: {model} has no {gate.metric} value")
    shown = f"{model} {gate.metric} = {_number(value)}"
    if gate.kind == "delta":
        base = value_of(baseline, gate.metric)
        if base is None or not math.isfinite(base):
            return GateResult(
                gate, model, False, f"cannot check: baseline {baseline} has no {gate.metric} value"
            )
        delta = value - base
        direction = (
            "lower is better" if registry.lower_is_better(gate.metric) else "higher is better"
        )
        shown = (
            f"Δ{gate.metric} = {delta:+.4f} ({model} {_number(value)} vs {baseline} "
            f"{_number(base)}; {direction})"
        )
        value = delta
    assert gate.op is not None and gate.threshold is not None
    failed = OPERATORS[gate.op](value, gate.threshold)
    return GateResult(gate, model, not failed, shown)


_BOUNDS = ("lower", "upper")


def _signed(value: float) -> str:
    return f"{value:+.3f}" if value == 0 or abs(value) >= 5e-4 else f"{value:+.2g}"


def _bound_of(gate: Gate, c: Comparison | None) -> tuple[float, tuple[float, float]] | None:
    """The gate's end of the comparison's adjusted interval (the one the page shows)."""
    if c is None or c.ci_adjusted is None:
        return None
    low, high = c.ci_adjusted
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return (low if gate.kind == "lower" else high), (low, high)


def _bound_failed(gate: Gate, c: Comparison) -> tuple[bool, str] | None:
    """(failed, what was found) for one comparison, or None when it has no interval."""
    found = _bound_of(gate, c)
    if found is None:
        return None
    bound, (low, high) = found
    assert gate.op is not None and gate.threshold is not None
    failed = OPERATORS[gate.op](bound, gate.threshold)
    term = f"{gate.kind}(delta({gate.metric}))"
    interval = (
        f"the interval is [{_signed(low)}, {_signed(high)}], {c.candidate} minus {c.baseline}"
    )
    margin = f"{abs(gate.threshold):g}"
    # the non-inferiority form: lower(delta(M)) < -m, or upper(delta(M)) > m for lower-is-better
    lower_side = gate.kind == "lower" and gate.op in ("<", "<=") and gate.threshold <= 0
    upper_side = gate.kind == "upper" and gate.op in (">", ">=") and gate.threshold >= 0
    examples = f"{c.n_paired:,} examples" if c.n_paired else "the evaluation set"
    if lower_side or upper_side:
        shown = "cannot show" if failed else "show" if c.n_paired else "shows"
        return failed, (
            f"{term} = {_number(bound)} {gate.op if failed else 'not ' + gate.op} "
            f"{gate.threshold:g}: {examples} {shown} {gate.metric} within {margin} of the "
            f"baseline ({interval})"
        )
    return failed, f"{term} = {_number(bound)} ({interval})"


def _check_bound(gate: Gate, model: str, baseline: str, c: Comparison | None) -> GateResult:
    """``lower(delta(M)) OP NUMBER`` / ``upper(...)``: an end of the adjusted interval."""
    if c is None:
        return _not_compared(gate, model, baseline)
    found = _bound_failed(gate, c)
    if found is None:
        why = c.reason or "no test gave it an interval"
        return GateResult(
            gate, model, False, f"cannot check: delta({gate.metric}) has no interval ({why})"
        )
    failed, detail = found
    return GateResult(gate, model, not failed, detail)


def _check_bound_slices(
    gate: Gate, model: str, baseline: str, found: Sequence[Comparison]
) -> GateResult:
    """A bound ``by COLUMN``: checked on every value of the slice column; it fails when it
    fails on any value, or when a value has no interval (too few examples to test)."""
    failing: list[str] = []
    first = ""
    for c in found:
        checked = _bound_failed(gate, c)
        if checked is None or checked[0]:
            failing.append(str(c.slice_value))
            if not first:
                first = checked[1] if checked else f"{c.slice_value} has no interval"
    if failing:
        shown = ", ".join(failing[:5])
        shown += f" and {len(failing) - 5} more" if len(failing) > 5 else ""
        return GateResult(gate, model, False, f"where {gate.column} is {shown}: {first}")
    return GateResult(
        gate,
        model,
        True,
        f"{gate.kind}(delta({gate.metric})) passes on all {len(found)} {gate.column} values "
        f"of {model} against {baseline}",
    )
