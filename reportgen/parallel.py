"""One way to map work over threads, used by every stage that has independent items."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def parallel_map(function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """``map`` on threads: reading Parquet and sorting release the GIL. Results (and the
    first error, if any) come in input order, so the outcome does not depend on timing."""
    workers = min(len(items), os.cpu_count() or 1)
    if workers <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))
