"""The score record: one metric of one model, on the whole run or on one slice.

Every kind reports its metrics as :class:`Score` rows beside its
:class:`~reportgen.stats.comparison.Comparison` rows; gates, the JSON's ``scores`` and the
Python API's frames read these records and the metric registry, never a kind's own shapes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

LEVEL = 0.95  # the level of every interval reportgen computes


@dataclass(frozen=True)
class Score:
    """One metric of one model.

    ``metric`` is a registry name (:mod:`reportgen.metrics`), or a name a file brings (an
    lm-eval task, whose measured metric is ``measure``, e.g. ``acc_norm,none``). The interval
    is ``[low, high]`` at ``level``; a file that reports a standard error instead (lm-eval)
    gives ``stderr``. ``reason`` says why ``value`` is None."""

    model: str
    kind: str  # the kind that scored it: "classification", "regression", "lm-eval results", ...
    metric: str
    value: float | None
    baseline: str | None = None  # the model it is compared with (itself, for the baseline)
    low: float | None = None
    high: float | None = None
    level: float | None = None
    stderr: float | None = None
    n: int | None = None  # examples behind the value, when known
    slice_column: str | None = None  # a --slice column, when the score is on one slice
    slice_value: str | None = None
    repeats: int | None = None  # a model given as repeats (seeds): how many; value is the mean
    spread: float | None = None  # ...and the repeats' standard deviation (3 or more)
    reason: str | None = None  # why the value is undefined
    scope: str = ""  # what the kind compares within, as Comparison.scope ("generation", ...)
    measure: str = ""  # what a file-named metric measured (lm-eval: "acc_norm,none")
    higher_is_better: bool | None = None  # the file's own direction, when it declares one

    def summary(self) -> dict[str, Any]:
        """The record as the JSON's ``scores`` lists it (every field, in order)."""
        return asdict(self)


def interval(found: Any) -> tuple[float | None, float | None, float | None]:
    """(low, high, level) of an interval given as ``[low, high]`` or None."""
    if found is None:
        return None, None, None
    low, high = found
    return _number(low), _number(high), LEVEL


def _number(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if not math.isnan(value) else None


def number(value: Any) -> float | None:
    """A metric value as a float (None stays None)."""
    return None if value is None else float(value)
