"""Model versions over time: earlier builds' JSON summaries as the points of a trend.

``reportgen history SUMMARY...`` draws them on a page of their own; ``reportgen build
--trend DIR`` appends the build being made as the latest point and adds a "History" section.
Only what the summaries stored is shown: each point's value and 95% interval, and the verdict
of that build's own comparison with its baseline (a significant regression or improvement is
flagged). Nothing is tested across builds: two builds' numbers come from different runs, and a
test would need the examples.

A *series* is one model's metric of one kind (and scope) over the builds; its points are in
the order of ``order_by`` (a label, a run's metadata key, or ``date``, then generation time).
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from reportgen import metrics as registry
from reportgen.errors import ReportgenError
from reportgen.gates import parse_gate
from reportgen.summaries import Summary

ORDER_KEYS = ("date", "commit", "version")  # what --order-by names first; any label works too
JUMPS = 10  # rows of the largest-jumps table
MAX_SERIES_MODELS = 8  # lines per chart; further models are listed in the note
WINDOW = 10  # the points a build is checked against for breaking the trend
MIN_WINDOW = 3  # ...and the fewest that make a range worth breaking
SPARKS = "▁▂▃▄▅▆▇█"
MARKDOWN_POINTS = 12  # the points a Markdown sparkline covers
MAX_SUMMARIES = 1000  # more summaries than this is refused (before any is read)
_HEX = re.compile(r"[0-9a-fA-F]{7,64}")
_NUMBER = re.compile(r"(\d+)")
_COMMIT_KEYS = ("commit", "git_commit", "sha", "revision")


@dataclass(frozen=True)
class Build:
    """One summary as a point on the x axis."""

    position: int  # 1, 2, ... in order
    tick: str  # the axis label: a short commit, a version, or the order value (unique)
    order: str  # the value it was ordered by ("" when the summary has none)
    commit: str
    version: str
    date: str
    summary: Summary
    current: bool = False  # the build being made (build --trend)


@dataclass(frozen=True)
class Point:
    """One model's metric at one build."""

    build: int  # Build.position
    kind: str
    scope: str
    metric: str
    model: str
    value: float | None
    low: float | None
    high: float | None
    flag: str  # "worse"/"better": that build's test against its baseline was significant
    baseline: str  # the model that test compared with ("" when untested)


@dataclass(frozen=True)
class Jump:
    """A change between two consecutive points of a series."""

    kind: str
    scope: str
    metric: str
    model: str
    before: Point
    after: Point
    size: float  # the change over the two intervals' combined half-width, else over the
    by: str  # "intervals" or "steps" (the series' median step), what size is a multiple of

    @property
    def change(self) -> float:
        assert self.before.value is not None and self.after.value is not None
        return self.after.value - self.before.value


@dataclass(frozen=True)
class Break:
    """The build being made left its trend: outside the last points' range and significantly
    worse than its baseline."""

    point: Point
    low: float
    high: float
    window: int


