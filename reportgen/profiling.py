"""Where a build's time goes: ``--profile`` or ``REPORTGEN_PROFILE=1`` prints the wall time of
each stage (imports, load, evaluate, verdicts, charts, fallbacks, write) to stderr.

Stages are timed always (a clock read per stage costs nothing); they are printed only when
asked. A stage entered twice adds up.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

STAGES: dict[str, float] = {}
_NESTED: list[float] = []  # per open stage: the time spent in the stages inside it


def wanted() -> bool:
    return os.environ.get("REPORTGEN_PROFILE") == "1"


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the wall time of the block to stage ``name``, less the time of the stages inside
    it (drawing the fallbacks inside writing counts as fallbacks only)."""
    start = time.perf_counter()
    _NESTED.append(0.0)
    try:
        yield
    finally:
        spent = time.perf_counter() - start
        inner = _NESTED.pop()
        STAGES[name] = STAGES.get(name, 0.0) + spent - inner
        if _NESTED:
            _NESTED[-1] += spent


def reset() -> None:
    STAGES.clear()
    _NESTED.clear()


def breakdown(total: float | None = None) -> str:
    """One line: each stage's seconds in the order entered, and the total."""
    parts = [f"{name} {seconds:.2f}" for name, seconds in STAGES.items()]
    total = sum(STAGES.values()) if total is None else total
    return "profile (s): " + ", ".join(parts) + f"; total {total:.2f}"
