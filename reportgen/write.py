"""The build command's outputs: which files the options ask for, the check that none of them
overwrites an input or another output (before anything is computed), and writing them all
together at the end (:mod:`reportgen.render.outputs`), then the job summary."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from reportgen import formatting as fmt
from reportgen.errors import ReportgenError

# the build command's output options: the key each is stored under, by option
OUTPUT_KEYS = {
    "-o": "output",
    "--json": "json_path",
    "--junit": "junit",
    "--eml": "eml",
    "--markdown": "markdown",
}


def output_paths(o: dict[str, Any]) -> dict[str, Path]:
    """Every file output the options ask for, by option (``--markdown -`` is not a file; any
    other ``-`` is standard output; a trailing slash is kept, to be refused as a folder)."""
    from reportgen.render.outputs import STDOUT

    found = {}
    for option, key in OUTPUT_KEYS.items():
        value = o[key]
        if value is None or (option == "--markdown" and value == "-"):
            continue
        text = str(value)
        found[option] = STDOUT if text == "-" else Path(text)
        if text.endswith(("/", os.sep)):
            raise ReportgenError(
                f"{option} {text}: names a folder; give a file path, e.g. {text}report.html"
            )
    if sum(p == STDOUT for p in found.values()) > 1:
        raise ReportgenError("only one output can go to standard output (-)")
    return found


def summary_target(o: dict[str, Any]) -> Path | None:
    """``--markdown -``'s job summary file, when $GITHUB_STEP_SUMMARY names one."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    return Path(target) if o["markdown"] == "-" and target else None


def reporter_of(option: str, o: dict[str, Any]) -> Any:
    """The registered format an output option writes (``-o`` with ``--static``: the static
    page)."""
    from reportgen.render.reporters import REPORTERS

    if option == "-o" and o["static"]:
        return REPORTERS["static"]
    return next(r for r in REPORTERS.values() if r.option == option)


def check_outputs(o: dict[str, Any]) -> None:
    """Before anything is computed: no output over an input, or over another output."""
    from reportgen.ingest.folders import folder_files
    from reportgen.render.outputs import check_targets, input_files

    inputs = input_files(list(o["runs"]), folder_files)  # refuses / and unreadable folders
    for item in [*(o["histories"] or []), *(o["embeddings"] or [])]:
        inputs += input_files([str(item).partition("=")[2] or str(item)], folder_files)
    if o.get("config") is not None:
        inputs.append(Path(o["config"]))
    targets = output_paths(o)
    summary = summary_target(o)
    if summary is not None:  # appended to, not replaced: the same checks all the same
        targets["$GITHUB_STEP_SUMMARY"] = summary
    check_targets(targets, inputs)


def write_outputs(report: Any, o: dict[str, Any]) -> list[str]:
    """Every requested output, staged in temporaries and put in place together (a failure
    replaces none); then the job summary or standard output. The list of what was written."""
    from reportgen.profiling import stage
    from reportgen.render.outputs import staging

    with stage("write"):
        return _write(report, o, staging)


def _write(report: Any, o: dict[str, Any], staging: Any) -> list[str]:
    paths = output_paths(o)
    settings = {
        "to": o["email_to"],
        "subject": o["email_subject"],
        "sender": o["email_from"],
        "attach": o["eml_attach"],
        "marker": o.get("markdown_marker"),
    }
    with staging() as outputs:
        for option, path in paths.items():
            outputs.add(path, reporter_of(option, o).render(report, settings))
        written = [f"{p} ({fmt.byte_size(n)})" for p, n in outputs.commit()]
    if o["markdown"] == "-":
        summary = report.to_markdown(o.get("markdown_marker")) + "\n"
        target = summary_target(o)
        if target is not None:
            from reportgen.render.outputs import write_through

            try:  # one write: a full disk appends nothing half-way; a FIFO never hangs
                write_through(target, summary.encode("utf-8"), append=True)
            except OSError as exc:
                raise ReportgenError(
                    f"$GITHUB_STEP_SUMMARY ({target}): cannot append the summary "
                    f"({exc.strerror}); the other outputs were written"
                ) from None
            written.append(f"$GITHUB_STEP_SUMMARY ({target})")
        else:
            typer.echo(summary, nl=False)
    return written
