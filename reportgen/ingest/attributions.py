"""Token attributions of a run, one example per JSON Lines line: ``id``, ``tokens`` (strings),
``attributions`` (numbers, one per token), and optionally ``method``, ``target`` and
``convergence_delta``. This is the shape of Captum's ``VisualizationDataRecord`` (its
``raw_input_ids`` and ``word_attributions``), and inseq's exports.

Every problem stops the build with one line naming the file, the line, the id and the field.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reportgen.errors import ReportgenError
from reportgen.ingest.files import read_bytes

FIELDS = ("id", "tokens", "attributions")
ALIASES = {"word_attributions": "attributions", "raw_input_ids": "tokens", "example_id": "id"}


@dataclass(frozen=True)
class Attribution:
    """One example's tokens and their attributions (same length, every value finite)."""

    id: str
    tokens: tuple[str, ...]
    values: np.ndarray  # float64, one per token
    method: str | None = None
    target: str | None = None
    delta: float | None = None  # Captum's convergence delta, when the file gives it


@dataclass
class AttributionFile:
    """A model's attributions, by example id (ids as text, as the runs' ids are matched)."""

    name: str
    path: Path
    sha256: str
    examples: dict[str, Attribution] = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        return sorted({a.method for a in self.examples.values() if a.method is not None})


def _where(path: Path, line: int, ident: Any = None) -> str:
    said = f"{path}: line {line:,}"
    return said if ident is None else f"{said}, id {ident!r}"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return json.dumps(value)[:80]
    return str(value)


def parse_line(path: Path, line: int, record: Any) -> Attribution:
    """One parsed JSON line as an :class:`Attribution`, or a ReportgenError naming it."""
    if not isinstance(record, dict):
        raise ReportgenError(
            f"{_where(path, line)}: a {type(record).__name__}, not an object; write one JSON "
            'object per line: {"id": ..., "tokens": [...], "attributions": [...]}'
        )
    record = {ALIASES.get(k, k): v for k, v in record.items()}
    ident = record.get("id")
    if ident is None or isinstance(ident, bool) or not isinstance(ident, str | int):
        raise ReportgenError(
            f"{_where(path, line)}: field 'id' is missing or not a text or whole number; give "
            "each example the id it has in the run file"
        )
    where = _where(path, line, ident)
    tokens = record.get("tokens")
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise ReportgenError(
            f"{where}: field 'tokens' must be a list of strings (the decoded tokens), e.g. "
            '["The", "movie", "was", "great"]'
        )
    raw = record.get("attributions")
    if not isinstance(raw, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in raw
    ):
        raise ReportgenError(
            f"{where}: field 'attributions' must be a list of numbers, one per token (sum "
            "the embedding dimensions first)"
        )
    values = np.asarray(raw, dtype=np.float64)
    if len(values) != len(tokens):
        raise ReportgenError(
            f"{where}: {len(tokens):,} tokens but {len(values):,} attributions; write one "
            "attribution per token (same tokenizer, special tokens included or left out in both)"
        )
    if not len(tokens):
        raise ReportgenError(f"{where}: no tokens; leave the example out of the file")
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raise ReportgenError(
            f"{where}: field 'attributions' holds a non-finite value ({values[bad[0]]}) at token "
            f"{bad[0] + 1:,} ({tokens[bad[0]]!r}); fix the attribution run (NaN or inf usually "
            "means a failed gradient)"
        )
    delta = record.get("convergence_delta")
    if isinstance(delta, list) and len(delta) == 1:  # Captum returns a one-element tensor
        delta = delta[0]
    if delta is not None and (
        isinstance(delta, bool) or not isinstance(delta, int | float) or not math.isfinite(delta)
    ):
        raise ReportgenError(
            f"{where}: field 'convergence_delta' must be a finite number, or left out"
        )
    return Attribution(
        id=str(ident),
        tokens=tuple(tokens),
        values=values,
        method=_text(record.get("method")),
        target=_text(record.get("target")),
        delta=None if delta is None else float(delta),
    )


def read_attributions(path: Path, name: str) -> AttributionFile:
    """Every example of a JSON Lines attribution file, checked line by line."""
    data = read_bytes(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ReportgenError(
            f"{path}: line {line:,}: not UTF-8 text; save the attributions as UTF-8 JSON Lines"
        ) from None
    found = AttributionFile(name=name, path=path, sha256=hashlib.sha256(data).hexdigest())
    for number, content in enumerate(text.splitlines(), start=1):
        if not content.strip():
            continue
        try:
            record = json.loads(content)
        except json.JSONDecodeError as exc:
            raise ReportgenError(
                f"{_where(path, number)}, column {exc.colno:,}: not valid JSON ({exc.msg}); "
                "write one JSON object per line"
            ) from None
        example = parse_line(path, number, record)
        if example.id in found.examples:
            raise ReportgenError(
                f"{_where(path, number, record.get('id'))}: the id is given twice; keep one "
                "line per example"
            )
        found.examples[example.id] = example
    if not found.examples:
        raise ReportgenError(f"{path}: no examples; write one JSON object per line")
    return found
