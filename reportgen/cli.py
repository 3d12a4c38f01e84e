"""The command line: parses options and calls the library, nothing more."""

from __future__ import annotations

import inspect
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from reportgen import __version__
from reportgen.config import build_arguments, with_config
from reportgen.errors import ReportgenError
from reportgen.options import OPTIONS, TYPES, Option, command_line
from reportgen.terminal import (
    BUILD_EXAMPLES,
    GroupedCommand,
    fail,
    internal,
    line,
    progress,
    stderr,
    steps,
)
from reportgen.write import check_outputs, write_outputs

app = typer.Typer(
    name="reportgen",
    help=(
        "Turn evaluation runs into one self-contained HTML report that compares models side "
        "by side.\n\nExample: reportgen build old=runs/v1.csv new=runs/v2.parquet -o report.html"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"reportgen {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """reportgen: side-by-side HTML reports for ML evaluation runs."""


def _option_parameter(option: Option) -> inspect.Parameter:
    """A ``reportgen build`` option from its declaration (:data:`reportgen.options.OPTIONS`)."""
    names = [option.long + (f"/--no-{option.long[2:]}" if option.negatable else "")]
    names += [option.short] if option.short else []
    extra: dict[str, Any] = {"metavar": option.metavar} if option.metavar else {}
    # paths as text: "-" is standard output, and a trailing slash must survive to be refused
    kind: Any = {"flag": bool, "path": str}.get(option.type, TYPES[option.type])
    if option.choices:
        kind = Literal[option.choices]  # shown as [auto|memory|...]
    default = str(option.default) if option.type == "path" and option.default else option.default
    if option.type == "texts":  # repeatable; typer gives None when none is given
        kind, default = list[str] | None, None
    elif default is None:
        kind = kind | None
    declared = typer.Option(*names, rich_help_panel=option.group, help=option.described(), **extra)
    return inspect.Parameter(
        option.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=default,
        annotation=Annotated[kind, declared],
    )


def build(ctx: typer.Context, runs: list[str] | None, **given: Any) -> None:
    """Build one HTML report comparing RUNS side by side.

    Exit codes: 0 all gates pass, 1 a --fail-if gate failed (every output is still written,
    failed gates first), 2 bad input or usage, 3 an internal error (please report it).
    Outputs never overwrite an input or each other, and are put in place together: a failure
    replaces none of them.
    """
    from reportgen import profiling
    from reportgen.render import fallbacks

    started = time.perf_counter()
    profiling.reset()  # this build's stages only (the API may run many in one process)
    fallbacks.start()  # warms up on the second core while the pipeline is imported and runs
    with profiling.stage("imports"):
        from reportgen.pipeline import build_report

    try:
        o = with_config(ctx, given["config"])
        check_outputs(o)
        with progress(o["quiet"]) as say:
            report = build_report(**build_arguments(o), progress=say)
            report.command = command_line(o["runs"], o)  # options from a config file too
            say("Writing the report")  # type: ignore[operator]
            written = write_outputs(report, o)
        if o["profile"] or profiling.wanted():
            total = time.perf_counter() - started
            stderr.print(profiling.breakdown(total), markup=False, soft_wrap=True)
    except ReportgenError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        where = exc.filename or "an input or output"
        raise fail(f"{where}: cannot read or write ({exc.strerror})") from None
    except (typer.Exit, KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        if given["debug"] or os.environ.get("REPORTGEN_DEBUG") == "1":
            raise
        raise internal(exc) from None
    finally:
        fallbacks.stop()
    if report.engine != "memory" and not o["quiet"]:
        line(f"reportgen: {report.engine_note}")
    for warning in report.warnings:  # even with --quiet: the report may mislead without it
        line(f"reportgen: warning: {warning}")
    if not o["quiet"]:
        line("Wrote " + ", ".join(map(str, written)))
    if report.failed_gates:
        for result in report.failed_gates:
            line(f"reportgen: gate failed: {result.expression} ({result.detail})")
        raise typer.Exit(code=1)


RUNS_HELP = (
    "Run files as PATH or NAME=PATH (CSV, TSV, JSON Lines, JSON, Parquet; .csv/.tsv/.jsonl may "
    "be gzipped), run directories holding predictions.<ext> and run.json, lm-eval results JSON "
    "files or output folders (results_*.json, samples_<task>_*.jsonl). The name defaults to the "
    "file stem. One NAME may be given to runs of different kinds (classification, regression: "
    "numeric label + prediction, multilabel: lists of labels, perplexity: nll + num_tokens "
    "columns, generation: free-text label + prediction, lm-eval results). None with --history: "
    "a report of training histories alone."
)
build.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
        inspect.Parameter(
            "runs",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[
                list[str] | None,
                typer.Argument(
                    rich_help_panel="Inputs", metavar="RUNS...", help=RUNS_HELP, show_default=False
                ),
            ],
            default=None,  # --history alone makes a report of training histories
        ),
        *(_option_parameter(option) for option in OPTIONS),
    ]
)
build.__annotations__ = {p.name: p.annotation for p in build.__signature__.parameters.values()}
app.command(
    cls=GroupedCommand,
    epilog=BUILD_EXAMPLES,
    short_help="Build one HTML report comparing RUNS side by side (and JSON, Markdown, ...).",
)(build)


@app.command(
    epilog="Example:\n\n\b\n  reportgen demo -o /tmp/demo   (then open /tmp/demo/report.html)",
    short_help="Build seven example reports from scikit-learn and LLM data made here.",
)
def demo(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the demo's run files and reports.")
    ] = Path("reportgen-demo"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Train real scikit-learn models on built-in datasets and report on them.

    Writes the models' predictions on breast cancer (binary) and digits (10 classes) as run
    files into OUTPUT, then builds a report from each set of files; then an LLM report from
    lm-eval results files of two fictional models written in the harness's format, with
    generated perplexity, question-answering, sample-log and training-history runs; then a
    report mixing regression (diabetes), multilabel tagging and embedding views (digits); then
    three that explain: feature importance (breast cancer) with robustness under noise and
    dropout (digits), decision boundaries (wine) and token attributions (synthetic reviews).
    """
    from reportgen.render import fallbacks

    fallbacks.start()  # draws every report's static charts on the second core
    from reportgen.demo.run import build_demo

    try:
        with steps(quiet, total=8) as step:  # training, then each of the seven reports
            plans = build_demo(output, step)
    except ReportgenError as exc:
        raise fail(str(exc)) from None
    finally:
        fallbacks.stop()
    typer.echo(f"Wrote {len(plans)} reports; open the first one first:")  # our own text
    for number, plan in enumerate(plans, start=1):
        typer.echo(f"{number}. {plan.html.resolve()}\n   {plan.title} — {plan.about}")
        given = {**plan.options, "title": plan.title, "output": plan.html, "json_path": plan.json}
        typer.echo(f"   made by: {command_line(plan.runs, given)}")


@app.command(
    name="diff",
    epilog="Examples:\n\n\b\n  reportgen diff main.json pr.json\n"
    "  reportgen diff main.json pr.json --all --markdown - --fail-if 'delta(f1) < -0.01'",
    short_help="Show how each metric moved between two summaries (--json files of builds).",
)
def diff(
    old: Annotated[Path, typer.Argument(help="The earlier build's summary (build --json).")],
    new: Annotated[Path, typer.Argument(help="The later build's summary (build --json).")],
    everything: Annotated[
        bool, typer.Option("--all", help="Show every metric, not only the changed ones.")
    ] = False,
    markdown: Annotated[
        str | None,
        typer.Option(
            "--markdown",
            metavar="PATH",
            help="Also write the table as GitHub Markdown ('-': standard output instead of "
            "the text table). E.g. --markdown diff.md.",
        ),
    ] = None,
    json_path: Annotated[
        str | None,
        typer.Option(
            "--json",
            metavar="PATH",
            help="Also write every change as JSON ('-': standard output). E.g. --json diff.json.",
        ),
    ] = None,
    fail_if: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-if",
            metavar="EXPR",
            help="A gate on the new values, as in build: exit 1 when true. delta(M) is new "
            "minus old; regression(M) needs the new build's test against the old run. "
            "E.g. --fail-if 'delta(accuracy) < -0.01'.",
        ),
    ] = None,
) -> None:
    """Show how each metric of two builds moved: old, new, change, and a verdict only where
    the new build itself tested the model against the old build's run (the same file).

    Exit codes: 0 (gates pass), 1 a --fail-if gate failed, 2 bad input.
    """
    from reportgen import diff as diffing
    from reportgen.gates import parse_gates
    from reportgen.render.html import write_atomic_bytes
    from reportgen.summaries import load_summary

    try:
        gates = parse_gates(fail_if or [])
        for target in (markdown, json_path):
            if target not in (None, "-") and Path(target).resolve() in (
                old.resolve(),
                new.resolve(),
            ):
                raise ReportgenError(f"{target}: is an input; write the output elsewhere")
        before, after = load_summary(old), load_summary(new)
        changes = diffing.diff_summaries(before, after)
        listed = diffing.shown(changes, everything)
        results = diffing.check_gates(gates, changes) if gates else []
        outputs = {
            markdown: diffing.to_markdown(before, after, listed, len(changes)),
            json_path: diffing.to_json(before, after, listed, results),
        }
        printed = False
        for target, text in outputs.items():
            if target == "-":
                typer.echo(text, nl=False)
                printed = True
            elif target is not None:
                write_atomic_bytes(Path(target), text.encode("utf-8"))
        if not printed:
            typer.echo(diffing.to_text(before, after, listed, len(changes)), nl=False)
    except ReportgenError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(
            f"{exc.filename or 'an output'}: cannot read or write ({exc.strerror})"
        ) from None
    failed = [r for r in results if not r.passed]
    for result in failed:
        line(f"reportgen: gate failed: {result.expression} ({result.detail})")
    if failed:
        raise typer.Exit(code=1)


