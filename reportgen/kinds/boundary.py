"""Decision boundaries: each classification model's response on a regular 2-D grid over two
features (``--boundary NAME=PATH``), drawn side by side with the run's test points overlaid,
and a map of where each candidate and the baseline decide differently.

A grid is a 2-D slice of the model (the other features held at fixed values), so two
numbers say how far it can be read:

- slice agreement: the share of the run's examples (within the grid) whose prediction
  equals the grid's class at the nearest grid node; low when the other features matter;
- disagreement with the baseline: the share of grid nodes where the candidate's class
  differs from the baseline's (on the full grid, both on the same axes).

The page draws at most ``MAX_CELLS`` x ``MAX_CELLS`` cells per model (every k-th node) and at
most ``MAX_POINTS`` test points per model (a deterministic sample); the numbers use every
node and every example.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reportgen import formatting as fmt
from reportgen.errors import ReportgenError
from reportgen.ingest.boundary import Grid, feature_values, load_grid
from reportgen.ingest.vectors import sample_rows
from reportgen.kinds.base import Context, Kind, KindResult, SummaryPart
from reportgen.kinds.cells import model_cell
from reportgen.model import Cell, Figure, RunInfo, Section, Table, chart
from reportgen.stats.score import Score

MAX_CELLS = 100  # grid cells drawn per axis and model
MAX_POINTS = 1_000  # test points overlaid per model
MAX_HELD = 12  # held feature values named in the section's lead


@dataclass
class BoundaryModel:
    """One model's grid, its class per node, and its examples placed on the grid."""

    name: str
    grid: Grid
    codes: np.ndarray  # (ny, nx) class code per node
    confidence: np.ndarray  # (ny, nx)
    x: np.ndarray  # every example's two feature values (empty without the columns)
    y: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    inside: np.ndarray  # bool: the example lies within the grid (half a step around it)
    at_node: np.ndarray  # its nearest node's class code (-1 outside)
    agreement: float | None  # share of inside examples whose prediction is the node's class
    disagreement: float | None = None  # share of nodes differing from the baseline's
    differs: np.ndarray | None = None  # (ny, nx): 0 same, 1/2 differing (see differ_codes)
    note: str = ""


@dataclass
class BoundaryResult(KindResult):
    items: list[BoundaryModel] = field(default_factory=list)
    features: tuple[str, str] = ("x0", "x1")
    classes: tuple[str, ...] = ()
    binary: bool = True  # drawn by score: a binary run, every grid a score grid
    two_classes: bool = True  # a binary run: disagreement says which side each model takes
    threshold: float = 0.5
    held: dict[str, Any] = field(default_factory=dict)
    ids: dict[str, np.ndarray | None] = field(default_factory=dict)


