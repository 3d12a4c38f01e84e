"""Every option of a build, declared once: name, type, default, help, example, where it shows.

From :data:`OPTIONS` come the ``reportgen build`` options (:mod:`reportgen.cli`), the keys of a
config file (:mod:`reportgen.config`), :func:`reportgen.build_report`'s keyword arguments, their
checks and its docstring, and :class:`Options`, what the kinds read. Adding an option is one
:class:`Option` here plus the code that uses it.

Imports the standard library only: ``reportgen --help`` builds its options from this module.
"""

from __future__ import annotations

import inspect
import math
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, make_dataclass
from pathlib import Path
from typing import Any

from reportgen.errors import ReportgenError

# value types: one word each, mapped to Python and command-line types by their users
TYPES = {
    "text": str,
    "int": int,
    "float": float,
    "flag": bool,
    "texts": list,  # repeatable on the command line, a list in Python and config files
    "path": Path,
}
# the headings of ``reportgen build --help``, in their order
PANELS = ("Inputs", "Comparison", "Slices", "Gates", "Outputs", "Email", "Engine")


@dataclass(frozen=True)
class Option:
    """One option. ``check`` turns the given value into the value the kinds read (or raises
    ``ValueError`` with the reason, which the caller prefixes with the option)."""

    name: str  # the Python keyword, the Options field and the command's parameter
    type: str  # a key of TYPES
    default: Any
    help: str  # what it does, one or two sentences, without the example
    example: Any  # a value as Python takes it; the command-line form is derived
    group: str  # the heading of ``reportgen build --help``
    flag: str = ""  # the long option, when not --name-with-dashes (e.g. --slice)
    short: str = ""
    metavar: str = ""
    choices: tuple[str, ...] = ()
    low: float | None = None  # inclusive bounds of a number
    high: float | None = None
    check: Callable[[Any], Any] | None = None
    scope: str = "build"  # a build_report keyword, or "cli": the command's own (outputs, terminal)
    negatable: bool = False  # a flag with --no-<flag> (default True flags)
    objects: bool = False  # in Python, items may also be loaded objects (a History)

    @property
    def long(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def key(self) -> str:
        """Its key in a config file (``-`` or ``_`` both work)."""
        return self.long[2:]

    def cli_example(self) -> str:
        """The example as typed in a shell: ``--slice country --slice age``."""
        values = self.example if isinstance(self.example, list) else [self.example]
        if self.type == "flag":
            return self.long if self.example else f"--no-{self.long[2:]}"
        return " ".join(f"{self.long} {shlex.quote(str(v))}" for v in values)

    def python_example(self) -> str:
        return f"{self.name}={self.example!r}"

    def described(self) -> str:
        return f"{self.help} E.g. {self.cli_example()}."


def parse_costs(text: str | None) -> dict[str, float]:
    """``FP=1,FN=5`` as outcome -> cost (any of TP, FP, FN, TN, case-insensitive; the rest
    cost 0)."""
    if text is None:
        return {}
    values: dict[str, float] = {}
    for part in text.replace(" ", "").split(","):
        key, sep, number = part.partition("=")
        key = key.lower()
        if not sep or key not in ("tp", "fp", "fn", "tn"):
            raise ValueError(f"{part!r} is not OUTCOME=COST; give e.g. --cost FP=1,FN=5")
        if key in values:
            raise ValueError(f"{key.upper()} is given twice")
        try:
            value = float(number)
        except ValueError:
            raise ValueError(
                f"{part!r}: the cost {number!r} is not a number; separate outcomes with "
                "commas, e.g. FP=1,FN=5"
            ) from None
        if not math.isfinite(value):
            raise ValueError(f"{part!r}: the cost must be a finite number")
        values[key] = value
    get = values.get
    if get("fp", 0.0) - get("tn", 0.0) == 0 and get("fn", 0.0) - get("tp", 0.0) == 0:
        raise ValueError(
            "every threshold costs the same; a false positive or a false negative must cost "
            "more than being right, e.g. FP=1,FN=5"
        )
    return {k: values.get(k, 0.0) for k in ("tp", "fp", "fn", "tn")}


def parse_task_metrics(items: Sequence[str]) -> dict[str, str]:
    """``TASK=METRIC`` pairs; METRIC may carry its filter (``exact_match,flexible-extract``)."""
    found = {}
    for item in items:
        task, sep, metric = item.partition("=")
        if not sep or not task.strip() or not metric.strip():
            raise ValueError(f"{item!r}: write TASK=METRIC, e.g. gsm8k=exact_match")
        found[task.strip()] = metric.strip()
    return found


LABEL_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
# control characters, and those that reorder or hide text (formatting.HIDDEN's set; this
# module imports the standard library only)
_HIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def parse_labels(items: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` labels of a build (``commit=3f2c1a9``), in the order given; a key is
    letters, digits, ``_``, ``.`` or ``-``; the value is any text on one line."""
    found: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not LABEL_KEY.fullmatch(key):
            raise ValueError(
                f"{item!r}: write KEY=VALUE with a key of letters, digits, _ . or -, e.g. "
                "commit=3f2c1a9"
            )
        if key in found:
            raise ValueError(f"{key!r} is given twice")
        if any(ch in value for ch in "\r\n"):
            raise ValueError(f"{key!r}: the value must be on one line")
        hidden = next((ch for ch in value if _HIDDEN.match(ch)), None)
        if hidden is not None:
            raise ValueError(
                f"{key!r}: the value holds U+{ord(hidden):04X}, a control character or one "
                "that reorders or hides text; write it without"
            )
        found[key] = value
    return found


def check_marker(value: str | None) -> str | None:
    """A --markdown-marker ID: letters, digits, ``_ . -``: nothing that could end a comment."""
    if value is not None and not LABEL_KEY.fullmatch(value):
        raise ValueError(f"{value!r}: use letters, digits, _ . or -, e.g. pr-report")
    return value


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError("give a finite number, e.g. 0.3")
    return value


def _positive(value: float) -> float:
    if not (math.isfinite(value) and value > 0):
        raise ValueError("give a positive number, e.g. 0.01")
    return value


def _boundary_features(text: str | None) -> tuple[str, str] | None:
    """``F0,F1``: two distinct feature names (``--boundary-features``)."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise ValueError("give two feature names separated by a comma, e.g. alcohol,proline")
    if parts[0] == parts[1]:
        raise ValueError("the two features must differ")
    return parts[0], parts[1]


def _files(
    name: str, example: str, *, help: str, metavar: str = "NAME=PATH", **more: Any
) -> Option:
    """A repeatable option of input files, ``NAME=PATH`` unless said (``--embeddings``, ...)."""
    return Option(name, "texts", (), help, [example], "Inputs", metavar=metavar, **more)


OPTIONS: tuple[Option, ...] = (
    # Inputs
    Option("title", "text", None, "Report title; default: the run names and the task.",
           "churn model: v2 vs v1", "Outputs", metavar="TEXT"),
    Option("labels", "texts", (),
           "A label of this build as KEY=VALUE, e.g. the commit or branch; repeatable. Shown "
           "under the title and kept in the JSON summary's labels, where a later trend or "
           "diff can order builds by it.", ["commit=3f2c1a9", "branch=main"], "Outputs",
           flag="--label", metavar="KEY=VALUE", check=parse_labels),
    Option("task", "text", None,
           "Force the task instead of detecting it from the columns: multilabel reads "
           "'labels'/'predictions' lists or label_<name>/pred_<name> 0/1 columns; regression "
           "reads a numeric label and prediction (detected when the label is a float with many "
           "distinct values); generation scores free-text predictions by exact match and token "
           "F1.", "regression", "Inputs",
           choices=("binary", "multiclass", "multilabel", "regression", "generation")),
    Option("positive_label", "text", None,
           "The positive class of a binary task. Default: 1, True, yes, pos or positive, "
           "whichever occurs.", "spam", "Inputs", metavar="LABEL"),
    Option("threshold", "float", None,
           "Binary: predict positive when score >= THRESHOLD, replacing any prediction column. "
           "Default: use the prediction column, or 0.5 when there is none.", 0.3, "Inputs",
           metavar="SCORE", check=_finite),
    Option("label_col", "texts", (),
           "Column of the true class (default: label or an alias, see docs/inputs.md); "
           "NAME=COLUMN for one run; a dotted path reads nested records (cot.answer).",
           ["gold"], "Inputs", metavar="[NAME=]COLUMN"),
    Option("pred_col", "texts", (), "Column of the predicted class or answer; as --label-col.",
           ["answer"], "Inputs", metavar="[NAME=]COLUMN"),
    Option("score_col", "texts", (), "Column of a binary run's positive-class score (or a "
           "grader's score); as --label-col.", ["p_yes"], "Inputs", metavar="[NAME=]COLUMN"),
    Option("id_col", "texts", (), "Example ids.", ["uid"], "Inputs", metavar="[NAME=]COLUMN"),
    Option("header", "flag", True, "--no-header: CSV/TSV run files have no header row; "
           "--columns names their columns.", False, "Inputs", negatable=True),
    Option("column_names", "text", None, "A headerless file's columns, in order.",
           "id,label,prediction", "Inputs", flag="--columns", metavar="A,B,..."),
    Option("labels_file", "path", None,
           "A file of ids and labels joined to the prediction files by id, or by row order "
           "when they have no id column and the counts match.", "train.csv", "Inputs",
           flag="--labels", metavar="PATH"),
    Option("models_from_columns", "text", None,
           "Columns that each hold one model's predictions or scores: one run per column. (A "
           "'model' column with several values splits a file without this.)", "lgbm,xgb",
           "Inputs", metavar="A,B,..."),
    Option("where", "text", None, "Evaluate the rows where this pandas DataFrame.query "
           "expression holds (memory engine).", "split == 'test'", "Inputs", metavar="EXPR"),
    Option("text_col", "text", None,
           "Column with each example's text, shown in error analysis. Default: text, input or "
           "prompt, if present.", "question", "Inputs", metavar="COLUMN"),
    Option("benchmark_metrics", "texts", (),
           "lm-eval: the metric to rank a task by, instead of acc_norm > acc > exact_match; "
           "repeatable.", ["gsm8k=exact_match,flexible-extract"], "Inputs",
           flag="--benchmark-metric", metavar="TASK=METRIC", check=parse_task_metrics),
    _files("histories", "v2=runs/v2/history.csv", flag="--history", objects=True,
           help="A model's training history as NAME=PATH (long form step,split,metric,value or "
           "wide form step,train_loss,val_loss,...; a Hugging Face trainer_state.json, a Keras "
           "history JSON or CSVLogger log, a Lightning metrics.csv, a TensorBoard scalar CSV); "
           "repeatable, and enough without runs. A history.csv inside a run folder is found "
           "without this."),
    _files("embeddings", "v2=runs/v2-embeddings.npy",
           help="A classification run's embeddings as NAME=PATH to an n x d .npy file (one row "
           "per example, in the run's order) or Embedding Projector vectors.tsv (metadata.tsv "
           "beside it: an id column aligns them); repeatable. An 'embedding' column of list "
           "values works without this. Adds PCA and t-SNE projections and the silhouette of the "
           "true classes."),
    _files("importance", "v2=runs/v2-importance.csv",
           help="A model's feature importance table as NAME=PATH (CSV, TSV, JSON Lines, JSON or "
           "Parquet; columns feature, importance, optional std and method); repeatable. Runs "
           "that carry shap_<feature> columns add their contributions without this. Adds the top "
           "features of every model, rank agreement with the baseline, a beeswarm of the "
           "contributions and their additivity check."),
    Option("importance_top", "int", 15,
           "Feature importance: how many features the chart draws and the top-k overlap "
           "compares.", 10, "Inputs", metavar="K", low=1, high=50),
    _files("robustness_tables", "robustbench.csv", flag="--robustness-table", metavar="PATH",
           help="An aggregated robustness table (columns model, perturbation, severity, metric, "
           "value; perturbation 'none' for the clean value); repeatable. Adds its models to the "
           "robustness views: accuracy against severity, clean against perturbed, mCE."),
    _files("attention", "v2=runs/v2-attention", metavar="NAME=DIR",
           help="A model's attention maps as NAME=DIR, a folder with one <id>.npz per example "
           "holding 'tokens' (strings) and 'attention' (layers x heads x tokens x tokens); "
           "repeatable. Adds heatmaps of up to 12 examples with a layer and head selector."),
    Option("max_points", "int", 3000,
           "Embedding views: the size of the deterministic sample (per run) that is projected "
           "and scored; only these rows are read.", 1000, "Inputs", metavar="N", low=10),
    _files("attributions", "v2=runs/v2-attributions.jsonl",
           help="A classification run's token attributions as NAME=PATH to a JSON Lines file, one "
           "example per line: id, tokens, attributions (one number per token), optionally "
           "method, target, convergence_delta (Captum's and inseq's shape); repeatable. Shows "
           "token strips for the examples the models disagree on, then the confident mistakes."),
    _files("boundary", "v2=runs/v2-grid.csv",
           help="A classification model's decision-boundary grid as NAME=PATH: columns x0, x1 (a "
           "regular grid over two features), then score (binary) or prob_<class>/prediction "
           "(multiclass); repeatable. Draws each model's decision regions with the run's "
           "examples overlaid (the run needs the two feature columns) and where candidates and "
           "the baseline disagree."),
    Option("boundary_features", "text", None,
           "The two features of the --boundary grids' x0 and x1, as columns of the runs "
           "(default: 'features' in the grid's .meta.json sidecar).", "alcohol,proline",
           "Inputs", metavar="F0,F1", check=_boundary_features),
    # Comparison
    Option("baseline", "text", None,
           "The run the others are compared with, by name. Default: the first run.", "v1",
           "Comparison", metavar="NAME"),
    Option("unpaired", "flag", False,
           "Compare runs as independent samples even when they share example ids (for runs on "
           "different examples).", True, "Comparison"),
    Option("repeats", "flag", False,
           "Runs given the same NAME are repeats of one model (e.g. seeds): one leaderboard row "
           "with the mean, the spread and an interval that counts the seeds' spread, as in "
           "v2=seed0.csv v2=seed1.csv --repeats. A seed or repeat column, or a seed key in "
           "run.json, declares repeats without it.", True, "Comparison"),
    Option("multiplicity", "text", "per-comparison",
           "Which tests are corrected together (max-T where the metrics' joint bootstrap gives "
           "their correlation, else Holm): each candidate against its baseline over its metrics "
           "(per-comparison), every test of the report (report), or none.", "report",
           "Comparison", choices=("per-comparison", "report", "none")),
    Option("bootstrap", "int", 1000,
           "Bootstrap replicates for confidence intervals and paired tests; 0 turns intervals "
           "off; 1,000-10,000 give intervals to the third decimal.", 2000, "Comparison",
           metavar="N", low=0, high=1_000_000),
    Option("seed", "int", 0,
           "Random seed of the bootstrap (0 or more): the same seed, the same report.", 7,
           "Comparison", metavar="N", low=0),
    Option("cost", "text", None,
           "Binary: what each outcome costs (TP, FP, FN, TN; unnamed ones cost 0). Adds expected "
           "cost by threshold and each model's cost-optimal threshold to the page and the JSON.",
           "FP=1,FN=5", "Comparison", metavar="OUTCOME=COST,...", check=parse_costs),
    # Slices
    Option("slices", "texts", (),
           "Metadata column to break every metric down by; repeatable.", ["country", "age"],
           "Slices", flag="--slice", metavar="COLUMN"),
    Option("slice_bins", "int", 4, "Quantile bins for a numeric --slice column.", 5, "Slices",
           metavar="N", low=1, high=100),
    Option("min_slice_size", "int", 30,
           "Slices with fewer examples are shown greyed and never named worst.", 100, "Slices",
           metavar="N", low=1),
    # Gates
    Option("fail_if", "texts", (),
           "A CI gate: exit 1 (after writing every output) when EXPR is true; repeatable. EXPR "
           "is METRIC OP NUMBER, delta(METRIC) OP NUMBER (candidate minus baseline), "
           "regression(METRIC) (significantly worse than the baseline) or regression(METRIC) by "
           "COLUMN (worse on any value of a --slice column), or lower(delta(METRIC)) OP NUMBER "
           "and upper(delta(METRIC)) OP NUMBER (an end of the adjusted interval of the delta: "
           "'lower(delta(f1)) < -0.01' fails unless the data show f1 at most 0.01 worse), "
           "each optionally followed by 'for MODEL'; OP is < <= > >= == !=. Without 'for', "
           "every candidate is checked.",
           ["f1 < 0.90", "delta(accuracy) < -0.01", "regression(roc_auc)",
            "regression(f1) by region", "lower(delta(f1)) < -0.01",
            "latency_p99_ms > 500 for v2"], "Gates",
           metavar="EXPR"),
    Option("trend", "texts", (),
           "Earlier builds' JSON summaries (files, folders or glob patterns; repeatable): a "
           "History section with this build at the end of their trend, and a verdict clause when "
           "it breaks the trend (outside the last --trend-window builds' range and significantly "
           "worse than its baseline).", ["summaries/"], "Comparison", metavar="DIR_OR_GLOB"),
    Option("order_by", "text", "date",
           "How a trend orders builds (--trend, reportgen history): by date, commit, version, "
           "or any --label or run metadata key; builds without it first, then by generation "
           "time.", "version", "Comparison", metavar="KEY"),
    Option("trend_window", "int", 10, "How many earlier builds --trend checks this build "
           "against.", 20, "Comparison", metavar="N", low=3, high=1000),
    Option("margin", "float", 0.01,
           "The change each comparison should be able to detect: the report says how many "
           "paired examples would detect it with 80% power. A bound gate on a metric "
           "(lower(delta(f1)) < -0.02) uses its own margin.", 0.02, "Gates",
           metavar="DELTA", check=_positive),
    # Outputs
    Option("top_k", "int", 20, "Examples per error-analysis list.", 50, "Outputs", metavar="N",
           low=0),
    Option("history_scale", "text", "auto",
           "Y axis of loss curves: log, linear, or auto (log when the loss spans more than "
           "10x).", "log", "Outputs", choices=("auto", "linear", "log")),
    Option("timestamp", "flag", True, "Show the generation time (SOURCE_DATE_EPOCH if set).",
           False, "Outputs", negatable=True),
    # Engine
    Option("engine", "text", "auto",
           "Where statistics are computed: 'memory' reads every row (exact; every view), "
           "'duckdb' aggregates Parquet/CSV/JSON Lines files, globs and folders in place (binned "
           "AUC/AP within a stated bound; per-example views limited to top-k), 'spark' runs the "
           "same queries on Spark (paths Spark reads, or spark:TABLE), 'auto' uses memory while "
           "the runs fit --memory-limit and DuckDB beyond.", "duckdb", "Engine",
           choices=("auto", "memory", "duckdb", "spark")),
    Option("memory_limit", "text", None,
           "Memory budget: 'auto' switches to DuckDB when the runs would need more, and DuckDB "
           "spills to a temporary folder beyond it. Default: a quarter of this machine's "
           "memory.", "1GB", "Engine", metavar="SIZE"),
    Option("spark_master", "text", "local[*]",
           "Spark master for --engine spark when no SparkSession is active (default: local[*], "
           "every core here).", "spark://head:7077", "Engine", metavar="URL"),
    # the command's own: where outputs go and what the terminal shows
    Option("output", "path", Path("report.html"), "Where to write the HTML report.",
           "reports/v2.html", "Outputs", short="-o", metavar="PATH", scope="cli"),
    Option("json_path", "path", None, "Also write a machine-readable JSON summary here.",
           "summary.json", "Outputs", flag="--json", metavar="PATH", scope="cli"),
    Option("markdown", "text", None,
           "Also write a GitHub-flavoured summary (verdict, gates, leaderboard) to this file; "
           "'-' appends it to $GITHUB_STEP_SUMMARY when set, else prints it.", "summary.md",
           "Outputs", metavar="PATH", scope="cli"),
    Option("markdown_marker", "text", None,
           "Start the Markdown with a hidden <!-- reportgen:ID --> comment, so that a CI step "
           "can find its pull-request comment and update it in place.", "pr-report", "Outputs",
           metavar="ID", scope="cli", check=check_marker),
    Option("junit", "path", None, "Also write the gates as JUnit XML.", "gates.xml", "Gates",
           metavar="PATH", scope="cli"),
    Option("static", "flag", False,
           "Write a page with no JavaScript at all: charts as SVG images, tables as HTML; much "
           "smaller, for viewers that block scripts.", True, "Outputs", scope="cli"),
    Option("eml", "path", None,
           "Also write a ready-to-send email (.eml): a short HTML body with the key charts as "
           "images, a plain-text part, the full report attached. Nothing is sent.",
           "report.eml", "Email", metavar="PATH", scope="cli"),
    Option("eml_attach", "text", "report",
           "What --eml carries besides its body: the full report (report), the report without "
           "JavaScript, much smaller (static), or nothing (none).", "static", "Email",
           choices=("report", "static", "none"), scope="cli"),
    Option("email_to", "text", None, "To: header of --eml.", "ml-team@example.com", "Email",
           metavar="ADDRESS", scope="cli"),
    Option("email_subject", "text", None, "Subject: header of --eml (default: the report title).",
           "nightly eval", "Email", metavar="TEXT", scope="cli"),
    Option("email_from", "text", None,
           "From: header of --eml. Without it the message is a draft (X-Unsent: 1): Outlook, "
           "Thunderbird and Apple Mail open it to be sent from your own account.",
           "ci@example.com", "Email", metavar="ADDRESS", scope="cli"),
    Option("config", "path", None,
           "Read default options from this TOML file instead of the nearest reportgen.toml or "
           "pyproject.toml [tool.reportgen]; options given here win.", "ci/reportgen.toml",
           "Inputs", metavar="PATH", scope="cli"),
    Option("quiet", "flag", False, "No progress output.", True, "Outputs", short="-q",
           scope="cli"),
    Option("profile", "flag", False,
           "Print where the time went, per stage (imports, load, evaluate, verdicts, charts, "
           "fallbacks, write), to stderr; REPORTGEN_PROFILE=1 does the same.", True, "Outputs",
           scope="cli"),
    Option("debug", "flag", False,
           "Show the traceback of an internal error (exit 3) instead of one line; "
           "REPORTGEN_DEBUG=1 does the same.", True, "Outputs", scope="cli"),
)  # fmt: skip

BUILD: tuple[Option, ...] = tuple(o for o in OPTIONS if o.scope == "build")


def _python_type(option: Option) -> Any:
    base = TYPES[option.type]
    if option.type == "texts":
        return Sequence[Any] if option.objects else Sequence[str]
    return base if option.default is not None else base | None


# what the kinds and the pipeline read: every build option, checked and parsed; made only
# by resolve(), so no field has a default (a raw default is not a parsed value)
Options = make_dataclass("Options", [(o.name, Any) for o in BUILD], frozen=True)
Options.__doc__ = "Every build option, checked and parsed (``cost`` as outcome -> cost, ...)."
Options.__module__ = __name__


def _value(option: Option, value: Any) -> Any:
    """The value checked against the declaration, or ValueError with the reason."""
    if value is None:
        if option.default is None or option.type == "texts":
            return () if option.type == "texts" else None
        raise ValueError(f"give a value (default {option.default!r})")
    if option.type == "texts":
        if isinstance(value, str):
            value = [value]
        texts = all(isinstance(v, str) for v in value) if isinstance(value, Sequence) else False
        if not isinstance(value, Sequence) or not (texts or option.objects):
            raise ValueError(f"give a list of texts, e.g. {option.python_example()}")
        return tuple(value)
    if option.type == "flag":
        if not isinstance(value, bool):
            raise ValueError("give True or False")
        return value
    if option.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"give a whole number, e.g. {option.example!r}")
    elif option.type == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"give a number, e.g. {option.example!r}")
        value = float(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)  # memory_limit=2_000_000_000 means bytes
    elif option.type == "path" and isinstance(value, Path):
        value = str(value)  # labels_file=Path("train.csv")
    elif not isinstance(value, str):
        raise ValueError(f"give a text, e.g. {option.example!r}")
    if option.choices and value not in option.choices:
        raise ValueError(f"use {', '.join(option.choices)}")
    if option.low is not None and value < option.low:
        raise ValueError(f"must be {option.low:,} or more, e.g. {option.example!r}")
    if option.high is not None and value > option.high:
        raise ValueError(f"must be at most {option.high:,}, e.g. {option.example!r}")
    return value


def resolve(given: Mapping[str, Any]) -> Any:
    """:class:`Options` from keyword arguments: unknown names are a TypeError (as for any
    Python call); a bad value is a ReportgenError naming the option and what to give."""
    unknown = sorted(set(given) - {o.name for o in BUILD})
    if unknown:
        raise TypeError(
            f"build_report() got an unexpected keyword argument {unknown[0]!r}; options are: "
            + ", ".join(o.name for o in BUILD)
        )
    values = {}
    for option in BUILD:
        raw = given.get(option.name, option.default)
        try:
            value = _value(option, raw)
            values[option.name] = option.check(value) if option.check else value
        except ValueError as exc:
            shown = list(raw) if isinstance(raw, tuple | list) else raw
            raise ReportgenError(f"{option.long} {shown!r}: {exc}") from None
    return Options(**values)


def signature(head: Sequence[inspect.Parameter], tail: Sequence[inspect.Parameter]) -> Any:
    """``build_report``'s signature: its own parameters around one keyword per option."""
    keywords = [
        inspect.Parameter(
            o.name, inspect.Parameter.KEYWORD_ONLY, default=o.default, annotation=_python_type(o)
        )
        for o in BUILD
    ]
    return inspect.Signature([*head, *keywords, *tail])


def docstring() -> str:
    """The keyword arguments of ``build_report``, one paragraph each, with an example."""
    lines = ["Keyword arguments (each is also ``reportgen build``'s option and a config key):", ""]
    for o in BUILD:
        kind = {"texts": "list of str", "flag": "bool"}.get(o.type, TYPES[o.type].__name__)
        default = "()" if o.type == "texts" else repr(o.default)
        lines.append(f"{o.name} ({kind}, default {default}; {o.long})")
        lines.append(f"    {o.help} E.g. ``{o.python_example()}``.")
    return "\n".join(lines)


SHOWN_CLI = ("output", "json_path", "markdown", "junit", "static", "eml", "eml_attach")


def command_line(runs: Sequence[Any], given: Mapping[str, Any]) -> str:
    """The ``reportgen build`` command that makes a report from ``runs`` and the options in
    ``given`` (those left at their defaults are not written), quoted to be pasted in a shell."""
    words = ["reportgen", "build", *(_argument(r) for r in runs)]
    for option in OPTIONS:
        if option.scope == "cli" and option.name not in SHOWN_CLI:
            continue
        value = given.get(option.name, option.default)
        default = str(option.default) if option.type == "path" else option.default
        shown = str(value) if option.type == "path" and value is not None else value
        if value is None or shown == default or (option.type == "texts" and not value):
            continue
        if option.type == "flag":
            words.append(option.long if value else f"--no-{option.key}")
        elif option.type == "texts":
            for item in value:
                words += [option.long, _argument(item)]
        else:
            words += [option.long, str(value)]
    return shlex.join(words)


def python_call(runs: Sequence[Any], given: Mapping[str, Any]) -> str:
    """The :func:`reportgen.build_report` call with these arguments, as Python source."""
    if isinstance(runs, Mapping):  # {name: path, DataFrame or run}
        items = (f"{k!r}: {_mapped(v)}" for k, v in runs.items())
        shown = ["{" + ", ".join(items) + "}"]
    else:
        shown = [repr([_argument(r) for r in runs])]
    defaults = {o.name: o.default for o in BUILD}
    shown += [
        f"{name}={_python(value)}"
        for name, value in given.items()
        if not (name in defaults and value == defaults[name]) and value not in (None, [], ())
    ]
    return f"reportgen.build_report({', '.join(shown)})"


def _mapped(value: Any) -> str:
    """A value of a mapping of runs: a path as a string, anything in memory by its type."""
    if isinstance(value, str | Path):
        return repr(str(value))
    return f"<{type(value).__name__}>"


def _argument(run: Any) -> str:
    """A run argument as text: a path as given, a loaded run by its name and source."""
    if isinstance(run, str | Path):
        return str(run)
    if run.in_memory:  # built from arrays or a DataFrame: no path to paste
        return f"<{type(run).__name__} {run.name!r}>"
    return f"{run.name}={run.path}"


def _python(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):
        return "[" + ", ".join(_python(v) for v in value) + "]"
    return (
        repr(_argument(value)) if not isinstance(value, str | int | float | bool) else repr(value)
    )
