"""Attention maps (``--attention NAME=DIR``, one ``<id>.npz`` per example): per example, a
heatmap of the last layer's attention averaged over its heads, with a layer and a head
selector, the models side by side when their tokens are the same.

Which examples: those in the most models' folders first; among them, with classification
runs, those the models predict differently, then any model's mistakes, then the rest; ids in
natural order (``ex2`` before ``ex10``) within each. At most :data:`MAX_EXAMPLES`, and only
those files are read.

What the page holds is bounded whatever the input: at most :data:`MAX_FIGURES` figures (models
whose tokens differ get a figure each), the first :data:`MAX_TOKENS` tokens, fewer when several
models share a figure or the tokens' labels are long (the bytes of a figure's data, weights
and labels as the page writes them, must fit :func:`budget`), weights quantised to 64 levels
of each matrix's largest weight (one character per cell), and the selector's other matrices
only while the figure's budget lasts: the other layers' head means first (last layer
backwards), then each layer's heads. The selectors offer every layer and head (only those
carried past :data:`reportgen.charts.attention.MAX_OPTIONS`). Whatever was left out says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reportgen import formatting as fmt
from reportgen.ingest.attention import AttentionFolder, AttentionMap, list_folder, read_map
from reportgen.kinds.base import BoardPart, Context, Kind, KindResult, SummaryPart
from reportgen.model import Figure, Section, chart

MAX_EXAMPLES = 12
MAX_FIGURES = 12  # figures in the section (an example whose models' tokens differ has several)
MAX_MODELS = 3  # panels side by side in one example's figure
MAX_TOKENS = 128
MAX_TOKEN_CHARS = 30  # characters of one token on an axis (a token of a whole line is cut)
# bytes of a figure's data as the page writes it: one per weight, plus each row's quotes and
# comma (ROW_BYTES), each matrix's record, selector entry and peak (MATRIX_BYTES), and the
# token labels (label_bytes); with the static drawing, 12 figures stay under 300 kB
CELL_BUDGET = 13_000
PANEL_COST = 2_500  # a second or third panel: its own spec and its part of the static drawing
ROW_BYTES = 3
MATRIX_BYTES = 64
STILL_LABELS = 24  # the static drawing names the query tokens when there are this many at most
STILL_LABEL_COST = 2_500  # what naming them adds to its image, taken from the data's budget
LABEL_BUDGET = 2_048  # bytes of a figure's token labels (128 tokens of 12 letters)
STILL_QUALITY = 40  # the static drawing's JPEG quality: its text stays legible
SCALE_DIGITS = 4  # significant digits of a matrix's largest weight (64 levels need 2)
# 64 levels, one character each, none that JSON or HTML escapes (the chart decodes them)
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
LEVELS = len(ALPHABET) - 1
CAVEAT = (
    "Attention weights are not attributions: they show where a layer's heads read from, not "
    "which tokens changed the prediction, and later layers mix what earlier ones read."
)


@dataclass
class Panel:
    """One example's figure: the models sharing its tokens, and the matrices it carries."""

    id: str
    models: list[str]
    maps: list[AttentionMap]
    n: int  # tokens drawn
    n_tokens: int  # tokens in the files
    included: list[tuple[int, int]]  # (layer, head) carried, head 0 = mean of heads
    reason: str = ""
    labels: list[str] = field(default_factory=list)  # the n tokens as the axes name them
    label_chars: int = MAX_TOKEN_CHARS  # characters a label keeps (fewer: long tokens)

    @property
    def layers(self) -> int:
        return self.maps[0].layers

    @property
    def heads(self) -> int:
        return self.maps[0].heads


@dataclass
class AttentionResult(KindResult):
    folders: list[AttentionFolder] = field(default_factory=list)
    panels: list[Panel] = field(default_factory=list)
    pool: int = 0  # example ids in any folder
    left_models: list[str] = field(default_factory=list)  # attached but not drawn
    left_examples: int = 0  # chosen examples left out: MAX_FIGURES figures were drawn
    left_figures: int = 0  # figures of a shown example left out (models with other tokens)