def nearest_nodes(grid: Grid, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each point's nearest node as a flat index into the (ny, nx) grid, and whether it lies
    within the grid (at most half a step beyond its outer nodes)."""
    dx, dy = grid.xs[1] - grid.xs[0], grid.ys[1] - grid.ys[0]
    u, v = (x - grid.xs[0]) / dx, (y - grid.ys[0]) / dy
    nx, ny = grid.shape
    inside = (u >= -0.5) & (u <= nx - 0.5) & (v >= -0.5) & (v <= ny - 0.5)
    i = np.clip(np.rint(u), 0, nx - 1).astype(np.int64)
    j = np.clip(np.rint(v), 0, ny - 1).astype(np.int64)
    return j * nx + i, inside


def differ_codes(candidate: np.ndarray, baseline: np.ndarray, positive: int | None) -> np.ndarray:
    """Per node: 0 where both decide alike; binary: 1 positive for the candidate only, 2 for
    the baseline only; multiclass: 1 where the classes differ."""
    differs = candidate != baseline
    if positive is None:
        return differs.astype(np.int8)
    return np.where(differs, np.where(candidate == positive, 1, 2), 0).astype(np.int8)


def strides(grid: Grid) -> tuple[int, int]:
    """Every k-th node drawn along each axis, so that at most MAX_CELLS are."""
    nx, ny = grid.shape
    return math.ceil(nx / MAX_CELLS), math.ceil(ny / MAX_CELLS)


def place(
    name: str, grid: Grid, encoded: Any, features: tuple[str, str], threshold: float
) -> BoundaryModel:
    """A model's grid classes and its examples on the grid."""
    codes, confidence = grid.classes_at(encoded.classes, encoded.positive, threshold)
    run = encoded.run
    x, y = (feature_values(run, f) for f in features)
    if x is None or y is None:
        lacking = features[0] if x is None else features[1]
        empty = np.zeros(0)
        return BoundaryModel(
            name,
            grid,
            codes,
            confidence,
            empty,
            empty,
            empty.astype(int),
            empty.astype(int),
            empty.astype(bool),
            empty.astype(int),
            None,
            note=f"{name}: the run has no column {lacking!r}, so its examples are not drawn; "
            "add both feature columns to the run file to overlay them.",
        )
    flat, inside = nearest_nodes(grid, x, y)
    at_node = np.where(inside, codes.reshape(-1)[flat], -1)
    agree = at_node[inside] == encoded.y_pred[inside]
    return BoundaryModel(
        name,
        grid,
        codes,
        confidence,
        x,
        y,
        encoded.y_true,
        encoded.y_pred,
        inside,
        at_node,
        float(agree.mean()) if agree.size else None,
    )


class BoundaryKind(Kind):
    """Decision-boundary grids of classification runs (``--boundary NAME=PATH``)."""

    name = "boundary"
    title = "Decision boundaries"
    board = "boundary"
    board_title = "Decision boundaries (2-D slice)"
    before_section = "errors"
    reads = ("classification",)
    options = ("boundary",)
    compares = False

    def evaluate(self, runs: list[Any], ctx: Context) -> BoundaryResult | None:
        options = ctx.options
        if not options.boundary:
            return None
        found = ctx.result("classification")
        evaluations = {} if found is None else {e.name: e for e in found.evaluations}  # type: ignore[attr-defined]
        grids = _grids(ctx, evaluations)
        features = options.boundary_features or _features(grids)
        threshold = options.threshold if options.threshold is not None else 0.5
        if found is None:
            return None
        order = [n for n in evaluations if n in grids]
        items = [place(n, grids[n], evaluations[n].encoded, features, threshold) for n in order]
        baseline = ctx.baseline_among(order)
        base = next(m for m in items if m.name == baseline)
        first = evaluations[order[0]].encoded
        for item in items:
            if item.name == baseline:
                continue
            same = item.grid.xs.shape == base.grid.xs.shape and item.grid.ys.shape == (
                base.grid.ys.shape
            )
            if (
                same
                and np.allclose(item.grid.xs, base.grid.xs)
                and np.allclose(item.grid.ys, base.grid.ys)
            ):
                item.differs = differ_codes(item.codes, base.codes, first.positive)
                item.disagreement = float(np.mean(item.differs > 0))
            else:
                item.note = (
                    f"{item.name}: its grid is not on the baseline's axes, so it has no "
                    "disagreement map; write both grids over the same x0 and x1 values."
                )
        held = next((g.held for g in grids.values() if g.held), {})
        return BoundaryResult(
            kind=self.name,
            baseline=baseline,
            models=order,
            items=items,
            features=features,
            classes=first.classes,
            binary=first.positive is not None and all(g.score is not None for g in grids.values()),
            two_classes=first.positive is not None,
            threshold=threshold,
            held=held,
            ids={n: evaluations[n].encoded.run.ids for n in order},
        )

    def scores(self, result: BoundaryResult) -> list[Score]:
        found = []
        for m in result.items:
            inside = int(m.inside.sum())
            found.append(
                Score(
                    m.name,
                    self.name,
                    "slice_agreement",
                    m.agreement,
                    result.baseline,
                    n=inside,
                    reason=None if m.agreement is not None else "no examples within the grid",
                )
            )
            if m.name != result.baseline and m.differs is not None:
                found.append(
                    Score(
                        m.name,
                        self.name,
                        "boundary_disagreement",
                        m.disagreement,
                        result.baseline,
                        n=int(m.differs.size),
                    )
                )
        return found

    def run_infos(self, result: BoundaryResult, ctx: Context) -> list[RunInfo]:
        return []  # the classification runs are listed by their own kind

    def summary(self, result: BoundaryResult) -> SummaryPart:
        models = {
            m.name: {
                "path": str(m.grid.path),
                "grid": list(m.grid.shape),
                "slice_agreement": m.agreement,
                "examples_within_grid": int(m.inside.sum()),
                "examples_placed": int(m.inside.size),
                "disagreement_with_baseline": m.disagreement,
            }
            for m in result.items
        }
        top = {
            "features": list(result.features),
            "held": result.held,
            "baseline": result.baseline,
            "threshold": result.threshold if result.binary else None,
            "models": models,
        }
        return SummaryPart(top={"boundary": top})

    def sections(self, result: BoundaryResult, ctx: Context) -> list[Section]:
        return [boundary_section(result, ctx)]


def _held_text(held: dict[str, Any]) -> str:
    if not held:
        return (
            "the grid's metadata does not say at which values the other features were held "
            '(add "held" to its .meta.json).'
        )
    shown = list(held.items())[:MAX_HELD]
    parts = ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}" for k, v in shown)
    more = f" and {len(held) - MAX_HELD:,} more (in the JSON)" if len(held) > MAX_HELD else ""
    return f"every other feature was held at one value: {parts}{more}."


