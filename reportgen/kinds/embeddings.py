"""Embedding-space views of classification runs: a deterministic sample, its 2-D projections
(PCA and t-SNE, scikit-learn) and how well the true classes separate (silhouette).

Only the sampled rows are ever parsed or read (:mod:`reportgen.ingest.vectors`), so a run of
millions of vectors costs what the sample costs.

Silhouette of example i (Rousseeuw 1987): s_i = (b_i − a_i) / max(a_i, b_i), with a_i the mean
distance to its own class and b_i the smallest mean distance to another class; the score is
the mean over the sample (``sklearn.metrics.silhouette_score``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reportgen import formatting as fmt
from reportgen.errors import ReportgenError
from reportgen.ingest.folders import check_regular_file
from reportgen.ingest.projector import projector_matrix, projector_vectors
from reportgen.ingest.vectors import EmbeddingSource, read_rows, sample_rows
from reportgen.kinds.base import (
    Context,
    Kind,
    KindResult,
    SummaryPart,
    drawn_models,
    drawn_note,
)
from reportgen.kinds.cells import (
    best_index,
    model_cell,
)
from reportgen.kinds.classification.evaluate import HEADLINE
from reportgen.model import Cell, Figure, Section, Table, chart
from reportgen.stats.score import Score
from reportgen.stats.slicing import OTHER

MAX_LABEL_ROWS = 30  # classes in the per-class silhouette chart
MAX_PROJECTION_CLASSES = 10  # charts.kinds.CLASS_PALETTE's size; rarer classes pooled as "(other)"
ROBUST_PAD = 0.5  # projection axes: the 1st-99th percentile span widened by this share
TSNE_INPUT_DIMS = 50  # PCA first, as van der Maaten recommends: faster, less noise
TSNE_ITERATIONS = 500


@dataclass
class Projection:
    """One run's sample: rows, 2-D coordinates, true and predicted class codes, silhouettes."""

    name: str
    rows: np.ndarray
    pca: np.ndarray  # (m, 2)
    tsne: np.ndarray | None  # (m, 2); None when the sample is too small
    y_true: np.ndarray
    y_pred: np.ndarray
    silhouette: np.ndarray | None  # per sampled example; None with fewer than 2 classes
    dims: int
    n_examples: int
    explained: tuple[float, float]  # PCA's explained variance ratio of the two axes
    notes: list[str]

    @property
    def silhouette_score(self) -> float | None:
        return None if self.silhouette is None else float(self.silhouette.mean())


def project(
    name: str,
    vectors: np.ndarray,
    rows: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    n_examples: int,
    seed: int,
) -> Projection:
    """PCA and t-SNE of the sampled vectors, and their silhouettes by true class."""
    # imported here: scikit-learn's manifold module costs a second at start-up
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from sklearn.metrics import silhouette_samples

    m, dims = vectors.shape
    notes = []
    if m >= 2 and float(np.ptp(vectors, axis=0).max(initial=0.0)) == 0.0:
        raise ReportgenError(
            f"{name}: every sampled embedding is the same vector (all zero or constant); "
            "there is nothing to project: check that the vectors were written"
        )
    pca = PCA(n_components=2, svd_solver="full").fit(vectors) if m >= 2 and dims >= 2 else None
    if pca is None:
        raise ReportgenError(
            f"{name}: embeddings need at least 2 examples and 2 dimensions to project "
            f"(found {m} x {dims})"
        )
    coords = pca.transform(vectors)
    tsne = None
    if m >= 5:
        reduced = vectors
        if dims > TSNE_INPUT_DIMS and m > TSNE_INPUT_DIMS:
            reduced = PCA(n_components=TSNE_INPUT_DIMS, svd_solver="full").fit_transform(vectors)
        tsne = TSNE(
            n_components=2,
            init="pca",
            perplexity=float(min(30.0, (m - 1) / 3)),
            max_iter=TSNE_ITERATIONS,
            random_state=seed,
        ).fit_transform(reduced)
    else:
        notes.append("t-SNE skipped: fewer than 5 examples.")
    silhouette = None
    classes = np.unique(y_true)
    if 2 <= len(classes) <= m - 1:
        silhouette = silhouette_samples(vectors, y_true)
    else:
        notes.append("Silhouette undefined: the sample needs at least two true classes.")
    ratio = pca.explained_variance_ratio_
    return Projection(
        name=name,
        rows=rows,
        pca=coords,
        tsne=tsne,
        y_true=y_true,
        y_pred=y_pred,
        silhouette=silhouette,
        dims=dims,
        n_examples=n_examples,
        explained=(float(ratio[0]), float(ratio[1])),
        notes=notes,
    )


