"""The stage clock behind --profile: stages add up, and a stage inside another counts once."""

from __future__ import annotations

import time

from reportgen import profiling


def test_nested_stages_count_once_and_repeated_stages_add_up() -> None:
    profiling.reset()
    with profiling.stage("write"):
        time.sleep(0.02)
        with profiling.stage("fallbacks"):
            time.sleep(0.05)
    with profiling.stage("fallbacks"):
        time.sleep(0.01)
    found = dict(profiling.STAGES)
    profiling.reset()
    assert 0.06 <= found["fallbacks"] < 0.2  # both blocks
    assert 0.02 <= found["write"] < 0.05  # without the drawing inside it
    assert list(found) == ["fallbacks", "write"]  # in the order they ended
    assert profiling.breakdown(1.0).endswith("total 1.00")
