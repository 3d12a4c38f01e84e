"""The command line: parses options and calls the library, nothing more."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from reportgen import __version__
from reportgen.config import build_arguments, with_config
from reportgen.errors import ReportgenError
from reportgen.terminal import (
    BUILD_EXAMPLES,
    EngineOption,
    GroupedCommand,
    HistoryScale,
    Multiplicity,
    TaskOption,
    fail,
    internal,
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


@app.command(
    cls=GroupedCommand,
    epilog=BUILD_EXAMPLES,
)
def build(
    ctx: typer.Context,
    runs: Annotated[
        list[str],
        typer.Argument(
            rich_help_panel="Inputs",
            metavar="RUNS...",
            help="Run files as PATH or NAME=PATH (CSV, TSV, JSON Lines, JSON, Parquet; "
            ".csv/.tsv/.jsonl may be gzipped), run directories holding predictions.<ext> "
            "and run.json, lm-eval results JSON files or output folders (results_*.json, "
            "samples_<task>_*.jsonl). The name defaults to the file stem. One NAME may be "
            "given to runs of different kinds (classification, regression: numeric label + "
            "prediction, multilabel: lists of labels, perplexity: nll + num_tokens columns, "
            "generation: free-text label + prediction, lm-eval results).",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            rich_help_panel="Outputs",
            metavar="PATH",
            help="Where to write the HTML report, e.g. -o reports/v2.html.",
        ),
    ] = Path("report.html"),
    json_path: Annotated[
        Path | None,
        typer.Option(
            "--json",
            rich_help_panel="Outputs",
            metavar="PATH",
            help="Also write a machine-readable JSON summary here, e.g. --json summary.json.",
        ),
    ] = None,
    title: Annotated[
        str | None,
        typer.Option(
            rich_help_panel="Outputs",
            metavar="TEXT",
            help="Report title, e.g. --title 'churn model: v2 vs v1'; default: the run names "
            "and the task.",
        ),
    ] = None,
    task: Annotated[
        TaskOption | None,
        typer.Option(
            rich_help_panel="Inputs",
            help="Force the task instead of detecting it from the columns: multilabel reads "
            "'labels'/'predictions' lists or label_<name>/pred_<name> 0/1 columns; regression "
            "reads a numeric label and prediction (detected when the label is a float with "
            "many distinct values); generation scores free-text predictions by exact match "
            "and token F1. E.g. --task regression.",
        ),
    ] = None,
    positive_label: Annotated[
        str | None,
        typer.Option(
            rich_help_panel="Inputs",
            metavar="LABEL",
            help="The positive class of a binary task, e.g. --positive-label spam. "
            "Default: 1, True, yes, pos or positive, whichever occurs.",
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            rich_help_panel="Inputs",
            metavar="SCORE",
            help="Binary: predict positive when score >= THRESHOLD, replacing any "
            "prediction column, e.g. --threshold 0.3. Default: use the prediction "
            "column, or 0.5 when there is none.",
        ),
    ] = None,
    cost: Annotated[
        str | None,
        typer.Option(
            rich_help_panel="Comparison",
            metavar="OUTCOME=COST,...",
            help="Binary: what each outcome costs, e.g. --cost FP=1,FN=5 (TP, FP, FN, TN; "
            "unnamed ones cost 0). Adds expected cost by threshold and each model's "
            "cost-optimal threshold to the page and the JSON.",
        ),
    ] = None,
    label_col: Annotated[
        str | None,
        typer.Option(
            rich_help_panel="Inputs",
            metavar="COLUMN",
            help="Column holding the true class (default: label or an "
            "alias such as y_true, target, gold), e.g. --label-col gold.",
        ),
    ] = None,
    pred_col: Annotated[
        str | None,
        typer.Option(
            rich_help_panel="Inputs",
            metavar="COLUMN",
            help="Column holding the predicted class (default: prediction, pred, y_pred, ...), "
            "e.g. --pred-col answer.",
        ),
    ] = None,
    score_col: Annotated[
        str | None,
        typer.Option(
            rich_help_panel="Inputs",
            metavar="COLUMN",
            help="Column holding the positive-class score of a binary "
            "run (default: score, prob, probability, ...), e.g. --score-col p_yes.",
        ),
    ] = None,
    id_col: Annotated[
        str | None,
        typer.Option(
            rich_help_panel="Inputs",
            metavar="COLUMN",
            help="Column holding example ids (default: id, example_id, uid, doc_id), e.g. "
            "--id-col uid.",
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            rich_help_panel="Comparison",
            metavar="NAME",
            help="The run the others are compared with, by name, e.g. --baseline v1. "
            "Default: the first run.",
        ),
    ] = None,
    unpaired: Annotated[
        bool,
        typer.Option(
            "--unpaired",
            rich_help_panel="Comparison",
            help="Compare runs as independent samples even when they "
            "share example ids (for runs on different examples).",
        ),
    ] = False,
    repeats: Annotated[
        bool,
        typer.Option(
            "--repeats",
            rich_help_panel="Comparison",
            help="Runs given the same NAME are repeats of one model (e.g. seeds): one "
            "leaderboard row with the mean, the spread and an interval that counts the "
            "seeds' spread, e.g. v2=seed0.csv v2=seed1.csv --repeats. A seed or repeat "
            "column, or a seed key in run.json, declares repeats without it.",
        ),
    ] = False,
    multiplicity: Annotated[
        Multiplicity,
        typer.Option(
            rich_help_panel="Comparison",
            help="Which tests are corrected together (max-T where the metrics' joint bootstrap "
            "gives their correlation, else Holm): each candidate against its baseline over its "
            "metrics (per-comparison), every test of the report (report), or none, e.g. "
            "--multiplicity report.",
        ),
    ] = Multiplicity.per_comparison,
    bootstrap: Annotated[
        int,
        typer.Option(
            rich_help_panel="Comparison",
            metavar="N",
            help="Bootstrap replicates for confidence intervals and paired tests; "
            "0 turns intervals off, e.g. --bootstrap 2000.",
        ),
    ] = 1000,
    seed: Annotated[
        int,
        typer.Option(
            rich_help_panel="Comparison",
            metavar="N",
            min=0,
            help="Random seed of the bootstrap (0 or more): the same seed, the same report; "
            "e.g. --seed 7.",
        ),
    ] = 0,
    top_k: Annotated[
        int,
        typer.Option(
            rich_help_panel="Outputs",
            metavar="N",
            min=0,
            help="Examples per error-analysis list, e.g. --top-k 50.",
        ),
    ] = 20,
    text_col: Annotated[
        str | None,
        typer.Option(
            rich_help_panel="Inputs",
            metavar="COLUMN",
            help="Column with each example's text, shown in error analysis. "
            "Default: text, input or prompt, if present. E.g. --text-col question.",
        ),
    ] = None,
    slice_: Annotated[
        list[str] | None,
        typer.Option(
            "--slice",
            rich_help_panel="Slices",
            metavar="COLUMN",
            help="Metadata column to break every metric down by; "
            "repeatable, e.g. --slice country --slice age.",
        ),
    ] = None,
    slice_bins: Annotated[
        int,
        typer.Option(
            rich_help_panel="Slices",
            metavar="N",
            min=1,
            max=100,
            help="Quantile bins for a numeric --slice column, e.g. --slice-bins 5.",
        ),
    ] = 4,
    min_slice_size: Annotated[
        int,
        typer.Option(
            rich_help_panel="Slices",
            metavar="N",
            help="Slices with fewer examples are shown greyed and never named "
            "worst, e.g. --min-slice-size 100.",
        ),
    ] = 30,
    benchmark_metric: Annotated[
        list[str] | None,
        typer.Option(
            rich_help_panel="Inputs",
            metavar="TASK=METRIC",
            help="lm-eval: the metric to rank a task by, instead of acc_norm > acc > "
            "exact_match; repeatable, e.g. --benchmark-metric gsm8k=exact_match,flexible-extract.",
        ),
    ] = None,
    history: Annotated[
        list[str] | None,
        typer.Option(
            rich_help_panel="Inputs",
            metavar="NAME=PATH",
            help="A model's training history as NAME=PATH (long form step,split,metric,value "
            "or wide form step,train_loss,val_loss,...); repeatable, e.g. "
            "--history v2=runs/v2/history.csv. A history.csv inside a run folder is found "
            "without this.",
        ),
    ] = None,
    history_scale: Annotated[
        HistoryScale,
        typer.Option(
            rich_help_panel="Outputs",
            help="Y axis of loss curves: log, linear, or auto (log when the loss spans more "
            "than 10x), e.g. --history-scale log.",
        ),
    ] = HistoryScale.auto,
    fail_if: Annotated[
        list[str] | None,
        typer.Option(
            rich_help_panel="Gates",
            metavar="EXPR",
            help="A CI gate: exit 1 (after writing every output) when EXPR is true; "
            "repeatable. EXPR is METRIC OP NUMBER, delta(METRIC) OP NUMBER (candidate minus "
            "baseline) or regression(METRIC) (significantly worse than the baseline), "
            "optionally followed by 'for MODEL'; OP is < <= > >= == !=. Without 'for', every "
            "candidate is checked. E.g. --fail-if 'f1 < 0.90' --fail-if 'delta(accuracy) < "
            "-0.01' --fail-if 'regression(roc_auc)' --fail-if 'latency_p99_ms > 500 for v2'.",
        ),
    ] = None,
    embeddings: Annotated[
        list[str] | None,
        typer.Option(
            rich_help_panel="Inputs",
            metavar="NAME=PATH",
            help="A classification run's embeddings as NAME=PATH to an n x d .npy file (one "
            "row per example, in the run's order); repeatable, e.g. --embeddings "
            "v2=runs/v2-embeddings.npy. An 'embedding' column of list values works without "
            "this. Adds PCA and t-SNE projections and the silhouette of the true classes.",
        ),
    ] = None,
    max_points: Annotated[
        int,
        typer.Option(
            rich_help_panel="Inputs",
            metavar="N",
            help="Embedding views: the size of the deterministic sample (per run) that is "
            "projected and scored; only these rows are read. E.g. --max-points 1000.",
        ),
    ] = 3000,
    engine: Annotated[
        EngineOption,
        typer.Option(
            rich_help_panel="Engine",
            help="Where statistics are computed: 'memory' reads every row (exact; every view), "
            "'duckdb' aggregates Parquet/CSV/JSON Lines files, globs and folders in place "
            "(binned AUC/AP within a stated bound; per-example views limited to top-k), "
            "'spark' runs the same queries on Spark (paths Spark reads, or spark:TABLE), "
            "'auto' uses memory while the runs fit --memory-limit and DuckDB beyond. "
            "E.g. --engine duckdb 'v1=s3-dump/v1/*.parquet' v2=v2/.",
        ),
    ] = EngineOption.auto,
    memory_limit: Annotated[
        str | None,
        typer.Option(
            rich_help_panel="Engine",
            metavar="SIZE",
            help="Memory budget: 'auto' switches to DuckDB when the runs would need more, "
            "and DuckDB spills to a temporary folder beyond it. Default: a quarter of this "
            "machine's memory. E.g. --memory-limit 1GB.",
        ),
    ] = None,
    spark_master: Annotated[
        str,
        typer.Option(
            rich_help_panel="Engine",
            metavar="URL",
            help="Spark master for --engine spark when no SparkSession is active, e.g. "
            "--spark-master spark://head:7077 (default: local[*], every core here).",
        ),
    ] = "local[*]",
    markdown: Annotated[
        str | None,
        typer.Option(
            rich_help_panel="Outputs",
            metavar="PATH",
            help="Also write a GitHub-flavoured summary (verdict, gates, leaderboard) to this "
            "file; '-' appends it to $GITHUB_STEP_SUMMARY when set, else prints it. E.g. "
            "--markdown summary.md.",
        ),
    ] = None,
    junit: Annotated[
        Path | None,
        typer.Option(
            rich_help_panel="Gates",
            metavar="PATH",
            help="Also write the gates as JUnit XML, e.g. --junit gates.xml.",
        ),
    ] = None,
    static: Annotated[
        bool,
        typer.Option(
            "--static",
            rich_help_panel="Outputs",
            help="Write a page with no JavaScript at all: charts as SVG images, tables as "
            "HTML; much smaller, for viewers that block scripts.",
        ),
    ] = False,
    eml: Annotated[
        Path | None,
        typer.Option(
            rich_help_panel="Email",
            metavar="PATH",
            help="Also write a ready-to-send email (.eml): a short HTML body with the key "
            "charts as images, a plain-text part, the full report attached. Nothing is sent. "
            "E.g. --eml report.eml --email-to team@example.com.",
        ),
    ] = None,
    email_to: Annotated[
        str | None,
        typer.Option(
            rich_help_panel="Email",
            metavar="ADDRESS",
            help="To: header of --eml, e.g. 'ml-team@example.com'.",
        ),
    ] = None,
    email_subject: Annotated[
        str | None,
        typer.Option(
            rich_help_panel="Email",
            metavar="TEXT",
            help="Subject: header of --eml (default: the report title), e.g. "
            "--email-subject 'nightly eval'.",
        ),
    ] = None,
    email_from: Annotated[
        str | None,
        typer.Option(
            rich_help_panel="Email",
            metavar="ADDRESS",
            help="From: header of --eml, e.g. 'ci@example.com'. Without it the message is a "
            "draft (X-Unsent: 1): Outlook, Thunderbird and Apple Mail open it to be sent from "
            "your own account.",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            rich_help_panel="Inputs",
            metavar="PATH",
            help="Read default options from this TOML file instead of the nearest "
            "reportgen.toml or pyproject.toml [tool.reportgen]; options given here win. "
            "E.g. --config ci/reportgen.toml.",
        ),
    ] = None,
    timestamp: Annotated[
        bool,
        typer.Option(
            rich_help_panel="Outputs", help="Show the generation time (SOURCE_DATE_EPOCH if set)."
        ),
    ] = True,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", rich_help_panel="Outputs", help="No progress output.")
    ] = False,
    profile: Annotated[
        bool,
        typer.Option(
            "--profile",
            rich_help_panel="Outputs",
            help="Print where the time went, per stage (imports, load, evaluate, verdicts, "
            "charts, fallbacks, write), to stderr; REPORTGEN_PROFILE=1 does the same.",
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            rich_help_panel="Outputs",
            help="Show the traceback of an internal error (exit 3) instead of one line; "
            "REPORTGEN_DEBUG=1 does the same.",
        ),
    ] = False,
) -> None:
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
        o = with_config(ctx, config)
        check_outputs(o)
        with progress(o["quiet"]) as say:
            report = build_report(**build_arguments(o), progress=say)
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
        if debug or os.environ.get("REPORTGEN_DEBUG") == "1":
            raise
        raise internal(exc) from None
    finally:
        fallbacks.stop()
    if report.engine != "memory" and not o["quiet"]:
        stderr.print(f"reportgen: {report.engine_note}", markup=False, soft_wrap=True)
    if not o["quiet"]:
        stderr.print("Wrote " + ", ".join(map(str, written)))
    if report.failed_gates:
        for result in report.failed_gates:
            stderr.print(
                f"reportgen: gate failed: {result.expression} ({result.detail})",
                markup=False,
                soft_wrap=True,
            )
        raise typer.Exit(code=1)


@app.command(
    epilog="Example:\n\n\b\n  reportgen demo -o /tmp/demo   (then open /tmp/demo/report.html)",
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
    report mixing regression (diabetes), multilabel tagging and embedding views (digits).
    """
    from reportgen.render import fallbacks

    fallbacks.start()  # draws every report's static charts on the second core
    from reportgen.demo.run import build_demo

    try:
        with steps(quiet, total=5) as step:
            plans = build_demo(output, step)
    except ReportgenError as exc:
        raise fail(str(exc)) from None
    finally:
        fallbacks.stop()
    typer.echo(f"Wrote {len(plans)} reports; open the first one first:")
    for number, plan in enumerate(plans, start=1):
        typer.echo(f"{number}. {plan.html.resolve()}\n   {plan.title} — {plan.about}")


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
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