def _projection_points(
    projections: Sequence[Projection], classes: Sequence[str], ids: dict[str, np.ndarray | None]
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    counts = np.bincount(np.concatenate([p.y_true for p in projections]), minlength=len(classes))
    order = np.argsort(-counts, kind="stable")
    keep = [classes[k] for k in order if counts[k] > 0]
    if len(keep) > MAX_PROJECTION_CLASSES:
        keep = keep[: MAX_PROJECTION_CLASSES - 1]
    kept = set(keep)
    shown_classes = [c for c in classes if c in kept]
    pooled = any(classes[k] not in kept for k in order if counts[k] > 0)
    if pooled:
        shown_classes.append(OTHER)
    pca_frames, tsne_frames = [], []
    for p in projections:
        names = np.array([c if c in kept else OTHER for c in classes], dtype=object)[p.y_true]
        run_ids = ids.get(p.name)
        ident = p.rows + 1 if run_ids is None else np.asarray(run_ids)[p.rows]
        if ident.dtype.kind not in "iu":
            ident = ident.astype(str)
        common = {
            "model": p.name,
            "cls": names,
            "wrong": np.where(p.y_true == p.y_pred, "right", "wrong"),
            "id": ident,
        }
        pca_frames.append(_panel_points(common, p.pca))
        if p.tsne is not None:
            tsne_frames.append(_panel_points(common, p.tsne))
    tsne = pd.concat(tsne_frames, ignore_index=True) if tsne_frames else pd.DataFrame()
    return pd.concat(pca_frames, ignore_index=True), tsne, shown_classes


def _panel_points(common: dict[str, object], coords: np.ndarray) -> pd.DataFrame:
    (x, x_out), (y, y_out) = _unit(coords[:, 0]), _unit(coords[:, 1])
    return pd.DataFrame({**common, "x": x, "y": y, "outside": x_out | y_out})


def _unit(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates rescaled to [0, 1] between robust limits, rounded to 3 decimals
    (projections have no units, and fewer digits keep the page small), and which points lay
    outside the limits. The limits are the 1st and 99th percentiles widened by half
    their span on each side, never past the data: one far outlier no longer squeezes every
    other point into a line. Points outside are pinned to the frame's edge."""
    values = values.astype(np.float64)  # t-SNE returns float32, whose decimals print long
    q_low, q_high = np.percentile(values, [1.0, 99.0])
    pad = ROBUST_PAD * (q_high - q_low)
    low = max(float(values.min()), q_low - pad)
    high = min(float(values.max()), q_high + pad)
    outside = (values < low) | (values > high)
    scaled = (np.clip(values, low, high) - low) / (high - low if high > low else 1.0)
    return np.round(scaled, 3), outside


def _outside_note(points: pd.DataFrame, models: Sequence[str]) -> str:
    counts = points.groupby("model", sort=False)["outside"].sum()
    if not counts.any():
        return ""
    parts = ", ".join(f"{m} {int(counts.get(m, 0)):,}" for m in models)
    return (
        " Axes span the 1st to 99th percentile and half as much again each side; points beyond "
        f"them are pinned to the frame's edge ({parts})."
    )


def embedding_section(
    projections: Sequence[Projection],
    classes: Sequence[str],
    colours: dict[str, str],
    ids: dict[str, np.ndarray | None],
    seed: int,
) -> Section:
    models = [p.name for p in projections]
    model_colours = [colours[m] for m in models]
    pca, tsne, shown_classes = _projection_points(projections, classes, ids)
    figures = [
        Figure(
            "embedding-pca",
            "PCA of the embeddings",
            chart("projection_panels", pca, models, model_colours, shown_classes, "PCA"),
            lead="The two directions of largest variance; tight, separate colour groups mean "
            "the embedding already separates the classes linearly. Crosses are misclassified."
            + _outside_note(pca, models),
            raster=True,
        )
    ]
    if len(tsne):
        tsne_models = list(dict.fromkeys(tsne["model"]))
        figures.append(
            Figure(
                "embedding-tsne",
                "t-SNE of the embeddings",
                chart(
                    "projection_panels",
                    tsne,
                    tsne_models,
                    [colours[m] for m in tsne_models],
                    shown_classes,
                    "t-SNE",
                ),
                lead="Neighbourhoods preserved, distances between clusters not: read which "
                "classes mix, not how far apart clusters are." + _outside_note(tsne, tsne_models),
                raster=True,
            )
        )
    rows, table_rows = [], []
    for p in projections:
        if p.silhouette is None:
            continue
        for k in np.unique(p.y_true):
            mask = p.y_true == k
            rows.append(
                {
                    "model": p.name,
                    "cls": classes[k],
                    "silhouette": round(float(p.silhouette[mask].mean()), 4),
                    "n": int(mask.sum()),
                }
            )
        rows.append(
            {
                "model": p.name,
                "cls": "(all classes)",
                "silhouette": round(float(p.silhouette_score or 0.0), 4),
                "n": len(p.rows),
            }
        )
    scores = [p.silhouette_score for p in projections]
    best = best_index(scores, "silhouette")
    for i, p in enumerate(projections):
        table_rows.append(
            [
                model_cell(p.name, colours),
                Cell(f"{fmt.count(len(p.rows))} of {fmt.count(p.n_examples)}", role="num"),
                Cell(fmt.count(p.dims), role="num"),
                Cell(fmt.rate(p.silhouette_score), role="num", best=i in best),
                Cell(fmt.percent(p.explained[0] + p.explained[1]), role="num"),
                Cell(fmt.rate(float(np.mean(p.y_true == p.y_pred))), role="num"),
            ]
        )
    table = Table(
        ["Model", "Sampled", "Dimensions", "Silhouette", "PCA variance (2 axes)", "Accuracy"],
        table_rows,
        title="Separation of the true classes",
        lead=True,
        caption="Silhouette (Rousseeuw 1987) of the true classes in the full embedding space "
        "(Euclidean), on the sample: from −1 (mixed) through 0 (overlapping) to 1 (well "
        "separated). Accuracy on the same sample.",
        numeric=[False, True, True, True, True, True],
    )
    if rows:
        frame = pd.DataFrame(rows)
        order = ["(all classes)", *[c for c in classes if c in set(frame["cls"])]][:MAX_LABEL_ROWS]
        frame = frame[frame["cls"].isin(order)]
        figures.append(
            Figure(
                "embedding-separation",
                "Separation of each class (silhouette)",
                chart("separation_chart", frame, order, models, model_colours),
                lead="Further right is better separated; a class left of zero sits closer to "
                "another class than to itself.",
            )
        )
    section = Section(
        "embeddings",
        "Embedding space",
        lead="How each model's embeddings arrange the examples, on a deterministic sample "
        f"(seed {seed}) of at most {max(len(p.rows) for p in projections):,} examples per model.",
        tables=[table],
        figures=figures,
    )
    for p in projections:
        section.notes += [f"{p.name}: {n}" for n in p.notes]
    return section


@dataclass
class EmbeddingsResult(KindResult):
    projections: list[Projection] = field(default_factory=list)
    classes: tuple[str, ...] = ()
    ids: dict[str, np.ndarray | None] = field(default_factory=dict)
    note: str = ""  # which models were projected, when not every one was


class EmbeddingsKind(Kind):
    """Embedding views of classification runs that carry vectors (an ``embedding`` column or
    ``--embeddings NAME=PATH.npy``), drawn just before the classification error examples."""

    name = "embeddings"
    title = "Embeddings"
    board = "classification"
    before_section = "errors"
    reads = ("classification",)  # a view of the classification runs
    options = ("embeddings",)

    def evaluate(self, runs: list[Any], ctx: Context) -> EmbeddingsResult | None:
        found = ctx.result("classification")
        if found is None:
            _attach(ctx, {})  # still check the --embeddings arguments
            return None
        evaluations = found.evaluations  # type: ignore[attr-defined]
        sources = _attach(ctx, {e.name: e.encoded.run for e in evaluations})
        having = [e for e in evaluations if sources.get(e.name) is not None]
        # project only the models the classification charts draw (t-SNE takes seconds each)
        metric = HEADLINE[found.task][0]
        drawn = drawn_models([e.name for e in having], found.baseline, found.scores, metric)
        note = drawn_note(drawn, [e.name for e in having], metric) if drawn else ""
        having = [e for e in having if drawn is None or e.name in drawn]
        if not having:
            return None
        options = ctx.options
        ctx.say(
            f"Projecting embeddings (PCA, t-SNE on at most {options.max_points:,} examples per run)"
        )

        def one(evaluation: Any) -> Projection:
            encoded = evaluation.encoded
            run = encoded.run
            rows = sample_rows(run.n_examples, options.max_points, options.seed)
            vectors = read_rows(sources[run.name], rows, run.n_examples)
            return project(
                run.name,
                vectors,
                rows,
                encoded.y_true[rows],
                encoded.y_pred[rows],
                run.n_examples,
                options.seed,
            )

        # one at a time: t-SNE already uses every core (OpenMP), and two at once contend
        projections = [one(e) for e in having]
        return EmbeddingsResult(
            kind=self.name,
            baseline=found.baseline,
            models=[p.name for p in projections],
            projections=projections,
            classes=evaluations[0].encoded.classes,
            ids={e.name: e.encoded.run.ids for e in evaluations},
            note=note,
        )

    def sections(self, result: EmbeddingsResult, ctx: Context) -> list[Section]:
        found = embedding_section(
            result.projections, result.classes, ctx.colours, result.ids, ctx.options.seed
        )
        if result.note:
            found.notes.insert(0, result.note)
        return [found]

    def scores(self, result: EmbeddingsResult) -> list[Score]:
        return [
            Score(
                p.name,
                self.name,
                "silhouette",
                p.silhouette_score,
                result.baseline,
                n=len(p.rows),
                reason=None if p.silhouette_score is not None else "fewer than two classes",
            )
            for p in result.projections
        ]

    def summary(self, result: EmbeddingsResult) -> SummaryPart:
        patches = {
            p.name: {
                "embedding": {
                    "sampled": len(p.rows),
                    "dimensions": p.dims,
                    "silhouette": p.silhouette_score,
                    "pca_explained_variance": list(p.explained),
                }
            }
            for p in result.projections
        }
        return SummaryPart(patches=patches)


def _attach(ctx: Context, runs: dict[str, Any]) -> dict[str, EmbeddingSource | None]:
    """Each classification run's vectors: its embedding column, or ``--embeddings NAME=PATH``
    (a later value for a run replaces an earlier one)."""
    sources = {name: run.embedding for name, run in runs.items()}
    for given in EMBEDDINGS.file_arguments(
        ctx,
        list(runs),
        of="classification",
        why="embedding views colour examples by true class, so they need a classification run",
        twice=None,
        example="v2=runs/v2.npy",
    ):
        path = given.path
        vectors = projector_vectors(path)  # Embedding Projector TSVs (or their folder)
        with given.named():
            check_regular_file(vectors or path, "embeddings")  # a FIFO would block forever
        if vectors is not None:
            run = runs[given.name]
            matrix = projector_matrix(vectors, run.ids, run.n_examples)
            sources[given.name] = EmbeddingSource(str(vectors), matrix=matrix)
            continue
        if path.suffix.lower() != ".npy":
            raise given.error(
                f"{path} is not a .npy file nor Embedding Projector vectors (vectors.tsv, with "
                "metadata.tsv beside it); save the n x d array with numpy.save, or put the "
                "vectors in an 'embedding' column of the run file"
            )
        sources[given.name] = EmbeddingSource(str(path), npy=path)
    return sources


EMBEDDINGS = EmbeddingsKind()
