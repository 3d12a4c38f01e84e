"""The trend of builds as report sections: ``reportgen history`` (a page of its own) and the
"History" section of ``reportgen build --trend``. The numbers come from :mod:`reportgen.trend`;
this module only says what each chart, cell and sentence is."""

from __future__ import annotations

import glob
import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from reportgen import formatting as fmt
from reportgen import metrics as registry
from reportgen.errors import ReportgenError
from reportgen.model import Cell, Figure, Section, Table, chart, model_colours
from reportgen.report import Report, generation_time
from reportgen.summaries import Summary, load_summary
from reportgen.trend import MAX_SERIES_MODELS, MAX_SUMMARIES, Break, Trend, build_trend

TABLE_BUILDS = 50  # rows of the numbers behind a trend chart (the JSON keeps every build)
STILL_DOTS = 40  # a longer history's static drawing has no mark per point


def summary_paths(items: Sequence[str | Path], empty_ok: bool = False) -> list[Path]:
    """Summary files from paths, folders (their ``*.json``, sorted) and glob patterns; a
    pattern or folder that finds none is an error (``empty_ok``: a first build in CI has no
    earlier summaries yet), as is a file given twice."""
    found: list[Path] = []
    for item in items:
        text = str(item)
        path = Path(text)
        if path.is_dir():
            matches = sorted(p for p in path.glob("*.json") if p.is_file())
            if not matches and not empty_ok:
                raise ReportgenError(f"{text}: no .json summaries in this folder")
        elif not path.exists() and glob.has_magic(text):
            matches = sorted(Path(p) for p in glob.glob(text) if Path(p).is_file())
            if not matches and not empty_ok:
                raise ReportgenError(f"{text}: no file matches this pattern")
        else:
            matches = [path]
        found += matches
        if len(found) > MAX_SUMMARIES:
            raise ReportgenError(
                f"more than {MAX_SUMMARIES} summaries; give the most recent ones (a folder "
                "or pattern per period)"
            )
    seen: dict[Path, str] = {}
    for path in found:
        key = path.resolve()
        if key in seen:
            raise ReportgenError(f"{path}: given twice (also as {seen[key]}); give it once")
        seen[key] = str(path)
    return found


def read_summaries(items: Sequence[str | Path], empty_ok: bool = False) -> list[Summary]:
    return [load_summary(p) for p in summary_paths(items, empty_ok)]


def trend_sections(trend: Trend, section_id: str = "trend", title: str = "Trend") -> list[Section]:
    """One section per kind: a chart per headline metric; then the flagged changes and the
    largest jumps."""
    latest = trend.builds[-1].summary
    order = [s.model for s in latest.scores] + trend.models
    ranked = list(dict.fromkeys(m for m in order if m in trend.models))
    drawn = [trend.baseline] if trend.baseline in ranked else []
    drawn += [m for m in ranked if m not in drawn][: MAX_SERIES_MODELS - len(drawn)]
    colours = model_colours(
        trend.models, trend.baseline, drawn if len(ranked) > MAX_SERIES_MODELS else None
    )
    ticks = [b.tick for b in trend.builds]
    tick_of = {b.position: b.tick for b in trend.builds}
    sections: list[Section] = []
    kinds = list(dict.fromkeys(kind for kind, _, _ in trend.metrics))
    left_out = [m for m in ranked if m not in drawn]
    for kind in kinds:
        figures = []
        for number, (k, scope, metric) in enumerate(trend.metrics):
            if k != kind:
                continue
            rows = [p for p in trend.points if (p.kind, p.scope, p.metric) == (k, scope, metric)]
            rows = [p for p in rows if p.model in drawn]
            frame = pd.DataFrame(
                {
                    "build": [tick_of[p.build] for p in rows],
                    "model": [p.model for p in rows],
                    "value": [_round(p.value) for p in rows],
                    "low": [_round(p.low) for p in rows],
                    "high": [_round(p.high) for p in rows],
                    "flag": [p.flag for p in rows],
                }
            )
            shown = [m for m in drawn if m in set(frame["model"])]
            rules = pd.DataFrame(trend.thresholds.get(metric, []), columns=["gate", "threshold"])
            name = registry.label(metric) + (f" ({scope})" if scope else "")
            args = (
                frame,
                ticks,
                shown,
                [colours[m] for m in shown],
                name,
                rules,
                registry.higher_is_better(metric),
            )
            figures.append(
                Figure(
                    f"{section_id}-{number}",
                    name,
                    chart("trend_chart", *args),
                    table=_series_table(trend, k, scope, metric, drawn, colours),
                    # a long history's static drawing: lines without a mark per point
                    still=chart("trend_chart", *args, dots=False)
                    if len(trend.builds) > STILL_DOTS
                    else None,
                )
            )
        notes = []
        if left_out:
            notes.append(
                f"The charts draw {len(drawn)} of {len(ranked)} models (the baseline and the "
                f"first in the latest build); not drawn: {', '.join(left_out)}."
            )
        sections.append(
            Section(
                f"{section_id}-{_slug(kind)}",
                f"{title}: {kind}" if len(kinds) > 1 else title,
                lead=(
                    f"{len(trend.builds)} builds ordered by {trend.order_by}. Each line is a "
                    "model, the band its 95% interval as that build stored it. ▼ and ▲ mark a "
                    "build whose own test found the model significantly worse or better than "
                    "its baseline; dashed rules are value gates. Hover a point for its numbers."
                ),
                figures=figures,
                notes=notes,
            )
        )
    sections.append(_changes_section(trend, section_id, colours, tick_of))
    return sections


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.6g}")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-") or "kind"


