"""What the command line shows a person: the options' choices, help grouped under headings,
progress on stderr while a build runs, and one-line errors. Kept apart from :mod:`reportgen.cli`
(which declares the commands) so that either stays small; imports only typer and rich."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from typer.core import TyperCommand

from reportgen.formatting import escape_hidden
from reportgen.options import PANELS

try:  # Typer 0.22+ ships its own copy of click
    from typer import _click as click
except ImportError:  # pragma: no cover
    import click  # type: ignore[no-redef]

# soft_wrap: a line is never broken by the console (CI logs keep paths and commands whole)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

# ``reportgen build --help``'s examples; \b keeps click from rewrapping them
BUILD_EXAMPLES = (
    "Examples (one per line, to copy as they are):\n\n\b\n"
    "  reportgen build runs/model.csv -o report.html\n"
    "  reportgen build baseline=v1.parquet candidate=v2.parquet -o "
    "report.html --json summary.json\n"
    "  reportgen build v1.csv v2.csv v3.csv --baseline v2 --bootstrap 2000 "
    "--seed 7\n"
    "  reportgen build a.jsonl b.jsonl --task binary --positive-label spam "
    "--threshold 0.3\n"
    "  reportgen build preds.csv --label-col gold --pred-col answer "
    "--score-col p_yes\n"
    "  reportgen build prod=v1.parquet cand=v2.parquet --fail-if "
    "'regression(f1)' --fail-if 'roc_auc < 0.95 for cand' --markdown - "
    "--junit gates.xml\n"
    "  reportgen build base=lm-eval/demo-lm-7b/ "
    "chat=lm-eval/demo-lm-7b-chat/ base=ppl-base.csv chat=ppl-chat.csv "
    "--benchmark-metric gsm8k=exact_match\n"
    "  reportgen build price-v1=v1.csv price-v2=v2.csv --task regression "
    "--slice region\n"
    "  reportgen build tagger=tags.jsonl encoder=classes.parquet "
    "--embeddings encoder=encoder-vectors.npy --max-points 2000\n"
)


class GroupedCommand(TyperCommand):
    """Plain-text help with the options under headings (their ``rich_help_panel``: inputs,
    comparison, slices, gates, outputs, email, engine) and arguments shown by their metavar,
    without the rich renderer (which costs --help a fifth of a second)."""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        arguments = [p.metavar or p.name.upper() for p in self.params if _is_argument(p)]
        return [self.options_metavar or "[OPTIONS]", *arguments]

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        groups: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if _is_argument(param):  # the metavar alone, not Typer's type placeholder
                record = (param.metavar or param.name.upper(), record[1])
            panel = getattr(param, "rich_help_panel", None) or "Other options"
            groups.setdefault(panel, []).append(record)
        order = {name: i for i, name in enumerate(PANELS)}
        for panel in sorted(groups, key=lambda name: order.get(name, len(order))):
            with formatter.section(panel):
                formatter.write_dl(groups[panel])


def _is_argument(param: click.Parameter) -> bool:
    return param.param_type_name == "argument"


@contextmanager
def progress(quiet: bool) -> Iterator[object]:
    """A spinner with the current step on stderr, only when a person is watching."""
    if quiet or not stderr.is_terminal:
        yield lambda message: None
        return
    with stderr.status("Starting") as status:
        yield lambda message: status.update(message)


@contextmanager
def steps(quiet: bool, total: int) -> Iterator[Callable[..., None]]:
    """A progress bar over ``total`` steps with the current one named, on stderr, only when a
    person is watching: ``step(text)`` names what runs now, ``step(text, advance=True)`` ends
    a step."""
    if quiet or not stderr.is_terminal:
        yield lambda text, advance=False: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    columns = (
        SpinnerColumn(),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, console=stderr, transient=True) as progress:
        task = progress.add_task("Starting", total=total)

        def step(text: str, advance: bool = False) -> None:
            progress.update(task, description=text, advance=1 if advance else 0)

        yield step


def visible(text: str) -> str:
    """Text safe to print: each control, bidi or invisible character as an escape (\\n,
    \\x1b, \\u202e), so a file or column name can neither drive the terminal nor read as
    something it is not."""
    return escape_hidden(text)


def line(text: str) -> None:
    """One line on stderr, as :func:`visible` makes it."""
    stderr.print(visible(text), markup=False, soft_wrap=True, highlight=False)


def fail(message: str) -> typer.Exit:
    """Exit 2 with one line, whatever the message quotes: a column or file name holding a
    line break shows it as \\n, an escape sequence as \\x1b."""
    line(f"reportgen: error: {message}")
    return typer.Exit(code=2)


def internal(exc: Exception) -> typer.Exit:
    """Exit 3: a bug, not bad input. One line; the traceback with --debug."""
    text = " ".join(str(exc).split())[:300]
    line(
        f"reportgen: internal error: {type(exc).__name__}: {text}; no output was replaced. "
        "Please report it (rerun with --debug or REPORTGEN_DEBUG=1 for the traceback)"
    )
    return typer.Exit(code=3)
