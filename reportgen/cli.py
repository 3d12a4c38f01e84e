"""The command line: parses options and calls the library, nothing more."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from reportgen import __version__
from reportgen.errors import ReportgenError

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
stderr = Console(stderr=True, highlight=False)


class TaskOption(StrEnum):
    binary = "binary"
    multiclass = "multiclass"
    generation = "generation"


class HistoryScale(StrEnum):
    auto = "auto"
    linear = "linear"
    log = "log"


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


@contextmanager
def _progress(quiet: bool) -> Iterator[object]:
    """A spinner with the current step on stderr, only when a person is watching."""
    if quiet or not stderr.is_terminal:
        yield lambda message: None
        return
    with stderr.status("Starting") as status:
        yield lambda message: status.update(message)


def _fail(message: str) -> typer.Exit:
    stderr.print(f"reportgen: error: {message}", markup=False, soft_wrap=True)
    return typer.Exit(code=2)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  reportgen build runs/model.csv -o report.html\n\n"
        "  reportgen build baseline=v1.parquet candidate=v2.parquet -o report.html "
        "--json summary.json\n\n"
        "  reportgen build v1.csv v2.csv v3.csv --baseline v2 --bootstrap 2000 --seed 7\n\n"
        "  reportgen build a.jsonl b.jsonl --task binary --positive-label spam --threshold 0.3\n\n"
        "  reportgen build preds.csv --label-col gold --pred-col answer --score-col p_yes\n\n"
        "  reportgen build base=lm-eval/llama-3-8b/ instruct=lm-eval/llama-3-8b-instruct/ "
        "base=ppl-base.csv instruct=ppl-instruct.csv --benchmark-metric gsm8k=exact_match"
    ),
)
def build(
    runs: Annotated[
        list[str],
        typer.Argument(
            help="Run files as PATH or NAME=PATH (CSV, TSV, JSON Lines, JSON, Parquet; "
            ".csv/.tsv/.jsonl may be gzipped), run directories holding predictions.<ext> "
            "and run.json, lm-eval results JSON files or output folders (results_*.json, "
            "samples_<task>_*.jsonl). The name defaults to the file stem. One NAME may be "
            "given to runs of different kinds (classification, perplexity: nll + num_tokens "
            "columns, generation: free-text label + prediction, lm-eval results).",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the HTML report.")
    ] = Path("report.html"),
    json_path: Annotated[
        Path | None,
        typer.Option(
            "--json",
            help="Also write a machine-readable JSON summary here, e.g. --json summary.json.",
        ),
    ] = None,
    title: Annotated[
        str | None, typer.Option(help="Report title; default: the run names and the task.")
    ] = None,
    task: Annotated[
        TaskOption | None,
        typer.Option(
            help="Force the task instead of detecting it from classes and scores; "
            "generation scores free-text predictions by exact match and token F1."
        ),
    ] = None,
    positive_label: Annotated[
        str | None,
        typer.Option(
            help="The positive class of a binary task, e.g. --positive-label spam. "
            "Default: 1, True, yes, pos or positive, whichever occurs."
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Binary: predict positive when score >= THRESHOLD, replacing any "
            "prediction column, e.g. --threshold 0.3. Default: use the prediction "
            "column, or 0.5 when there is none."
        ),
    ] = None,
    label_col: Annotated[
        str | None,
        typer.Option(
            help="Column holding the true class (default: label or an "
            "alias such as y_true, target, gold)."
        ),
    ] = None,
    pred_col: Annotated[
        str | None,
        typer.Option(
            help="Column holding the predicted class (default: prediction, pred, y_pred, ...)."
        ),
    ] = None,
    score_col: Annotated[
        str | None,
        typer.Option(
            help="Column holding the positive-class score of a binary "
            "run (default: score, prob, probability, ...)."
        ),
    ] = None,
    id_col: Annotated[
        str | None,
        typer.Option(help="Column holding example ids (default: id, example_id, uid, doc_id)."),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            help="The run the others are compared with, by name, e.g. --baseline v1. "
            "Default: the first run."
        ),
    ] = None,
    unpaired: Annotated[
        bool,
        typer.Option(
            "--unpaired",
            help="Compare runs as independent samples even when they "
            "share example ids (for runs on different examples).",
        ),
    ] = False,
    bootstrap: Annotated[
        int,
        typer.Option(
            help="Bootstrap replicates for confidence intervals and paired tests; "
            "0 turns intervals off, e.g. --bootstrap 2000."
        ),
    ] = 1000,
    seed: Annotated[
        int, typer.Option(help="Random seed of the bootstrap: the same seed, the same report.")
    ] = 0,
    top_k: Annotated[
        int, typer.Option(help="Examples per error-analysis list, e.g. --top-k 50.")
    ] = 20,
    text_col: Annotated[
        str | None,
        typer.Option(
            help="Column with each example's text, shown in error analysis. "
            "Default: text, input or prompt, if present."
        ),
    ] = None,
    slice_: Annotated[
        list[str] | None,
        typer.Option(
            "--slice",
            help="Metadata column to break every metric down by; "
            "repeatable, e.g. --slice country --slice age.",
        ),
    ] = None,
    slice_bins: Annotated[
        int, typer.Option(help="Quantile bins for a numeric --slice column, e.g. --slice-bins 5.")
    ] = 4,
    min_slice_size: Annotated[
        int,
        typer.Option(
            help="Slices with fewer examples are shown greyed and never named "
            "worst, e.g. --min-slice-size 100."
        ),
    ] = 30,
    benchmark_metric: Annotated[
        list[str] | None,
        typer.Option(
            help="lm-eval: the metric to rank a task by, instead of acc_norm > acc > "
            "exact_match; repeatable, e.g. --benchmark-metric gsm8k=exact_match,flexible-extract.",
        ),
    ] = None,
    history: Annotated[
        list[str] | None,
        typer.Option(
            help="A model's training history as NAME=PATH (long form step,split,metric,value "
            "or wide form step,train_loss,val_loss,...); repeatable, e.g. "
            "--history v2=runs/v2/history.csv. A history.csv inside a run folder is found "
            "without this.",
        ),
    ] = None,
    history_scale: Annotated[
        HistoryScale,
        typer.Option(
            help="Y axis of loss curves: log, linear, or auto (log when the loss spans more "
            "than 10x)."
        ),
    ] = HistoryScale.auto,
    timestamp: Annotated[
        bool, typer.Option(help="Show the generation time (SOURCE_DATE_EPOCH if set).")
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Build one HTML report comparing RUNS side by side."""
    from reportgen.ingest import ColumnNames
    from reportgen.report import build_report

    columns = ColumnNames(label=label_col, prediction=pred_col, score=score_col, id=id_col)
    try:
        with _progress(quiet) as say:
            report = build_report(
                runs,
                title=title,
                task=task.value if task else None,
                positive_label=positive_label,
                threshold=threshold,
                columns=columns,
                timestamp=timestamp,
                baseline=baseline,
                unpaired=unpaired,
                bootstrap=bootstrap,
                seed=seed,
                top_k=top_k,
                text_col=text_col,
                slices=slice_ or [],
                slice_bins=slice_bins,
                min_slice_size=min_slice_size,
                benchmark_metrics=benchmark_metric or [],
                histories=history or [],
                history_scale=history_scale.value,
                progress=say,  # type: ignore[arg-type]
            )
            say("Writing the report")  # type: ignore[operator]
            report.save(output)
            if json_path is not None:
                report.save(json_path, format="json")
    except ReportgenError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"{exc.filename or output}: cannot write ({exc.strerror})") from None
    if not quiet:
        stderr.print(f"Wrote {output}" + (f" and {json_path}" if json_path else ""))


@app.command(
    epilog="Example:\n\n  reportgen demo -o /tmp/demo   (then open /tmp/demo/report.html)",
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
    real lm-eval results of Llama 3 8B and 8B-Instruct plus generated perplexity,
    question-answering, sample-log and training-history runs.
    """
    from reportgen.demo import write_demo_runs
    from reportgen.demo_lm import write_lm_demo_runs
    from reportgen.report import build_report

    try:
        with _progress(quiet) as say:
            say("Training demo models")  # type: ignore[operator]
            plans = [*write_demo_runs(output), write_lm_demo_runs(output / "llm")]
            for plan in plans:
                report = build_report(plan.runs, title=plan.title, progress=say)  # type: ignore[arg-type]
                report.save(plan.html)
                report.save(plan.json)
    except ReportgenError as exc:
        raise _fail(str(exc)) from None
    for plan in plans:
        typer.echo(f"{plan.title}: {plan.html.resolve()}")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="reportgen")


if __name__ == "__main__":
    sys.exit(main())