def _cells(item: BoundaryModel, binary: bool) -> tuple[pd.DataFrame, list[float]]:
    """The drawn cells of a model (every k-th node, row-major from the lowest x1) and its axes
    [x first, x step, columns, y first, y step, rows]."""
    sx, sy = strides(item.grid)
    xs, ys = item.grid.xs[::sx], item.grid.ys[::sy]
    if binary and item.grid.score is not None:
        frame = pd.DataFrame({"v": np.round(item.grid.score[::sy, ::sx].reshape(-1), 3)})
    else:
        frame = pd.DataFrame(
            {
                "v": item.codes[::sy, ::sx].reshape(-1),
                "c": np.round(item.confidence[::sy, ::sx].reshape(-1), 2),
            }
        )
    # at least 2 nodes per axis remain: a stride is below the axis's length
    axes = [
        float(xs[0]),
        float(xs[1] - xs[0]),
        len(xs),
        float(ys[0]),
        float(ys[1] - ys[0]),
        len(ys),
    ]
    return frame.assign(model=item.name), axes


def _points(item: BoundaryModel, result: BoundaryResult, seed: int) -> pd.DataFrame:
    within = np.flatnonzero(item.inside)
    rows = within[sample_rows(len(within), MAX_POINTS, seed)]
    ids = result.ids.get(item.name)
    ident = rows + 1 if ids is None else np.asarray(ids)[rows]
    if ident.dtype.kind not in "iu":
        ident = ident.astype(str)
    names = np.array(result.classes, dtype=object)
    return pd.DataFrame(
        {
            "model": item.name,
            "x": np.round(item.x[rows], 6),
            "y": np.round(item.y[rows], 6),
            "cls": names[item.y_true[rows]],
            "wrong": np.where(item.y_true[rows] == item.y_pred[rows], "right", "wrong"),
            "id": ident,
        }
    )


