"""Decide what the runs are (binary or multiclass), on which classes, and encode them.

Runs of one report share one class list, so that confusion matrices and per-class tables line
up across models. Class codes index into that list.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from reportgen import formatting as fmt
from reportgen.errors import ReportgenError
from reportgen.ingest.runs import Categorical, Run, check_classes, sort_classes
from reportgen.kinds.classification.statistics import TopKCounts, top_class

Task = Literal["binary", "multiclass"]
POSITIVE_CANDIDATES = ("1", "true", "yes", "pos", "positive")


@dataclass
class EncodedRun:
    """A run with labels and predictions as codes into the report's shared ``classes``."""

    run: Run
    task: Task
    classes: tuple[str, ...]
    positive: int | None  # index of the positive class (binary only)
    y_true: np.ndarray  # int64 codes
    y_pred: np.ndarray  # int64 codes
    scores: np.ndarray | None  # binary: (n,) positive-class score; multiclass: (n, K)
    prediction_source: str  # how y_pred was obtained, for the page
    notes: list[str] = field(default_factory=list)
    # per-row values derived from the scores, made once per run (see :meth:`top`)
    derived: dict[str, np.ndarray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    # sorted copies of per-row values (not row-aligned: a subset sorts its own)
    ordered: dict[str, np.ndarray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def name(self) -> str:
        return self.run.name

    def sorted_scores(self) -> np.ndarray:
        """Binary: the scores in ascending order, sorted once per run (the rank counts and
        the bootstrap's score bins both start from them)."""
        if "scores" not in self.ordered:
            assert self.scores is not None and self.scores.ndim == 1
            self.ordered["scores"] = np.sort(self.scores)
        return self.ordered["scores"]

    def sorted_top(self) -> np.ndarray:
        """Multiclass: each row's top score (:meth:`top`), in ascending order, sorted once."""
        if "top_value" not in self.ordered:
            self.ordered["top_value"] = np.sort(self.top()[1])
        return self.ordered["top_value"]

    def top(self) -> tuple[np.ndarray, np.ndarray]:
        """Multiclass: each row's highest-scoring class and that score
        (:func:`~reportgen.kinds.classification.statistics.top_class`), made once: the
        metrics, the calibration bins and the bootstrap cells all read them."""
        if "top" not in self.derived:  # two threads may both make it: the same arrays
            assert self.scores is not None
            index, value = top_class(self.scores)
            self.derived["top_value"] = value  # first: "top" present means both are
            self.derived["top"] = index
        return self.derived["top"], self.derived["top_value"]

    def top2_hits(self) -> np.ndarray:
        """Multiclass: is each row's true class among its two highest scores? Made once."""
        if "top2" not in self.derived:
            assert self.scores is not None
            self.derived["top2"] = TopKCounts.hit_mask(self.y_true, self.scores, 2)
        return self.derived["top2"]

    def subset(self, rows: np.ndarray) -> EncodedRun:
        """The same run restricted to (and reordered as) ``rows``."""
        if len(rows) == len(self.y_true) and np.array_equal(rows, np.arange(len(rows))):
            return self  # every row, in order: no copy
        picked = dataclasses.replace(
            self,
            y_true=self.y_true[rows],
            y_pred=self.y_pred[rows],
            scores=None if self.scores is None else _rows_of(self.scores, rows),
        )
        picked.derived.update({name: values[rows] for name, values in self.derived.items()})
        return picked


def _rows_of(scores: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``scores[rows]``, a class-score matrix kept column-major (as :func:`_class_score_matrix`
    makes it: per-class passes and sorts read contiguous columns)."""
    if scores.ndim == 1:
        return scores[rows]
    picked = np.empty((len(rows), scores.shape[1]), dtype=scores.dtype, order="F")
    for k in range(scores.shape[1]):
        np.take(scores[:, k], rows, out=picked[:, k])
    return picked


def detect_task(runs: Sequence[Run], classes: Sequence[str], task: str | None) -> Task:
    many_scores = any(len(run.class_scores) > 2 for run in runs)
    if task is None:
        return "multiclass" if len(classes) > 2 or many_scores else "binary"
    if task not in ("binary", "multiclass"):
        raise ReportgenError(f"--task {task!r} is not known; use binary or multiclass")
    if task == "binary" and len(classes) > 2:
        raise ReportgenError(
            f"--task binary, but the runs have {len(classes)} classes "
            f"({', '.join(classes[:5])}{', ...' if len(classes) > 5 else ''}); "
            "use --task multiclass"
        )
    return task  # type: ignore[return-value]


def choose_positive(classes: Sequence[str], positive_label: str | None) -> str:
    if positive_label is not None:
        if positive_label not in classes:
            raise ReportgenError(
                f"--positive-label {positive_label!r} is not a class of the runs; "
                f"classes are: {', '.join(classes)}"
            )
        return positive_label
    for candidate in POSITIVE_CANDIDATES:
        for name in classes:
            if name.lower() == candidate:
                return name
    raise ReportgenError(
        f"cannot tell which class is positive among {', '.join(classes)}; "
        "pass --positive-label with one of them"
    )


def _codes(categorical: Categorical, index: dict[str, int]) -> np.ndarray:
    lookup = np.array([index[v] for v in categorical.values], dtype=np.int64)
    return lookup[categorical.codes]


def encode_runs(
    runs: Sequence[Run],
    task: str | None = None,
    positive_label: str | None = None,
    threshold: float | None = None,
) -> list[EncodedRun]:
    """Resolve the task, shared classes and positive class, and encode every run.

    ``threshold`` (binary) re-derives predictions from scores as ``score >= threshold`` even
    where a prediction column exists; without it a prediction column wins and scores are
    thresholded at 0.5 only when there is none.
    """
    if not runs:
        raise ReportgenError("no runs given; pass at least one run file")
    names = [run.name for run in runs if run.repeat is None]  # repeats share their name
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ReportgenError(
            f"two runs are named {duplicates[0]!r}; name them apart with NAME=PATH"
        )
    runs = _unify_booleans(runs)
    seen: set[str] = set()
    for run in runs:
        seen |= run.classes_seen
    if positive_label is not None and len(seen) < 2:
        # single-class data: the named positive class is real even if no example has it
        seen.add(positive_label)
    widest = max(runs, key=lambda run: len(run.classes_seen))
    check_classes(len(seen), widest.path)
    classes = sort_classes(seen)
    resolved = detect_task(runs, classes, task)
    positive = None
    if resolved == "binary":
        positive = classes.index(choose_positive(classes, positive_label))
    index = {name: i for i, name in enumerate(classes)}
    return [_encode(run, resolved, classes, index, positive, threshold) for run in runs]


BOOLEAN_SPELLINGS = {"true": "1", "false": "0"}


def _unify_booleans(runs: Sequence[Run]) -> list[Run]:
    """Runs that write binary classes as True/False next to runs that write 0/1 hold the same
    classes: the boolean runs are relabelled 1/0 (class names and score columns)."""
    spelled = [{v.lower() for v in run.classes_seen} <= set(BOOLEAN_SPELLINGS) for run in runs]
    numeric = [run.classes_seen <= {"0", "1"} for run in runs]
    either = all(a or b for a, b in zip(spelled, numeric, strict=True))
    if not any(spelled) or not any(numeric) or not either:
        return list(runs)
    found = []
    for run, boolean in zip(runs, spelled, strict=True):
        if not boolean or run.classes_seen <= {"0", "1"}:
            found.append(run)
            continue

        def renamed(values: Categorical | None) -> Categorical | None:
            if values is None:
                return None
            names = tuple(BOOLEAN_SPELLINGS[v.lower()] for v in values.values)
            return Categorical(values.codes, names)

        found.append(
            dataclasses.replace(
                run,
                labels=renamed(run.labels),
                predictions=renamed(run.predictions),
                class_scores={
                    BOOLEAN_SPELLINGS.get(k.lower(), k): v for k, v in run.class_scores.items()
                },
            )
        )
    return found


def _encode(
    run: Run,
    task: Task,
    classes: tuple[str, ...],
    index: dict[str, int],
    positive: int | None,
    threshold: float | None,
) -> EncodedRun:
    y_true = _codes(run.labels, index)
    notes: list[str] = []
    scores: np.ndarray | None
    if task == "binary":
        assert positive is not None
        scores = run.score
        if scores is None and classes[positive] in run.class_scores:
            scores = run.class_scores[classes[positive]]
        elif scores is None and run.class_scores:
            raise ReportgenError(
                f"{run.path}: has score columns for {', '.join(run.class_scores)} but none for "
                f"the positive class {classes[positive]!r}; add prob_{classes[positive]}"
            )
    else:
        scores = _class_score_matrix(run, classes)

    if run.predictions is not None and (threshold is None or scores is None):
        y_pred = _codes(run.predictions, index)
        source = f"column {run.columns['prediction']!r}"
        if threshold is not None:
            notes.append("--threshold ignored: the run has no scores")
    elif scores is None:
        raise ReportgenError(f"{run.path}: no prediction column and no scores")
    elif task == "binary":
        assert positive is not None
        cut = 0.5 if threshold is None else threshold
        negative = _negative_class(run, classes, positive)
        y_pred = np.where(scores >= cut, positive, negative).astype(np.int64)
        source = f"score ≥ {fmt.threshold(cut)}"
    else:
        y_pred, top_value = top_class(scores)
        source = "argmax of class probabilities"
    encoded = EncodedRun(
        run=run,
        task=task,
        classes=classes,
        positive=positive,
        y_true=y_true,
        y_pred=y_pred,
        scores=scores,
        prediction_source=source,
        notes=notes,
    )
    if task == "multiclass" and run.predictions is None:  # the argmax is the top class
        encoded.derived["top_value"], encoded.derived["top"] = top_value, y_pred
    return encoded


def _negative_class(run: Run, classes: tuple[str, ...], positive: int) -> int:
    others = [i for i in range(len(classes)) if i != positive]
    if not others:
        raise ReportgenError(
            f"{run.path}: only one class ({classes[positive]!r}) is known, so thresholded "
            "scores have no negative class; add a prediction column or negative examples"
        )
    return others[0]


def _class_score_matrix(run: Run, classes: tuple[str, ...]) -> np.ndarray | None:
    if not run.class_scores:
        return None
    own = set(run.labels.values)
    if run.predictions is not None:
        own |= set(run.predictions.values)
    missing = sorted(own - set(run.class_scores))
    if missing:
        raise ReportgenError(
            f"{run.path}: no probability column for class {missing[0]!r}"
            f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}; "
            f"add prob_{missing[0]} or drop all prob_* columns"
        )
    # column-major: each class's column is contiguous, for copying in and for sorting
    matrix = np.zeros((run.n_examples, len(classes)), dtype=np.float64, order="F")
    for k, name in enumerate(classes):
        column = run.class_scores.get(name)
        if column is not None:
            matrix[:, k] = column
    return matrix