def _help_of(name: str) -> str:
    return next(o.described() for o in OPTIONS if o.name == name)


@app.command(
    name="history",
    epilog="Examples:\n\n\b\n  reportgen history summaries/ -o history.html\n"
    "  reportgen history 'artifacts/*/summary.json' --order-by version --markdown -",
    short_help="Draw the trend of earlier builds' summaries (--json files) on one page.",
)
def history(
    summaries: Annotated[
        list[str],
        typer.Argument(
            metavar="SUMMARY...",
            help="Summaries written by reportgen build --json: files, folders (their *.json) "
            "or quoted glob patterns.",
            show_default=False,
        ),
    ],
    output: Annotated[
        str, typer.Option("--output", "-o", metavar="PATH", help="Where to write the page.")
    ] = "history.html",
    order_by: Annotated[
        str, typer.Option("--order-by", metavar="KEY", help=_help_of("order_by"))
    ] = "date",
    title: Annotated[
        str | None, typer.Option("--title", metavar="TEXT", help="The page's title.")
    ] = None,
    json_path: Annotated[
        str | None,
        typer.Option(
            "--json",
            metavar="PATH",
            help="Also write the builds, points and jumps as JSON. E.g. --json history.json.",
        ),
    ] = None,
    markdown: Annotated[
        str | None, typer.Option("--markdown", metavar="PATH", help=_help_of("markdown"))
    ] = None,
    markdown_marker: Annotated[
        str | None,
        typer.Option("--markdown-marker", metavar="ID", help=_help_of("markdown_marker")),
    ] = None,
    static: Annotated[bool, typer.Option("--static", help=_help_of("static"))] = False,
    timestamp: Annotated[
        bool, typer.Option("--timestamp/--no-timestamp", help=_help_of("timestamp"))
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Draw how each headline metric moved over earlier builds: one chart per metric and
    kind, a line per model with its stored 95% interval, each build's significant changes
    against its baseline marked, value gates as rules, and the largest jumps in a table.

    Exit codes: 0, 2 bad input.
    """
    from reportgen.options import check_marker
    from reportgen.render import fallbacks

    o: dict[str, Any] = {
        "runs": list(summaries),
        "histories": [],
        "embeddings": [],
        "output": output,
        "json_path": json_path,
        "markdown": markdown,
        "markdown_marker": markdown_marker,
        "junit": None,
        "eml": None,
        "static": static,
        "email_to": None,
        "email_subject": None,
        "email_from": None,
        "eml_attach": "report",
    }
    fallbacks.start()
    try:
        try:
            check_marker(markdown_marker)
        except ValueError as exc:
            raise ReportgenError(f"--markdown-marker {exc}") from None
        from reportgen.history import history_report, summary_paths

        check_outputs({**o, "runs": [str(p) for p in summary_paths(summaries)]})
        report = history_report(summaries, order_by=order_by, title=title, timestamp=timestamp)
        written = write_outputs(report, o)
    except ReportgenError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(
            f"{exc.filename or 'an output'}: cannot read or write ({exc.strerror})"
        ) from None
    finally:
        fallbacks.stop()
    if not quiet:
        line("Wrote " + ", ".join(map(str, written)))


def main() -> None:
    """Console-script entry point. The process ends without unloading the libraries it
    imported (pandas, pyarrow and Altair take about 0.4 s to tear down): by then every output
    is written, renamed into place and closed, and the streams are flushed here."""
    try:
        app(prog_name="reportgen")
        code = 0
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception:  # --debug lets the error through: a bug is exit 3, not a failed gate's 1
        traceback.print_exc()
        print("reportgen: internal error (traceback above); please report it", file=sys.stderr)
        code = 3
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
