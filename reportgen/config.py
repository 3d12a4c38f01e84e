"""Defaults for ``reportgen build`` from a config file, overridden by command-line options.

``reportgen.toml`` (settings at the top level) or ``pyproject.toml`` (under
``[tool.reportgen]``), found in the current directory or the nearest parent that has one.
Setting names are the long options of ``reportgen build``, with ``-`` or ``_``::

    [tool.reportgen]
    baseline = "production"
    bootstrap = 2000
    slice = ["country", "device"]
    fail-if = ["regression(f1)", "roc_auc < 0.95"]
    markdown = "summary.md"
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from reportgen.errors import ReportgenError

FILES = ("reportgen.toml", "pyproject.toml")


def find_config(start: Path) -> Path | None:
    """The nearest ``reportgen.toml``, or ``pyproject.toml`` with a ``[tool.reportgen]`` table."""
    for folder in (start, *start.parents):
        own = folder / "reportgen.toml"
        if own.is_file():
            return own
        project = folder / "pyproject.toml"
        if project.is_file() and "reportgen" in (_parse(project).get("tool") or {}):
            return project
    return None


def _parse(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ReportgenError(f"{path}: cannot read the config ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ReportgenError(f"{path}: not valid TOML ({exc}); fix the file") from None
    except UnicodeDecodeError:
        raise ReportgenError(f"{path}: not UTF-8 text; a config file is TOML, in UTF-8") from None


def read_config(path: Path) -> dict[str, Any]:
    """The settings of a config file, keys with ``_`` instead of ``-``."""
    data = _parse(path)
    if path.name == "pyproject.toml" or "tool" in data:
        data = (data.get("tool") or {}).get("reportgen") or {}
    if not isinstance(data, dict):
        raise ReportgenError(f"{path}: [tool.reportgen] must be a table of settings")
    return {str(k).replace("-", "_"): v for k, v in data.items()}
