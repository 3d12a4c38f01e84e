"""Every summary the tests write is checked against docs/summary.schema.json (issue 20):
``Report.to_json`` in the test process, and any summary a test leaves in its ``tmp_path``
(the command line's --json, written by a child process)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "summary.schema.json"
MAX_BYTES = 20_000_000


@functools.cache
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def problems(found: Any) -> list[str]:
    """The schema's complaints about one summary, each with where it is."""
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:300]}"
        for e in validator().iter_errors(found)
    ]


def check(found: Any, where: str) -> None:
    found_problems = problems(found)
    if found_problems:
        raise AssertionError(f"{where}: not a valid summary: " + "; ".join(found_problems[:5]))


def written_by_reportgen(found: Any) -> bool:
    """A file reportgen wrote as a summary (not run metadata, lm-eval results, or a test's
    deliberately broken input, which carries no reportgen_version)."""
    return (
        isinstance(found, dict)
        and "reportgen_version" in found
        and found.get("schema_version") == 2
    )


def check_folder(folder: Path) -> int:
    """Validate every summary under ``folder``; how many there were."""
    count = 0
    for path in sorted(folder.rglob("*.json")):
        try:
            if not path.is_file() or path.stat().st_size > MAX_BYTES:
                continue
            found = json.loads(path.read_bytes())
        except (OSError, ValueError, RecursionError):
            continue
        if written_by_reportgen(found):
            check(found, str(path))
            count += 1
    return count