@dataclass
class Trend:
    builds: list[Build]
    points: list[Point]
    metrics: list[tuple[str, str, str]]  # (kind, scope, metric), in page order
    models: list[str]  # every model name, in order of first appearance
    baseline: str  # the latest build's baseline
    thresholds: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    order_by: str = "date"
    window: int = WINDOW  # build --trend: the earlier points a break is judged against
    markdown_points: int = MARKDOWN_POINTS  # the builds a Markdown sparkline covers
    _series: dict[tuple[str, str, str, str], list[Point]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def series(self, kind: str, scope: str, metric: str, model: str) -> list[Point]:
        """One model's points of one metric, in build order (grouped once, on first use)."""
        if self._series is None:
            self._series = {}
            for p in self.points:
                self._series.setdefault((p.kind, p.scope, p.metric, p.model), []).append(p)
        return self._series.get((kind, scope, metric, model), [])

    @property
    def flagged(self) -> list[Point]:
        return [p for p in self.points if p.flag]

    def jumps(self, count: int = JUMPS) -> list[Jump]:
        return largest_jumps(self, count)

    def markdown_rows(self) -> list[list[str]]:
        return markdown_rows(self, self.markdown_points)

    def breaks(self, window: int = WINDOW) -> list[Break]:
        return trend_breaks(self, window)

    def summary(self) -> dict[str, Any]:
        """The JSON of a history page (``document: history``)."""
        return {
            "order_by": self.order_by,
            "builds": [
                {
                    "position": b.position,
                    "tick": b.tick,
                    "order": b.order,
                    "commit": b.commit,
                    "version": b.version,
                    "date": b.date,
                    "title": b.summary.title,
                    "generated_at": b.summary.generated_at,
                    "path": str(b.summary.path),
                    "labels": dict(b.summary.labels),
                    "current": b.current,
                }
                for b in self.builds
            ],
            "metrics": [{"kind": k, "scope": s, "metric": m} for k, s, m in self.metrics],
            "points": [
                {
                    "build": p.build,
                    "kind": p.kind,
                    "scope": p.scope,
                    "metric": p.metric,
                    "model": p.model,
                    "value": p.value,
                    "low": p.low,
                    "high": p.high,
                    "flag": p.flag or None,
                    "baseline": p.baseline or None,
                }
                for p in self.points
            ],
            "jumps": [
                {
                    "kind": j.kind,
                    "scope": j.scope,
                    "metric": j.metric,
                    "model": j.model,
                    "from": j.before.build,
                    "to": j.after.build,
                    "change": j.change,
                    "size": j.size,
                    "by": j.by,
                }
                for j in self.jumps()
            ],
        }


# --- ordering ---------------------------------------------------------------------------------


def _value(summary: Summary, key: str) -> str:
    """A build's value of ``key``: its --label, else the first run's metadata that has it."""
    if key in summary.labels:
        return summary.labels[key]
    for metadata in summary.metadata.values():
        if key in metadata:
            return metadata[key]
    return ""


def _commit(summary: Summary) -> str:
    for key in _COMMIT_KEYS:
        found = _value(summary, key)
        if found:
            return found[:7] if _HEX.fullmatch(found) else found[:12]
    return ""


def _date(summary: Summary) -> str:
    return _value(summary, "date") or (summary.generated_at or "")


def _natural(text: str) -> tuple[Any, ...]:
    """``v1.10`` after ``v1.9``: digit runs compare as numbers."""
    return tuple(int(part) if part.isdigit() else part for part in _NUMBER.split(text))


def order_builds(
    summaries: Sequence[Summary], order_by: str = "date", current: Summary | None = None
) -> list[Build]:
    """The summaries in order of ``order_by`` (missing values first, in generation order),
    then of generation time and file name; the build being made (``current``) last."""

    def key(s: Summary) -> tuple[Any, ...]:
        value = _date(s) if order_by == "date" else _value(s, order_by)
        return (value != "", _natural(value), s.generated_at or "", str(s.path))

    ordered = sorted(summaries, key=key) + ([current] if current is not None else [])
    builds, seen = [], set()
    for position, s in enumerate(ordered, start=1):
        order = _date(s) if order_by == "date" else _value(s, order_by)
        commit, version = _commit(s), _value(s, "version")
        tick = commit or version or order[:16] or _date(s)[:16] or f"#{position}"
        if tick in seen:
            tick = f"{tick} #{position}"
        seen.add(tick)
        builds.append(
            Build(
                position,
                tick,
                order,
                commit,
                version,
                _date(s)[:16],
                s,
                current=s is current,
            )
        )
    return builds


# --- the trend --------------------------------------------------------------------------------


def build_trend(
    summaries: Sequence[Summary],
    order_by: str = "date",
    current: Summary | None = None,
) -> Trend:
    """Every build's headline metrics (whole runs), in order, with each point's flag."""
    if not summaries and current is None:
        raise ReportgenError("no summaries to draw a trend from")
    builds = order_builds(summaries, order_by, current)
    metrics: dict[tuple[str, str, str], None] = {}
    models: dict[str, None] = {}
    points = []
    for build in builds:
        s = build.summary
        headline = s.headlines or _fallback_headlines(s)
        tests = {
            (c.get("candidate"), c.get("metric"), c.get("scope") or ""): c
            for c in s.comparisons
            if c.get("slice_column") is None
        }
        for score in s.scores:
            if score.slice_column is not None or score.metric not in headline.get(score.kind, []):
                continue
            series = (score.kind, score.scope, score.metric)
            metrics.setdefault(series, None)
            models.setdefault(score.model, None)
            test = tests.get((score.model, score.metric, score.scope)) or {}
            verdict = test.get("verdict")
            points.append(
                Point(
                    build.position,
                    score.kind,
                    score.scope,
                    score.metric,
                    score.model,
                    _finite(score.value),
                    _finite(score.low),
                    _finite(score.high),
                    verdict if verdict in ("better", "worse") else "",
                    str(test.get("baseline") or "") if test else "",
                )
            )
    order = {k: i for i, k in enumerate(_kind_order(builds))}
    ranked = sorted(metrics, key=lambda m: order.get(m[0], len(order)))
    latest = builds[-1].summary
    return Trend(
        builds,
        points,
        ranked,
        list(models),
        latest.baseline,
        thresholds=_thresholds(builds),
        order_by=order_by,
    )


def _kind_order(builds: Sequence[Build]) -> list[str]:
    """Kinds in the order the latest build's summary lists them."""
    found: dict[str, None] = {}
    for build in reversed(builds):
        for score in build.summary.scores:
            found.setdefault(score.kind, None)
    return list(found)


def _fallback_headlines(summary: Summary) -> dict[str, list[str]]:
    """Summaries written before ``headlines`` existed: each kind's first four metrics."""
    found: dict[str, dict[str, None]] = {}
    for score in summary.scores:
        if score.slice_column is None:
            found.setdefault(score.kind, {}).setdefault(score.metric, None)
    return {kind: list(names)[:4] for kind, names in found.items()}


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _thresholds(builds: Sequence[Build]) -> dict[str, list[tuple[str, float]]]:
    """The value gates of the builds (``f1 < 0.8``), as (expression, threshold) per metric:
    drawn as rules. Delta and regression gates have no level to draw."""
    found: dict[str, dict[tuple[str, float], None]] = {}
    for build in builds:
        for expression in build.summary.gates:
            try:
                gate = parse_gate(expression)
            except ReportgenError:
                continue  # a summary from a reportgen with another grammar
            if gate.kind == "value" and gate.threshold is not None:
                found.setdefault(gate.metric, {})[(expression, gate.threshold)] = None
    return {metric: list(rules) for metric, rules in found.items()}


def largest_jumps(trend: Trend, count: int = JUMPS) -> list[Jump]:
    """The largest changes between consecutive points of each series: measured in the two
    points' interval half-widths where both have intervals, else in the series' median step;
    the interval-measured ones first."""
    found = []
    for kind, scope, metric in trend.metrics:
        for model in trend.models:
            series = [p for p in trend.series(kind, scope, metric, model) if p.value is not None]
            steps = [abs(b.value - a.value) for a, b in itertools.pairwise(series)]  # type: ignore[operator]
            usual = statistics.median([s for s in steps if s > 0] or [0.0])
            for a, b in itertools.pairwise(series):
                change = abs(b.value - a.value)  # type: ignore[operator]
                if change == 0:
                    continue
                widths = [
                    (p.high - p.low) / 2 for p in (a, b) if p.low is not None and p.high is not None
                ]
                if len(widths) == 2 and math.hypot(*widths) > 0:
                    found.append(
                        Jump(
                            kind,
                            scope,
                            metric,
                            model,
                            a,
                            b,
                            change / math.hypot(*widths),
                            "intervals",
                        )
                    )
                elif usual > 0:
                    found.append(Jump(kind, scope, metric, model, a, b, change / usual, "steps"))
    found.sort(key=lambda j: (j.by != "intervals", -j.size, j.after.build))
    return found[:count]


def trend_breaks(trend: Trend, window: int = WINDOW) -> list[Break]:
    """Series whose latest point is the build being made, outside the range of the
    ``window`` points before it (at least MIN_WINDOW), and significantly worse than its
    baseline in that build's own test."""
    current = next((b.position for b in trend.builds if b.current), None)
    if current is None:
        return []
    found = []
    for kind, scope, metric in trend.metrics:
        for model in trend.models:
            series = [p for p in trend.series(kind, scope, metric, model) if p.value is not None]
            if not series or series[-1].build != current or series[-1].flag != "worse":
                continue
            before = [p.value for p in series[:-1]][-window:]
            if len(before) < MIN_WINDOW:
                continue
            low, high = min(before), max(before)  # type: ignore[type-var]
            value = series[-1].value
            higher = registry.higher_is_better(metric)
            if (higher and value < low) or (not higher and value > high):  # type: ignore[operator]
                found.append(Break(series[-1], low, high, len(before)))  # type: ignore[arg-type]
    return found


def sparkline(values: Sequence[float | None]) -> str:
    """▁▂▃▅▇ from low to high (one scale per series); a gap for an undefined value."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    top = len(SPARKS) - 1
    return "".join(
        " " if v is None else SPARKS[0 if high == low else round((v - low) / (high - low) * top)]
        for v in values
    )


def markdown_rows(trend: Trend, last: int = MARKDOWN_POINTS) -> list[list[str]]:
    """Per metric and model: a sparkline of the last points, the first and latest values
    they cover, and the latest change (text, for :func:`publish.markdown_text`)."""
    rows = []
    recent = {b.position for b in trend.builds[-last:]}
    for kind, scope, metric in trend.metrics:
        for model in trend.models:
            series = [p for p in trend.series(kind, scope, metric, model) if p.build in recent]
            values = [p.value for p in series]
            known = [v for v in values if v is not None]
            if not known:
                continue
            flag = series[-1].flag
            rows.append(
                [
                    registry.label(metric) + (f" ({scope})" if scope else ""),
                    model,
                    sparkline(values),
                    registry.format_value(metric, known[0]),
                    registry.format_value(metric, known[-1])
                    + (f" (significantly {flag})" if flag else ""),
                ]
            )
    return rows
