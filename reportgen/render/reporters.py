"""The one registry of output formats: each a :class:`Reporter` that renders a built report to
bytes, as coverage.py's reporters do.

``Report.save`` picks one by name or by the path's suffix, the build command's options
(``-o``, ``--json``, ``--markdown``, ``--junit``, ``--eml``) name theirs, and nothing else
keeps a list of formats. Adding a format is a function of the report and one
:func:`register` call (see docs/architecture.md's recipe).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportgen.errors import ReportgenError

Settings = Mapping[str, Any]  # what a format may take besides the report (email headers)


@dataclass(frozen=True)
class Reporter:
    """One output format."""

    name: str  # as ``Report.save(format=...)`` names it
    suffixes: tuple[str, ...]  # the path suffixes that choose it (none: only by name)
    option: str  # the build command's option that writes it, or ""
    render: Callable[[Any, Settings], bytes]  # (the report, settings) -> the file's bytes
    about: str  # one line, for help texts


def _html(report: Any, settings: Settings) -> bytes:
    return str(report.to_html()).encode("utf-8")


def _static(report: Any, settings: Settings) -> bytes:
    return str(report.to_html(static=True)).encode("utf-8")


def _json(report: Any, settings: Settings) -> bytes:
    return str(report.to_json()).encode("utf-8")


def _markdown(report: Any, settings: Settings) -> bytes:
    return str(report.to_markdown(settings.get("marker"))).encode("utf-8")


def _junit(report: Any, settings: Settings) -> bytes:
    return str(report.to_junit()).encode("utf-8")


def _email(report: Any, settings: Settings) -> bytes:
    return bytes(
        report.to_email(
            to=settings.get("to"),
            subject=settings.get("subject"),
            sender=settings.get("sender"),
            attach=settings.get("attach") or "report",
        )
    )


REPORTERS: dict[str, Reporter] = {}


def register(reporter: Reporter) -> Reporter:
    """Add (or replace) a format; its suffixes then choose it in ``Report.save``."""
    REPORTERS[reporter.name] = reporter
    return reporter


for _reporter in (
    Reporter("html", (".html", ".htm"), "-o", _html, "the self-contained page"),
    Reporter("static", (), "-o", _static, "the page without JavaScript (--static)"),
    Reporter("json", (".json",), "--json", _json, "the JSON summary"),
    Reporter("markdown", (".md",), "--markdown", _markdown, "Markdown for PR comments"),
    Reporter("junit", (".xml",), "--junit", _junit, "JUnit XML of the gates"),
    Reporter("eml", (".eml",), "--eml", _email, "an email with the page attached"),
):
    register(_reporter)


def reporter_for(path: str | Path, format: str | None = None) -> Reporter:
    """The format named, else the one the path's suffix chooses; an unknown suffix is an
    error that lists the formats (a .pdf must not silently hold HTML)."""
    if format is not None:
        if format not in REPORTERS:
            raise ReportgenError(
                f"unknown output format {format!r}; formats are: {', '.join(REPORTERS)}"
            )
        return REPORTERS[format]
    suffix = Path(path).suffix.lower()
    found = next((r for r in REPORTERS.values() if suffix in r.suffixes), None)
    if found is None:
        known = ", ".join(sorted({x for r in REPORTERS.values() for x in r.suffixes}))
        raise ReportgenError(
            f"{path}: no output format writes {suffix or 'a file without a suffix'}; "
            f"use one of {known}, or name one with format= "
            f"({', '.join(REPORTERS)})"
        )
    return found
