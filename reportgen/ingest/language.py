"""Stage 1 for language models: perplexity runs, generation runs, lm-evaluation-harness output
and training histories -> validated, columnar run objects.

Per-example files go through the same readers and checks as classification runs
(:mod:`reportgen.ingest`); which kind a file is follows from its columns (see
:func:`reportgen.sources.load_sources`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.base import ExampleRun
from reportgen.ingest.files import _sha256
from reportgen.ingest.runs import (
    ID_ALIASES,
    LABEL_ALIASES,
    PREDICTION_ALIASES,
    ColumnNames,
    _find_column,
    _row_location,
    as_float,
    class_name,
    column_flag,
    unique_ids,
)

NLL_ALIASES = ("nll", "loss", "neg_log_likelihood", "sum_nll")
TOKENS_ALIASES = ("num_tokens", "n_tokens", "tokens", "token_count")
BYTES_ALIASES = ("num_bytes", "n_bytes", "bytes")
PERPLEXITY_ALIASES = ("perplexity", "ppl")
PROMPT_ALIASES = ("prompt", "question", "input", "text")
GRADE_ALIASES = ("score", "grade", "correct", "is_correct")  # a grader's per-example score


@dataclass(kw_only=True)
class PerplexityRun(ExampleRun):
    """Per-example summed negative log-likelihood (nats) and token counts of one model."""

    nll: np.ndarray  # float64, nats summed over the example's tokens
    num_tokens: np.ndarray  # float64 (counts), > 0
    num_bytes: np.ndarray | None

    kind: ClassVar[str] = "perplexity"


@dataclass(kw_only=True)
class TextRun(ExampleRun):
    """Per-example outputs scored right or wrong: free-text generations (exact match and
    token F1 against the references) or an lm-eval per-sample log (its own sample metrics)."""

    task: str  # "generation" or the lm-eval task name
    predictions: list[str]
    references: list[list[str]]  # acceptable answers per example
    prompts: list[str] | None
    sample_metrics: dict[str, np.ndarray]  # lm-eval logs: metric -> per-example value
    graded: np.ndarray | None = None  # a grader's logged per-example score (simple-evals)

    @property
    def targets(self) -> np.ndarray | None:
        """Each example's acceptable answers, joined."""
        return np.array(["\x1f".join(r) for r in self.references], dtype=object)

    @property  # type: ignore[override]
    def kind(self) -> str:
        return "generation" if not self.sample_metrics else "lm-eval samples"

    @property
    def group(self) -> str:
        return "generation" if not self.sample_metrics else f"samples:{self.task}"


# ----------------------------------------------------------------------------- detection


def looks_perplexity(frame: pd.DataFrame, path: Path, columns: ColumnNames) -> bool:
    """Summed NLL (or per-example perplexity) with token counts, or without a label column:
    a classifier's per-example 'loss' beside its labels is not a perplexity run."""
    lower = {str(c).lower() for c in frame.columns}
    likelihood = any(a in lower for a in (*NLL_ALIASES, *PERPLEXITY_ALIASES))
    if not likelihood:
        return False
    label_col = _find_column(frame, path, "label", LABEL_ALIASES, columns.label)
    return any(a in lower for a in TOKENS_ALIASES) or label_col is None


def looks_generation(frame: pd.DataFrame, path: Path, columns: ColumnNames) -> bool:
    """Free-text references: an ``answers`` column without labels, labels holding lists or
    JSON lists of answers, or text labels that mostly do not repeat (class labels do)."""
    label_col = _find_column(frame, path, "label", LABEL_ALIASES, columns.label)
    if label_col is None:
        lower = {str(c).lower() for c in frame.columns}
        return "answers" in lower or "answer" in lower
    labels = frame[label_col]
    if labels.dtype != object and not isinstance(labels.dtype, pd.StringDtype):
        return False
    head = labels.dropna().head(1000)  # a list column holds lists in every row
    if head.map(lambda v: isinstance(v, list | tuple | np.ndarray)).any():
        return True
    if len(head) and all(isinstance(v, str) for v in head):
        if head.str.startswith("[").all():
            return True  # JSON lists of acceptable answers, as CSV writes them
        distinct = labels.nunique()
        return bool(distinct >= 20 and distinct > 0.5 * labels.notna().sum())
    return False


# ----------------------------------------------------------------------------- perplexity


def _positive_numbers(
    frame: pd.DataFrame, column: str, path: Path, fmt: str, what: str, allow_zero: bool = False
) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(np.float64, na_value=np.nan)
    bad = ~np.isfinite(values) | ((values < 0) if allow_zero else (values <= 0))
    if bad.any():
        row = int(np.argmax(bad))
        value = frame[column].iloc[row]
        shown = "a missing value" if pd.isna(value) else str(value)
        raise ReportgenError(
            f"{path}: {what} column {column!r} has {shown} at "
            f"{_row_location(fmt, row)}; it must be a "
            f"{'non-negative' if allow_zero else 'positive'} number"
        )
    return values