def _series_table(
    trend: Trend, kind: str, scope: str, metric: str, models: list[str], colours: dict[str, str]
) -> Table:
    header = ["Build", *models]
    values = {
        (p.build, p.model): p
        for p in trend.points
        if (p.kind, p.scope, p.metric) == (kind, scope, metric)
    }
    rows = []
    for build in trend.builds[-TABLE_BUILDS:]:
        row = [Cell(build.tick, title=build.summary.title, role="mono")]
        for model in models:
            point = values.get((build.position, model))
            if point is None:
                row.append(Cell("", role="num"))
                continue
            text = registry.format_value(metric, point.value)
            tone = point.flag if point.flag in ("better", "worse") else ""
            interval = (
                f"95% interval {registry.format_value(metric, point.low)} to "
                f"{registry.format_value(metric, point.high)}"
                if point.low is not None and point.high is not None
                else None
            )
            row.append(Cell(text, title=interval, role="num", tone=tone))  # type: ignore[arg-type]
        rows.append(row)
    left = len(trend.builds) - TABLE_BUILDS
    caption = f"The last {TABLE_BUILDS} builds; the JSON (--json) has all." if left > 0 else ""
    return Table(
        header, rows, title="Numbers", numeric=[False] + [True] * len(models), caption=caption
    )


def _changes_section(
    trend: Trend, section_id: str, colours: dict[str, str], tick_of: dict[int, str]
) -> Section:
    flagged = Table(
        ["Build", "Model", "Metric", "Value", "Against", "Verdict"],
        [
            [
                Cell(tick_of[p.build], role="mono"),
                Cell(p.model, role="model", swatch=colours.get(p.model)),
                Cell(registry.label(p.metric) + (f" ({p.scope})" if p.scope else "")),
                Cell(registry.format_value(p.metric, p.value), role="num"),
                Cell(p.baseline, role="model", swatch=colours.get(p.baseline)),
                Cell(f"significantly {p.flag}", role="verdict", tone=p.flag),  # type: ignore[arg-type]
            ]
            for p in trend.flagged
        ],
        title="Significant changes",
        caption="Each build's own paired test of a model against that build's baseline.",
        numeric=[False, False, False, True, False, False],
        lead=True,
    )
    jumps = trend.jumps()
    jump_table = Table(
        ["Model", "Metric", "From", "To", "Before", "After", "Change", "Size"],
        [
            [
                Cell(j.model, role="model", swatch=colours.get(j.model)),
                Cell(registry.label(j.metric) + (f" ({j.scope})" if j.scope else "")),
                Cell(tick_of[j.before.build], role="mono"),
                Cell(tick_of[j.after.build], role="mono"),
                Cell(registry.format_value(j.metric, j.before.value), role="num"),
                Cell(registry.format_value(j.metric, j.after.value), role="num"),
                Cell(
                    fmt.signed(j.change, 4),
                    role="num",
                    tone=_tone(j.metric, j.change),
                ),
                Cell(
                    f"{j.size:.1f}× {'intervals' if j.by == 'intervals' else 'usual step'}",
                    title=(
                        "the change over the two points' 95% interval half-widths combined"
                        if j.by == "intervals"
                        else "the change over the series' median step (no intervals stored)"
                    ),
                    role="num",
                ),
            ]
            for j in jumps
        ],
        title="Largest jumps",
        caption=(
            "Changes between consecutive builds, largest first: measured in the two points' "
            "interval widths where both stored one, else in the series' median step. A jump "
            "is not a test: two builds' numbers come from different runs."
        ),
        numeric=[False, False, False, False, True, True, True, True],
        lead=True,
    )
    tables = []
    notes = []
    if trend.flagged:
        tables.append(flagged)
    else:
        notes.append("No build found a model significantly better or worse than its baseline.")
    if jumps:
        tables.append(jump_table)
    return Section(
        f"{section_id}-changes", "Changes over builds", figures=[], tables=tables, notes=notes
    )


