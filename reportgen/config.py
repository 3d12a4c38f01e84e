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
from typing import TYPE_CHECKING, Any

from reportgen.errors import ReportgenError
from reportgen.ingest.folders import check_regular_file
from reportgen.options import BUILD

if TYPE_CHECKING:
    import typer

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


def with_config(ctx: typer.Context, path: str | Path | None) -> dict[str, Any]:
    """The command's options, defaults replaced by the config file's settings."""
    options = dict(ctx.params)
    options["runs"] = list(options.get("runs") or [])  # none: histories alone (--history)
    found = Path(path) if path is not None else find_config(Path.cwd())
    if found is None:
        return options
    if not found.exists():
        raise ReportgenError(f"{found}: config file not found; check --config")
    check_regular_file(found, "config")  # a FIFO would block the read forever
    settings = read_config(found)
    by_name = {}
    for param in ctx.command.params:
        for opt in param.opts:
            if opt.startswith("--"):
                by_name[opt[2:].replace("-", "_")] = param
    for key, raw in settings.items():
        param = by_name.get(key)
        if param is None or key in ("config", "runs"):
            raise ReportgenError(
                f"{found}: unknown setting {key!r}; settings are the long options of "
                "reportgen build (baseline, bootstrap, slice, fail-if, markdown, ...)"
            )
        source = ctx.get_parameter_source(param.name)  # type: ignore[arg-type]
        if source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP"):
            continue  # given on the command line: it wins
        if param.multiple and not isinstance(raw, list):
            raw = [raw]
        if isinstance(raw, bool) and not getattr(param, "is_flag", False):
            raise ReportgenError(
                f"{found}: setting {key!r} = {str(raw).lower()}: expected a value such as a "
                "path or a number, not true/false"
            )
        try:
            options[param.name] = param.process_value(ctx, raw)  # type: ignore[arg-type]
        except Exception as exc:  # click's BadParameter and friends: say where
            reason = getattr(exc, "message", None) or str(exc)
            raise ReportgenError(f"{found}: setting {key!r}: {reason}") from None
    return options


def build_arguments(o: dict[str, Any]) -> dict[str, Any]:
    """:func:`reportgen.pipeline.build_report`'s keyword arguments from the merged options of
    ``reportgen build`` (:func:`with_config`): every option of scope ``build``."""
    return {"runs": o["runs"], **{option.name: o[option.name] for option in BUILD}}