def boundary_section(result: BoundaryResult, ctx: Context) -> Section:
    f0, f1 = result.features
    drawn = [m for m in result.items if ctx.draws(m.name)]
    models = [m.name for m in drawn]
    colours = [ctx.colours[m] for m in models]
    cells, axes = zip(*(_cells(m, result.binary) for m in drawn), strict=True)
    points = pd.concat([_points(m, result, ctx.options.seed) for m in drawn], ignore_index=True)
    grid_axes = dict(zip(models, axes, strict=True))
    shading = (
        f"shading is the positive-class score (white at the threshold {result.threshold:g})"
        if result.binary
        else "shading is the class the model predicts there, deeper where it is more confident"
    )
    figures = [
        Figure(
            "boundary-maps",
            f"Decision regions over {f0} and {f1}",
            chart(
                "boundary_panels",
                pd.concat(cells, ignore_index=True),
                points,
                grid_axes,
                models,
                colours,
                list(result.classes),
                f0,
                f1,
                result.binary,
                result.threshold,
            ),
            lead=f"The {shading}; points are test examples, coloured by their true class, "
            "crosses where the model's own prediction is wrong.",
            raster=True,
        )
    ]
    candidates = [m for m in drawn if m.differs is not None]
    if candidates:
        frames = []
        for m in candidates:
            sx, sy = strides(m.grid)
            frames.append(pd.DataFrame({"model": m.name, "v": m.differs[::sy, ::sx].reshape(-1)}))
        names = [m.name for m in candidates]
        figures.append(
            Figure(
                "boundary-disagreement",
                f"Where each candidate and {result.baseline} disagree",
                chart(
                    "disagreement_panels",
                    pd.concat(frames, ignore_index=True),
                    {n: grid_axes[n] for n in names},
                    names,
                    [ctx.colours[n] for n in names],
                    f0,
                    f1,
                    result.two_classes,
                ),
                lead="Marked cells are grid points where the candidate decides otherwise than "
                f"the baseline ({result.baseline}); blank ones where both agree.",
                raster=True,
            )
        )
    rows = []
    for m in result.items:
        sx, sy = strides(m.grid)
        nx, ny = m.grid.shape
        rows.append(
            [
                model_cell(m.name, ctx.colours),
                Cell(f"{nx:,} x {ny:,}", role="num"),
                Cell(f"{math.ceil(nx / sx):,} x {math.ceil(ny / sy):,}", role="num"),
                Cell(f"{fmt.count(int(m.inside.sum()))} of {fmt.count(m.inside.size)}", role="num"),
                Cell(fmt.rate(m.agreement), role="num", undefined=m.agreement is None),
                Cell(
                    fmt.rate(m.disagreement) if m.name != result.baseline else "baseline",
                    role="num",
                    undefined=m.disagreement is None and m.name != result.baseline,
                ),
            ]
        )
    table = Table(
        ["Model", "Grid", "Drawn", "Examples within", "Slice agreement", "Disagreement"],
        rows,
        title="Decision-boundary grids",
        lead=True,
        caption="Slice agreement: the share of the run's examples within the grid whose "
        "prediction is the grid's class at the nearest grid point (1 when the two features "
        "decide alone). Disagreement: the share of grid points where the candidate's class "
        "differs from the baseline's. Both use the full grid and every example.",
        numeric=[False, True, True, True, True, True],
    )
    section = Section(
        "boundary",
        "Decision boundaries",
        lead=f"How each model divides the plane of {f0} and {f1}. This is a 2-D slice, not "
        f"the whole model: {_held_text(result.held)} The page draws at most {MAX_CELLS} x "
        f"{MAX_CELLS} grid cells (every k-th point of a finer grid) and at most "
        f"{MAX_POINTS:,} test examples per model (a deterministic sample, seed "
        f"{ctx.options.seed}).",
        tables=[table],
        figures=figures,
    )
    if result.baseline != ctx.baseline:
        section.notes.insert(
            0,
            f"The report's baseline {ctx.baseline} has no grid: disagreement is measured "
            f"against {result.baseline}, the first model with one.",
        )
    section.notes += [m.note for m in result.items if m.note]
    return section


def _grids(ctx: Context, evaluations: dict[str, Any]) -> dict[str, Grid]:
    grids: dict[str, Grid] = {}
    for given in BOUNDARY.file_arguments(
        ctx,
        list(evaluations),
        of="classification",
        why="decision boundaries are drawn for classification runs",
        twice="{name!r} has a grid already ({path}); give one grid per model",
    ):
        with given.named():
            grids[given.name] = load_grid(given.path, given.name)
    return grids


def _features(grids: dict[str, Grid]) -> tuple[str, str]:
    named = {g.features for g in grids.values() if g.features is not None}
    if len(named) > 1:
        first, second = sorted(named)[:2]
        raise ReportgenError(
            f"--boundary: the grids slice different features ({', '.join(first)} and "
            f"{', '.join(second)}); models are drawn side by side, so give grids over the "
            "same two features"
        )
    if not named:
        path = next(iter(grids.values())).path
        raise ReportgenError(
            f"--boundary: which features are x0 and x1? give --boundary-features F0,F1, or "
            f'"features": ["F0", "F1"] in {path}.meta.json'
        )
    return named.pop()


BOUNDARY = BoundaryKind()