def _tone(metric: str, change: float) -> str:
    if change == 0 or math.isnan(change):
        return ""
    better = (change > 0) == registry.higher_is_better(metric)
    return "better" if better else "worse"


def builds_section(trend: Trend, section_id: str = "builds") -> Section:
    """The builds as points: position, tick, when, commit, version, labels, file."""
    rows = []
    for b in trend.builds:
        labels = ", ".join(f"{k}={v}" for k, v in b.summary.labels.items())
        rows.append(
            [
                Cell(str(b.position), role="num"),
                Cell(b.tick, role="mono"),
                Cell(b.date),
                Cell(b.summary.title),
                Cell(labels, role="mono"),
                Cell("this build" if b.current else str(b.summary.path), role="mono"),
            ]
        )
    table = Table(
        ["#", "Build", "Date", "Title", "Labels", "Summary"],
        rows,
        title="Builds",
        numeric=[True, False, False, False, False, False],
        lead=True,
    )
    return Section(section_id, "Builds", tables=[table], collapsed=True)


def break_clause(breaks: Sequence[Break]) -> str:
    """The verdict line's clause when the build breaks its trend: the first break in full,
    the others by name."""
    if not breaks:
        return ""
    first = breaks[0]
    point, value = first.point, registry.format_value
    named = [f"{b.point.model}'s {registry.label(b.point.metric)}" for b in breaks]
    where = f" (also {', '.join(named[1:])})" if len(named) > 1 else ""
    return (
        f"Breaks the trend: {named[0]} {value(point.metric, point.value)} is outside the last "
        f"{first.window} builds' range ({value(point.metric, first.low)} to "
        f"{value(point.metric, first.high)}) and significantly worse than {point.baseline}"
        f"{where}."
    )


def history_verdict(trend: Trend) -> str:
    """How many builds, and each build where a model's own test found it significantly
    worse or better than the baseline (on how many of the charted metrics)."""
    first, last = trend.builds[0], trend.builds[-1]
    tick = {b.position: b.tick for b in trend.builds}
    span = f"from {first.tick} to {last.tick}" if len(trend.builds) > 1 else f"at {last.tick}"
    parts = []
    for flag, noun in (("worse", "regression"), ("better", "improvement")):
        events: dict[tuple[int, str], int] = {}
        for p in trend.flagged:
            if p.flag == flag:
                events[(p.build, p.model)] = events.get((p.build, p.model), 0) + 1
        if not events:
            parts.append(f"no significant {noun}")
            continue
        listed = [
            f"{model} at {tick[build]} on {count} metric{'s' if count != 1 else ''}"
            for (build, model), count in list(events.items())[:3]
        ]
        more = f" and {len(events) - 3} more" if len(events) > 3 else ""
        plural = "s" if len(events) != 1 else ""
        parts.append(f"{len(events)} significant {noun}{plural} ({'; '.join(listed)}{more})")
    count = len(trend.builds)
    return f"{count} build{'s' if count != 1 else ''} {span}: " + " and ".join(parts) + "."


def history_report(
    summaries: Sequence[str | Path] | Sequence[Summary],
    *,
    order_by: str = "date",
    title: str | None = None,
    timestamp: bool = True,
) -> Report:
    """The page of ``reportgen history``: the trend of earlier builds' summaries (paths,
    folders, glob patterns, or loaded :class:`Summary` objects), built like any report, so
    it is written, checked and rendered (HTML, JSON, Markdown) the same way."""
    from reportgen.charts import draw_all
    from reportgen.render import fallbacks

    paths = [s for s in summaries if not isinstance(s, Summary)]
    found = [s for s in summaries if isinstance(s, Summary)]
    found += read_summaries(paths) if paths else []
    if not found:
        raise ReportgenError("no summaries given; pass the JSON files reportgen build --json wrote")
    hidden = fmt.hidden_in(title or "", "--title", "write the title without it")
    if hidden is not None:
        raise ReportgenError(hidden)
    trend = build_trend(found, order_by)
    sections = [*trend_sections(trend), builds_section(trend)]
    draw_all(sections, fallbacks.submit)
    kinds = list(dict.fromkeys(kind for kind, _, _ in trend.metrics))
    return Report(
        title=title or f"History of {len(trend.builds)} builds",
        task="history",
        generated_at=generation_time(timestamp),
        runs=[],
        leaderboard=None,
        sections=sections,
        verdict=history_verdict(trend),
        baseline=trend.baseline,
        kinds="history of " + (", ".join(kinds) or "no metrics"),
        n_models=len(trend.models),
        trend=trend,
    )
