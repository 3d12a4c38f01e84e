"""Attention maps (``--attention NAME=DIR``, one ``<id>.npz`` per example): per example, a
heatmap of the last layer's attention averaged over its heads, with a layer and a head
selector, the models side by side when their tokens are the same.

Which examples: those in the most models' folders first; among them, with classification
runs, those the models predict differently, then any model's mistakes, then the rest; ids in
natural order (``ex2`` before ``ex10``) within each. At most :data:`MAX_EXAMPLES`, and only
those files are read.

What the page holds is bounded whatever the input: the first :data:`MAX_TOKENS` tokens, fewer
when several models share a figure (``models x n x n`` cells must fit :func:`budget`),
weights quantised to 64 levels of each matrix's largest weight (one character per cell), and
the selector's other matrices only while the figure's budget lasts: the other layers' head
means first (last layer backwards), then each layer's heads. Whatever was left out says so.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reportgen import formatting as fmt
from reportgen.ingest.attention import AttentionFolder, AttentionMap, list_folder, read_map
from reportgen.kinds.base import BoardPart, Context, Kind, KindResult, SummaryPart
from reportgen.model import Figure, Section, chart

MAX_EXAMPLES = 12
MAX_MODELS = 3  # panels side by side in one example's figure
MAX_TOKENS = 128
MAX_TOKEN_CHARS = 30  # characters of one token on an axis (a token of a whole line is cut)
CELL_BUDGET = 16_384  # characters of weights per figure (one per cell): 128 x 128, one model
PANEL_COST = 2_500  # a second or third panel's own spec (encodings, transforms), in cells
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


def natural_key(ident: str) -> tuple[Any, ...]:
    """``ex2`` before ``ex10``: digits compare as numbers."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", ident)
        if part
    )


def quantise(matrix: np.ndarray) -> tuple[float, list[str]]:
    """A matrix as its largest weight and one string per row, a character per cell: the
    weight's level 0-63 of that largest weight (:data:`ALPHABET`), rounded to the nearest."""
    scale = float(matrix.max(initial=0.0))
    if scale <= 0:
        levels = np.zeros(matrix.shape, dtype=np.intp)
    else:
        levels = np.rint(matrix / scale * LEVELS).astype(np.intp)
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
    """Cells a figure of ``models`` panels may carry: :data:`CELL_BUDGET` less each further
    panel's own spec, so that figures of 1, 2 or 3 panels weigh about the same."""
    return CELL_BUDGET - PANEL_COST * (models - 1)


def plan(layers: int, heads: int, models: int, n: int) -> list[tuple[int, int]]:
    """The (layer, head) matrices a figure carries: the last layer's head mean always, then
    the other layers' means from the last backwards, then each layer's heads, last layer
    first, while ``models x n x n`` per matrix fits the figure's :func:`budget`."""
    order = [(layer, 0) for layer in range(layers, 0, -1)]
    order += [(layer, h) for layer in range(layers, 0, -1) for h in range(1, heads + 1)]
    cost = models * n * n
    taken = [order[0]]
    used = cost
    for item in order[1:]:
        if used + cost > budget(models):
            break
        taken.append(item)
        used += cost
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
        fits = math.isqrt(budget(len(members)) // len(members))
        n = min(len(first.tokens), fits)
        panels.append(
            Panel(
                id=ident,
                models=[name for name, _ in members],
                maps=[found for _, found in members],
                n=n,
                n_tokens=first.n_tokens,
                included=plan(first.layers, first.heads, len(members), n),
                reason=reason,
            )
        )
    return panels


def token_text(token: str) -> str:
    """A token as the axes and tooltips show it: control, bidi and invisible characters as
    escapes (a newline token reads \\n; an override cannot reorder the labels), at most
    :data:`MAX_TOKEN_CHARS` characters."""
    shown = fmt.escape_hidden(token)
    return shown if len(shown) <= MAX_TOKEN_CHARS else shown[: MAX_TOKEN_CHARS - 1] + "…"


def figure(panel: Panel, number: int, colours: dict[str, str]) -> Figure:
    shown = fmt.escape_hidden(panel.id)
    total = panel.layers * (panel.heads + 1)
    cut = f" The first {panel.n} of {panel.n_tokens:,} tokens." if panel.n < panel.n_tokens else ""
    left = (
        f" {len(panel.included)} of {total} layer and head choices are in the page; the "
        "others were left out to keep it small."
        if len(panel.included) < total
        else ""
    )
    args = (
        panel_frame(panel),
        [token_text(t) for t in panel.maps[0].tokens[: panel.n]],
        panel.models,
        [colours[m] for m in panel.models],
        panel.layers,
        panel.heads,
        ALPHABET,
        panel.included,
    )
    return Figure(
        f"attention-{number}",
        f"Example {shown}" + (f" ({panel.reason})" if panel.reason else ""),
        chart("attention_heatmap", *args),
        lead="Each row is a query token and how it spreads its attention over the key tokens "
        "(darker: more). Shown: the last layer, averaged over its heads; pick another layer "
        "or a single head with the selectors under the chart." + cut + left,
        raster=True,
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
        f"{MAX_TOKENS} tokens and {CELL_BUDGET:,} cells per figure (fewer for 2 or 3 models). "
        "Weights are rounded to 64 "
        "levels of each matrix's largest weight; rows of cut matrices no longer add up to 1.",
        figures=figures,
    )
    for folder in result.folders:
        section.notes.append(
            f"{folder.name}: {folder.path}, {len(folder.files):,} examples with attention."
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
        panels = [p for ident, why in chosen for p in panels_for(ident, why, drawn)]
        return AttentionResult(
            kind=self.name,
            baseline=baseline,
            models=[f.name for f in folders],
            folders=folders,
            panels=panels,
            pool=pool,
            left_models=left,
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
                "cell_budget": CELL_BUDGET,
            }
        }
        return SummaryPart(top=top)


def _attach(ctx: Context) -> list[AttentionFolder]:
    """Each ``--attention NAME=DIR``, listed and checked against the report's runs."""
    names = list(dict.fromkeys(r.name for r in ctx.runs))
    return [list_folder(g.name, g.path) for g in ATTENTION.file_arguments(ctx, names)]


ATTENTION = AttentionKind()