def natural_key(ident: str) -> tuple[Any, ...]:
    """``ex2`` before ``ex10``: digits compare as numbers."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", ident)
        if part
    )


def quantise(matrix: np.ndarray) -> tuple[float, list[str]]:
    """A matrix as its largest weight (to :data:`SCALE_DIGITS` significant digits) and one
    string per row, a character per cell: the weight's level 0-63 of that largest weight
    (:data:`ALPHABET`), rounded to the nearest."""
    scale = float(f"{float(matrix.max(initial=0.0)):.{SCALE_DIGITS}g}")
    if scale <= 0:
        levels = np.zeros(matrix.shape, dtype=np.intp)
    else:
        levels = np.clip(np.rint(matrix / scale * LEVELS), 0, LEVELS).astype(np.intp)
    chars = np.frombuffer(ALPHABET.encode("ascii"), dtype="S1")[levels]
    n = matrix.shape[1]
    rows = np.ascontiguousarray(chars).view(f"S{n}").ravel()
    return scale, [r.decode("ascii") for r in rows]


def dequantise(scale: float, rows: list[str]) -> np.ndarray:
    """The weights a chart draws from :func:`quantise`'s output (as the browser decodes it)."""
    lookup = np.zeros(256, dtype=np.float64)
    lookup[np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)] = np.arange(LEVELS + 1)
    codes = np.frombuffer("".join(rows).encode("ascii"), dtype=np.uint8)
    return (lookup[codes] / LEVELS * scale).reshape(len(rows), -1)


def budget(models: int) -> int:
    """Bytes of data a figure of ``models`` panels may carry: :data:`CELL_BUDGET` less each
    further panel's own spec, so that figures of 1, 2 or 3 panels weigh about the same."""
    return CELL_BUDGET - PANEL_COST * (models - 1)


def matrix_bytes(models: int, n: int) -> int:
    """Bytes one (layer, head) choice costs in the page: each model's n x n weights, its rows'
    framing and its record."""
    return models * (n * n + ROW_BYTES * n + MATRIX_BYTES)


def label_bytes(tokens: Sequence[str]) -> np.ndarray:
    """Each token label's bytes as the page writes it: JSON with non-ASCII characters as
    ``\\u`` escapes (two for a character beyond the BMP), ``<>&'`` as ``\\u00XX`` (the
    page's script-safe JSON), and a comma."""
    return np.array(
        [len(json.dumps(t)) + 5 * sum(t.count(c) for c in "<>&'") + 1 for t in tokens],
        dtype=np.int64,
    )


def tokens_that_fit(labels: np.ndarray, models: int) -> int:
    """The most tokens (at least 1) whose default view and labels fit the figure's budget."""
    n = np.arange(1, len(labels) + 1)
    cost = models * (n * n + ROW_BYTES * n + MATRIX_BYTES) + np.cumsum(labels)
    return max(1, int(np.count_nonzero(cost <= budget(models))))