# a perplexity of 1e150: far past any model (a uniform guess over 1e150 tokens), and room
# for the charts' products and rounding of perplexities, which overflow near 1e308
LARGEST_NLL_PER_TOKEN = math.log(1e150)


def _check_magnitudes(
    nll: np.ndarray,
    tokens: np.ndarray,
    num_bytes: np.ndarray | None,
    frame: pd.DataFrame,
    column: str,
    path: Path,
    fmt: str,
) -> None:
    """Finite numbers whose perplexity or sums are not: an example's perplexity past the
    largest float, or a column that a bootstrap resample (weights up to n) cannot add up.
    Refused here, not left to overflow (numpy warnings, then an error far from the file)."""
    with np.errstate(over="ignore"):  # past the largest float is refused just below
        per_token = nll / tokens
    over = per_token > LARGEST_NLL_PER_TOKEN
    if over.any():
        row = int(np.argmax(over))
        raise ReportgenError(
            f"{path}: column {column!r} at {_row_location(fmt, row)} is "
            f"{per_token[row]:.4g} nats per token, a perplexity past 1e150; give the "
            "negative log-likelihood in nats (natural log), summed over the example's tokens"
        )
    n = len(nll)
    named = (
        (nll, f"column {column!r} holds"),
        (tokens, "token counts hold"),
        (num_bytes, "byte counts hold"),
    )
    for values, what in named:
        if values is not None and n and not math.isfinite(float(values.max()) * n):
            raise ReportgenError(
                f"{path}: {what} {float(values.max()):.4g}, too large to add "
                f"up over {n:,} examples; give per-example values in their units (nats, "
                "tokens, bytes)"
            )


def perplexity_run(
    frame: pd.DataFrame,
    name: str,
    path: Path,
    fmt: str,
    columns: ColumnNames,
    metadata: dict[str, Any],
) -> PerplexityRun:
    nll_col = _find_column(frame, path, "nll", NLL_ALIASES, None)
    ppl_col = _find_column(frame, path, "perplexity", PERPLEXITY_ALIASES, None)
    tok_col = _find_column(frame, path, "token count", TOKENS_ALIASES, None)
    bytes_col = _find_column(frame, path, "byte count", BYTES_ALIASES, None)
    id_col = _find_column(frame, path, "id", ID_ALIASES, columns.id)
    if tok_col is None:
        given = nll_col or ppl_col
        raise ReportgenError(
            f"{path}: column {given!r} needs per-example token counts to be weighted; add "
            "'num_tokens' (or n_tokens, tokens): corpus perplexity is exp(sum nll / sum tokens)"
        )
    tokens = _positive_numbers(frame, tok_col, path, fmt, "token count")
    notes = []
    if nll_col is not None:
        nll = _positive_numbers(frame, nll_col, path, fmt, "negative log-likelihood", True)
    else:
        assert ppl_col is not None
        perplexity = _positive_numbers(frame, ppl_col, path, fmt, "perplexity")
        nll = tokens * np.log(perplexity)  # exact: ppl_i = exp(nll_i / tokens_i)
        notes.append(
            f"Per-example perplexity ({ppl_col!r}) converted to summed NLL as "
            "num_tokens × ln(perplexity)."
        )
    num_bytes = _positive_numbers(frame, bytes_col, path, fmt, "byte count") if bytes_col else None
    _check_magnitudes(nll, tokens, num_bytes, frame, nll_col or ppl_col, path, fmt)
    ids = unique_ids(frame, id_col, path, fmt)
    found = {"nll" if nll_col else "perplexity": nll_col or ppl_col, "num_tokens": tok_col}
    if bytes_col:
        found["num_bytes"] = bytes_col
    if id_col:
        found["id"] = id_col
    used = [c for c in found.values() if c is not None]
    return PerplexityRun(
        name=name,
        path=path,
        sha256=_sha256(path),
        format=fmt,
        n_examples=len(frame),
        nll=nll,
        num_tokens=tokens,
        num_bytes=num_bytes,
        ids=ids,
        columns={k: v for k, v in found.items() if v is not None},
        extra=frame.drop(columns=used),
        metadata=metadata,
        notes=notes,
    )


# ----------------------------------------------------------------------------- generation


