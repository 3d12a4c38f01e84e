"""``reportgen diff OLD.json NEW.json``: how each metric moved between two builds' summaries,
in the spirit of ``dvc metrics diff``.

A change is matched by model, kind, metric and scope (whole runs; slices are left to the
reports). Its verdict comes only from a test the new build made: the new summary compared the
model with a baseline run that is the old build's run of that model (the same file, by
SHA-256). Otherwise the values changed and nothing more is said: no test is invented from
two summaries' numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

from reportgen import formatting as fmt
from reportgen import metrics as registry
from reportgen.gates import Gate, GateResult, evaluate_gates
from reportgen.render.publish import markdown_text
from reportgen.stats.comparison import Comparison
from reportgen.summaries import Summary


@dataclass(frozen=True)
class Change:
    """One metric of one model in two summaries."""

    model: str
    kind: str
    metric: str
    scope: str
    old: float | None
    new: float | None
    verdict: str | None  # better/worse/tie from the new build's test, None when untested
    tested_against: str | None  # the new build's baseline run that was the old run
    rerun: bool = False  # a new run that is an old run's file under another name (a baseline)

    @property
    def change(self) -> float | None:
        if self.old is None or self.new is None:
            return None
        return self.new - self.old

    @property
    def status(self) -> str:
        """added, removed, changed, same, or rerun (an old run's file, renamed: a baseline)."""
        if self.rerun:
            return "rerun"
        if self.old is None and self.new is not None:
            return "added"
        if self.new is None and self.old is not None:
            return "removed"
        same = self.old == self.new or (
            self.old is not None
            and self.new is not None
            and math.isnan(self.old)
            and math.isnan(self.new)
        )
        return "same" if same else "changed"

    def summary(self) -> dict[str, object]:
        return {**asdict(self), "change": self.change, "status": self.status}


def diff_summaries(old: Summary, new: Summary) -> list[Change]:
    """Every whole-run metric of either summary, in the new summary's order, then the old
    one's metrics it lacks."""

    def key(s: object) -> tuple[str, str, str, str]:
        return (s.model, s.kind, s.metric, s.scope)  # type: ignore[attr-defined]

    olds = {key(s): s.value for s in old.scores if s.slice_column is None}
    news = {key(s): s.value for s in new.scores if s.slice_column is None}
    tests = {}
    for c in new.comparisons:
        if c.get("slice_column") is None and isinstance(c.get("candidate"), str):
            tests.setdefault((c["candidate"], c.get("metric"), c.get("scope") or ""), c)
    reruns = {
        name
        for name, sha in new.sources.items()
        if name not in old.sources and sha in old.sources.values()
    }
    changes = []
    for k in [*news, *(k for k in olds if k not in news)]:
        model, kind, metric, scope = k
        verdict = against = None
        test = tests.get((model, metric, scope))
        if test is not None and k in olds:
            base = test.get("baseline")
            known = old.sources.get(model)
            if known is not None and new.sources.get(str(base)) == known:
                verdict, against = str(test.get("verdict")), str(base)
        found = Change(model, kind, metric, scope, olds.get(k), news.get(k), verdict, against)
        changes.append(replace(found, rerun=model in reruns))
    return changes


def shown(changes: Sequence[Change], everything: bool) -> list[Change]:
    """What is listed: every change with ``everything``, else what changed, without a new
    run that is only an old run's file under another name (the new build's baseline)."""
    return (
        list(changes) if everything else [c for c in changes if c.status not in ("same", "rerun")]
    )


def check_gates(gates: Sequence[Gate], changes: Sequence[Change]) -> list[GateResult]:
    """``--fail-if`` on the new values: ``delta(M)`` is new minus old, ``regression(M)`` needs
    the new build's test of the model against its old run (else it cannot be checked)."""
    from reportgen.errors import ReportgenError
    from reportgen.stats.score import Score

    metrics = list(dict.fromkeys(c.metric for c in changes))
    models = list(dict.fromkeys(c.model for c in changes))
    for gate in gates:  # a gate that names nothing in the summaries could never fail
        if gate.metric not in metrics:
            raise ReportgenError(
                f"--fail-if {gate.expression!r}: neither summary has the metric "
                f"{gate.metric!r}; they have: {', '.join(metrics[:12]) or 'no metrics'}"
            )
        if gate.model is not None and gate.model not in models:
            raise ReportgenError(
                f"--fail-if {gate.expression!r}: neither summary has a model named "
                f"{gate.model!r}; models are: {', '.join(models)}"
            )
    scores, comparisons = [], []
    for c in changes:
        old_name = f"{c.model} (old)"
        scores.append(Score(c.model, c.kind, c.metric, c.new, old_name, scope=c.scope))
        scores.append(Score(old_name, c.kind, c.metric, c.old, old_name, scope=c.scope))
        if c.verdict is not None:
            comparisons.append(
                Comparison(
                    baseline=old_name,
                    candidate=c.model,
                    metric=c.metric,
                    baseline_value=c.old,
                    candidate_value=c.new,
                    delta=c.change,
                    ci=None,
                    p_value=None,
                    test="",
                    n_paired=0,
                    verdict=c.verdict,  # type: ignore[arg-type]
                    scope=c.scope,
                )
            )
    models = list(dict.fromkeys(c.model for c in changes if c.new is not None))
    return evaluate_gates(gates, models, "", scores, comparisons)


def _value(metric: str, value: float | None) -> str:
    """The value as the page shows it; NaN as the summary wrote it (not "no value")."""
    if value is not None and math.isnan(value):
        return "NaN"
    return fmt.MISSING if value is None else registry.format_value(metric, value)


def _change_text(c: Change) -> str:
    if c.status in ("added", "removed"):
        return c.status
    if c.status == "rerun":
        return "old run, renamed"
    delta = c.change
    return fmt.MISSING if delta is None else fmt.signed(delta)


def _verdict_text(c: Change) -> str:
    if c.verdict is not None:
        return f"{c.verdict} (tested against {c.tested_against})"
    return "values only" if c.status == "changed" else ""


def rows(changes: Sequence[Change]) -> list[list[str]]:
    found = []
    for c in changes:
        label = registry.label(c.metric) + (f" ({c.scope})" if c.scope else "")
        found.append(
            [
                c.model,
                label,
                _value(c.metric, c.old),
                _value(c.metric, c.new),
                _change_text(c),
                _verdict_text(c),
            ]
        )
    return found


HEADER = ["Model", "Metric", "Old", "New", "Change", "Verdict"]
NOTE = (
    "Verdicts come from the new build's own test of a model against its old run (the same "
    "file); 'values only' means no such test was made, so the change is not tested."
)


def to_text(old: Summary, new: Summary, changes: Sequence[Change], total: int) -> str:
    table = [HEADER, *[[fmt.escape_hidden(cell) for cell in row] for row in rows(changes)]]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    lines = [
        f"{fmt.escape_hidden(old.path.name)} -> {fmt.escape_hidden(new.path.name)}: "
        f"{len(changes)} of {total} metrics shown"
    ]
    if changes:
        lines += [
            "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
            for r in table
        ]
        lines.append(NOTE)
    return "\n".join(lines) + "\n"


def to_markdown(old: Summary, new: Summary, changes: Sequence[Change], total: int) -> str:
    lines = [
        f"### Metrics: {markdown_text(old.path.name)} → {markdown_text(new.path.name)}",
        "",
        f"{len(changes)} of {total} metrics shown.",
        "",
    ]
    if changes:
        lines += ["| " + " | ".join(HEADER) + " |", "|" + "---|" * 2 + "---:|" * 3 + "---|"]
        lines += [
            "| " + " | ".join(markdown_text(cell) for cell in row) + " |" for row in rows(changes)
        ]
        lines += ["", NOTE]
    return "\n".join(lines) + "\n"


def to_json(
    old: Summary, new: Summary, changes: Sequence[Change], gates: Sequence[GateResult]
) -> str:
    found = {
        "old": str(old.path),
        "new": str(new.path),
        "changes": [_finite(c.summary()) for c in changes],
    }
    if gates:
        found["gates"] = {
            "passed": all(g.passed for g in gates),
            "results": [g.summary() for g in gates],
        }
    return json.dumps(found, indent=2, allow_nan=False) + "\n"


NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}  # as build --json


def _finite(entry: dict[str, object]) -> dict[str, object]:
    return {
        k: (NON_FINITE[str(v)] if isinstance(v, float) and not math.isfinite(v) else v)
        for k, v in entry.items()
    }