def plan(layers: int, heads: int, models: int, n: int, fixed: int = 0) -> list[tuple[int, int]]:
    """The (layer, head) matrices a figure carries: the last layer's head mean always, then
    the other layers' means from the last backwards, then each layer's heads, last layer
    first, while they (:func:`matrix_bytes` each) and ``fixed`` bytes (the token labels) fit
    the figure's :func:`budget`."""
    cost = matrix_bytes(models, n)
    room = max(1, (budget(models) - fixed) // cost)
    taken: list[tuple[int, int]] = []
    for layer in range(layers, 0, -1):  # the head means, last layer first
        taken.append((layer, 0))
        if len(taken) >= room:
            return taken
    for layer in range(layers, 0, -1):
        for h in range(1, heads + 1):
            taken.append((layer, h))
            if len(taken) >= room:
                return taken
    return taken


def matrix(found: AttentionMap, layer: int, head: int, n: int) -> np.ndarray:
    """Layer ``layer`` (1-based), head ``head`` (0: the mean over heads), first n tokens."""
    weights = found.weights[layer - 1, :, :n, :n]
    return weights.mean(axis=0) if head == 0 else weights[head - 1]


def panel_frame(panel: Panel) -> pd.DataFrame:
    """The chart's rows: one per row of each carried matrix, quantised (:func:`quantise`)."""
    frames = []
    q = np.arange(panel.n)
    for m, found in enumerate(panel.maps):
        for layer, head in panel.included:
            scale, rows = quantise(matrix(found, layer, head, panel.n))
            frames.append(
                pd.DataFrame({"m": m, "l": layer, "h": head, "q": q, "s": scale, "v": rows})
            )
    return pd.concat(frames, ignore_index=True)


def choose(
    folders: list[AttentionFolder], ctx: Context, limit: int
) -> tuple[list[tuple[str, str]], int]:
    """The example ids to show, with why, and how many ids the folders hold."""
    pool = sorted({i for f in folders for i in f.files}, key=natural_key)
    having = np.array([sum(i in f.files for f in folders) for i in pool])
    tier = np.full(len(pool), 2)
    found = ctx.result("classification")
    if found is not None and pool:
        index = pd.Index(pool)
        preds, wrong = [], []
        for evaluation in found.evaluations:  # type: ignore[attr-defined]
            enc = evaluation.encoded
            if not any(f.name == enc.name for f in folders):
                continue
            ids = enc.run.ids
            run_ids = pd.Index(np.arange(1, len(enc.y_true) + 1) if ids is None else ids)
            rows = run_ids.astype(str).get_indexer(index)
            ok = rows >= 0
            at = np.where(ok, rows, 0)
            preds.append(np.where(ok, enc.y_pred[at], -1))
            wrong.append(ok & (enc.y_pred[at] != enc.y_true[at]))
        if preds:
            p = np.column_stack(preds)
            seen = p >= 0
            high = np.where(seen, p, -1).max(axis=1)
            low = np.where(seen, p, np.iinfo(np.int64).max).min(axis=1)
            differ = (seen.sum(axis=1) >= 2) & (high != low)
            tier = np.where(differ, 0, np.where(np.column_stack(wrong).any(axis=1), 1, 2))
    reasons = ("models disagree", "a mistake", "")
    order = np.lexsort((np.arange(len(pool)), tier, -having))[:limit]
    return [(pool[k], reasons[tier[k]]) for k in order], len(pool)


def panels_for(ident: str, reason: str, folders: list[AttentionFolder]) -> list[Panel]:
    """One figure per group of models whose tokens and shapes are the same."""
    maps = [
        (f.name, read_map(ident, f.files[ident], MAX_TOKENS)) for f in folders if ident in f.files
    ]
    groups: dict[tuple[Any, ...], list[tuple[str, AttentionMap]]] = {}
    for name, found in maps:
        key = (found.tokens, found.n_tokens, found.layers, found.heads)
        groups.setdefault(key, []).append((name, found))
    panels = []
    for members in groups.values():
        first = members[0][1]
        chars = label_chars(first.tokens)
        labels = [token_text(t, chars) for t in first.tokens]
        sizes = label_bytes(labels)
        n = tokens_that_fit(sizes, len(members))
        panels.append(
            Panel(
                id=ident,
                models=[name for name, _ in members],
                maps=[found for _, found in members],
                n=n,
                n_tokens=first.n_tokens,
                included=plan(
                    first.layers,
                    first.heads,
                    len(members),
                    n,
                    int(sizes[:n].sum()) + STILL_LABEL_COST * (n <= STILL_LABELS),
                ),
                reason=reason,
                labels=labels[:n],
                label_chars=chars,
            )
        )
    return panels


def token_text(token: str, limit: int = MAX_TOKEN_CHARS) -> str:
    """A token as the axes and tooltips show it: control, bidi and invisible characters as
    escapes (a newline token reads \\n; an override cannot reorder the labels), at most
    ``limit`` characters."""
    shown = fmt.escape_hidden(token)
    return shown if len(shown) <= limit else shown[: max(limit - 1, 0)] + "…"


def label_chars(tokens: Sequence[str]) -> int:
    """The most characters per token label (at most :data:`MAX_TOKEN_CHARS`) whose labels
    fit :data:`LABEL_BUDGET` bytes: long or non-ASCII tokens (6 or 12 bytes a character in
    the page) are cut shorter, so that they never crowd out the weights."""
    for limit in range(MAX_TOKEN_CHARS, 1, -1):
        if label_bytes([token_text(t, limit) for t in tokens]).sum() <= LABEL_BUDGET:
            return limit
    return 1


def figure(panel: Panel, number: int, colours: dict[str, str]) -> Figure:
    shown = fmt.escape_hidden(panel.id)
    total = panel.layers * (panel.heads + 1)
    cut = f" The first {panel.n} of {panel.n_tokens:,} tokens." if panel.n < panel.n_tokens else ""
    if panel.label_chars < MAX_TOKEN_CHARS:
        cut += f" Token labels are cut to {panel.label_chars} characters to keep the page small."
    left = (
        f" {len(panel.included)} of {total} layer and head choices are in the page; the "
        "others were left out to keep it small."
        if len(panel.included) < total
        else ""
    )
    args = (
        panel_frame(panel),
        panel.labels,
        panel.models,
        [colours[m] for m in panel.models],
        panel.layers,
        panel.heads,
        ALPHABET,
        panel.included,
        panel.n <= STILL_LABELS,  # the static drawing names the tokens
    )
    return Figure(
        f"attention-{number}",
        f"Example {shown}" + (f" ({panel.reason})" if panel.reason else ""),
        chart("attention_heatmap", *args),
        lead="Each row is a query token and how it spreads its attention over the key tokens "
        "(darker: more). Shown: the last layer, averaged over its heads; pick another layer "
        "or a single head with the selectors under the chart." + cut + left,
        raster=True,
        raster_quality=STILL_QUALITY,
        still=chart("attention_heatmap", *args, still=True),
    )


def attention_section(result: AttentionResult, ctx: Context) -> Section:
    figures = [figure(p, i + 1, ctx.colours) for i, p in enumerate(result.panels)]
    examples = len({p.id for p in result.panels})
    section = Section(
        "attention",
        "Attention maps",
        lead=f"{CAVEAT} Heatmaps of {examples:,} of {result.pool:,} examples with attention "
        f"(at most {MAX_EXAMPLES}, first those the models predict differently, then "
        f"mistakes), the models side by side where their tokens are the same; at most "
        f"{MAX_TOKENS} tokens and about {CELL_BUDGET // 1000} kB of weights and token labels "
        "per figure (fewer tokens for 2 or 3 models or long labels). Weights are rounded to 64 "
        "levels of each matrix's largest weight; rows of cut matrices no longer add up to 1.",
        figures=figures,
    )
    for folder in result.folders:
        section.notes.append(
            f"{folder.name}: {folder.path}, {len(folder.files):,} examples with attention."
        )
    if result.left_examples or result.left_figures:
        section.notes.append(
            f"At most {MAX_FIGURES} figures, to keep the page small; models whose tokens "
            "differ get a figure each, so "
            + " and ".join(
                part
                for part in (
                    f"{result.left_examples:,} of the chosen examples" * bool(result.left_examples),
                    f"{result.left_figures:,} figures of the last example shown"
                    * bool(result.left_figures),
                )
                if part
            )
            + " are left out."
        )
    if result.left_models:
        section.notes.append(
            f"Panels of the first {MAX_MODELS} models only; not drawn: "
            + ", ".join(result.left_models)
            + "."
        )
    return section


class AttentionKind(Kind):
    """Attention maps saved beside any run, drawn before the error analysis; it reads the
    classification result only to choose the examples."""

    name = "attention"
    title = "Attention maps"
    board = "attention"  # no leaderboard: attention weights are not a quality
    before_section = "errors"
    reads = ("classification",)  # to choose examples; the maps may belong to any run
    options = ("attention",)  # its own files (main's Kind.options: refused out of core)

    def evaluate(self, runs: list[Any], ctx: Context) -> AttentionResult | None:
        folders = _attach(ctx)
        if not folders:
            return None
        order = {name: i for i, name in enumerate(ctx.names)}
        baseline = ctx.baseline_among([f.name for f in folders])
        folders.sort(key=lambda f: (f.name != baseline, order.get(f.name, len(order))))
        drawn, left = folders[:MAX_MODELS], [f.name for f in folders[MAX_MODELS:]]
        ctx.say("Reading attention maps")
        chosen, pool = choose(drawn, ctx, MAX_EXAMPLES)
        panels: list[Panel] = []
        for ident, why in chosen:  # at most MAX_FIGURES figures: the rest are not read
            if len(panels) >= MAX_FIGURES:
                break
            panels += panels_for(ident, why, drawn)
        cut = panels[MAX_FIGURES:]
        panels = panels[:MAX_FIGURES]
        shown_ids = {p.id for p in panels}
        left_examples = len({i for i, _ in chosen} - shown_ids)
        left_figures = len(cut)
        return AttentionResult(
            kind=self.name,
            baseline=baseline,
            models=[f.name for f in folders],
            folders=folders,
            panels=panels,
            pool=pool,
            left_models=left,
            left_examples=left_examples,
            left_figures=left_figures,
        )

    def on_board(self, result: AttentionResult, ctx: Context) -> BoardPart:
        return BoardPart()

    def sections(self, result: AttentionResult, ctx: Context) -> list[Section]:
        return [attention_section(result, ctx)]

    def run_infos(self, result: AttentionResult, ctx: Context) -> list[Any]:
        return []  # the runs are listed by their own kind

    def summary(self, result: AttentionResult) -> SummaryPart:
        shown = [
            {
                "id": p.id,
                "reason": p.reason or None,
                "models": p.models,
                "tokens": p.n_tokens,
                "tokens_shown": p.n,
                "layers": p.layers,
                "heads": p.heads,
                "matrices_shown": len(p.included),
                "matrices": p.layers * (p.heads + 1),
            }
            for p in result.panels
        ]
        top = {
            "attention": {
                "models": {
                    f.name: {"path": str(f.path), "examples": len(f.files)} for f in result.folders
                },
                "examples_with_attention": result.pool,
                "shown": shown,
                "max_examples": MAX_EXAMPLES,
                "max_tokens": MAX_TOKENS,
                "max_figures": MAX_FIGURES,
                "cell_budget": CELL_BUDGET,
            }
        }
        return SummaryPart(top=top)


def _attach(ctx: Context) -> list[AttentionFolder]:
    """Each ``--attention NAME=DIR``, listed and checked against the report's runs."""
    names = list(dict.fromkeys(r.name for r in ctx.runs))
    return [list_folder(g.name, g.path) for g in ATTENTION.file_arguments(ctx, names)]


ATTENTION = AttentionKind()