def _answers(value: Any, path: Path, fmt: str, row: int, column: str) -> list[str]:
    if isinstance(value, np.ndarray):  # a list column read from Parquet
        value = value.tolist()
    if isinstance(value, list | tuple):
        answers = [v if isinstance(v, str) else str(v) for v in value if v is not None]
    elif isinstance(value, str) and value.strip().startswith("["):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        # not JSON (``[Australia, Italy]``): the text as written is the one answer
        answers = [str(v) for v in parsed if v is not None] if isinstance(parsed, list) else [value]
    elif value is None or (isinstance(value, float) and math.isnan(value)):
        answers = []
    else:
        answers = [class_name(value)]
    if not answers:
        raise ReportgenError(
            f"{path}: no reference answer in column {column!r} at {_row_location(fmt, row)}; "
            "every example needs at least one"
        )
    return answers


def generation_run(
    frame: pd.DataFrame,
    name: str,
    path: Path,
    fmt: str,
    columns: ColumnNames,
    metadata: dict[str, Any],
) -> TextRun:
    label_col = _find_column(
        frame, path, "label", (*LABEL_ALIASES, "answers", "answer"), columns.label
    )
    outputs = (*PREDICTION_ALIASES, "generation", "response")
    pred_col = _find_column(frame, path, "prediction", outputs, columns.prediction)
    if pred_col is not None and pred_col == label_col and columns.prediction is None:
        # an 'answer' column read as the reference is not the model's output too
        others = frame.drop(columns=[label_col])
        pred_col = _find_column(others, path, "prediction", outputs, None)
    if label_col is None or pred_col is None:
        missing = "label (reference answer)" if label_col is None else "prediction (model output)"
        raise ReportgenError(
            f"{path}: a generation run needs a {missing} column; name it "
            f"{'label' if label_col is None else 'prediction'} or pass "
            f"{column_flag(path, 'label' if label_col is None else 'prediction')}"
        )
    id_col = _find_column(frame, path, "id", ID_ALIASES, columns.id)
    prompt_col = _find_column(frame, path, "prompt", PROMPT_ALIASES, None)
    references = [
        _answers(v, path, fmt, i, label_col) for i, v in enumerate(frame[label_col].tolist())
    ]
    predictions = _texts(frame[pred_col])
    prompts = None if prompt_col is None else _texts(frame[prompt_col])
    others = frame.drop(columns=[c for c in (label_col, pred_col, id_col) if c])
    grade_col = _find_column(others, path, "score", GRADE_ALIASES, columns.score)
    graded = None if grade_col is None else _grades(frame[grade_col], path, fmt, grade_col)
    notes = []
    raw = frame[label_col]
    if not pd.api.types.is_numeric_dtype(raw.dtype):
        bracketed = raw.map(lambda v: isinstance(v, str) and v.lstrip().startswith("["))
        rows = np.flatnonzero(bracketed.to_numpy(dtype=bool))
        as_text = sum(references[i] == [raw.iloc[i]] for i in rows)
        if as_text:
            notes.append(
                f"{as_text:,} references in {label_col!r} start with '[' but are not JSON "
                "lists (such as [Australia, Italy]); each is read as one answer, as written."
            )
    found = {"label": label_col, "prediction": pred_col}
    if grade_col:
        found["score"] = grade_col
    if id_col:
        found["id"] = id_col
    if prompt_col:
        found["prompt"] = prompt_col
    return TextRun(
        name=name,
        path=path,
        sha256=_sha256(path),
        format=fmt,
        n_examples=len(frame),
        task="generation",
        predictions=predictions,
        references=references,
        prompts=prompts,
        sample_metrics={},
        graded=graded,
        ids=unique_ids(frame, id_col, path, fmt),
        columns=found,
        extra=frame.drop(columns=[c for c in (label_col, pred_col, id_col, grade_col) if c]),
        metadata=metadata,
        notes=notes,
    )


def _grades(series: pd.Series, path: Path, fmt: str, column: str) -> np.ndarray:
    """A grader's per-example scores (0/1, or continuous) as float64; booleans are 0/1."""
    values = as_float(series)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argmax(bad))
        raise ReportgenError(
            f"{path}: score column {column!r} holds {str(series.iloc[row])[:40]!r} at "
            f"{_row_location(fmt, row)}; a grader's score is a number per example (0/1 or "
            f"continuous), or pass --score-col naming another column"
        )
    return values


def _texts(series: pd.Series) -> list[str]:
    """A column as text, missing values as empty strings (vectorised for text columns)."""
    if series.dtype == object or isinstance(series.dtype, pd.StringDtype):
        values = series.tolist()
        if all(isinstance(v, str) for v in values):
            return values
    return ["" if _missing(v) else class_name(v) for v in series.tolist()]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# ----------------------------------------------------------------------------- lm-eval


# ----------------------------------------------------------------------------- histories


# --------------------------------------------------------------------- lm-eval files and folders
