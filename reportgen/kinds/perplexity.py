"""Perplexity runs: per-example summed negative log-likelihood (nats) and token counts.

Perplexity is a ratio of sums over the corpus, exp(Σ nll / Σ tokens), never the mean of
per-example perplexities: long examples weigh by their token count. Bits per byte,
Σ nll / (ln 2 · Σ bytes), is comparable across tokenizers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from reportgen import formatting as fmt
from reportgen.ingest.language import PerplexityRun, looks_perplexity, perplexity_run
from reportgen.kinds.base import Context, Source
from reportgen.kinds.cells import (
    add_delta,
    best_index,
    interval_text,
    model_cell,
)
from reportgen.kinds.per_example import LanguageKind, label, value_text
from reportgen.kinds.sums import LanguageAssessment, LanguageResult
from reportgen.model import Cell, Figure, Section, Table, chart

DISTRIBUTION_BINS = 40
COMPARED = ("perplexity", "bits_per_byte")


LN2 = math.log(2.0)


def perplexity(nll_sum: np.ndarray | float, tokens: np.ndarray | float) -> np.ndarray | float:
    """Corpus perplexity exp(Σ nll / Σ tokens), with nll in nats summed over each example."""
    return np.exp(np.divide(nll_sum, tokens))


def mean_token_nll(nll_sum: np.ndarray | float, tokens: np.ndarray | float) -> np.ndarray | float:
    """Mean negative log-likelihood per token in nats, Σ nll / Σ tokens."""
    return np.divide(nll_sum, tokens)


def bits_per_byte(nll_sum: np.ndarray | float, n_bytes: np.ndarray | float) -> np.ndarray | float:
    """Σ nll / (ln 2 · Σ bytes): the code length per byte of text, comparable across tokenizers."""
    return np.divide(nll_sum, np.multiply(LN2, n_bytes))


def example_perplexity(nll: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """Each example's own perplexity exp(nll_i / tokens_i), for distributions only."""
    return np.exp(nll / tokens)


def perplexity_metrics(
    nll_sum: np.ndarray | float, tokens: np.ndarray | float, n_bytes: np.ndarray | float | None
) -> dict[str, np.ndarray | float]:
    values: dict[str, np.ndarray | float] = {
        "perplexity": perplexity(nll_sum, tokens),
        "mean_nll": mean_token_nll(nll_sum, tokens),
    }
    if n_bytes is not None:
        values["bits_per_byte"] = bits_per_byte(nll_sum, n_bytes)
    return values


def _distribution(results: Sequence[LanguageResult]) -> pd.DataFrame:
    per_example = {
        r.name: example_perplexity(r.columns["nll"], r.columns["tokens"]) for r in results
    }
    finite = np.concatenate([v[np.isfinite(v)] for v in per_example.values()])
    low, high = np.log10(max(finite.min(), 1.0)), np.log10(max(finite.max(), 1.0 + 1e-9))
    if high - low < 1e-6:
        high = low + 0.1
    edges = np.logspace(low, high, DISTRIBUTION_BINS + 1)
    frames = []
    for name, values in per_example.items():
        counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
        frames.append(
            pd.DataFrame(
                {
                    "model": name,
                    "low": edges[:-1].round(6),
                    "high": edges[1:].round(6),
                    "mid": np.sqrt(edges[:-1] * edges[1:]).round(6),
                    "count": counts,
                    "share": (counts / max(1, len(values))).round(6),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def perplexity_section(assessment: LanguageAssessment, colours: dict[str, str]) -> Section | None:
    results = assessment.results
    if not results:
        return None
    deltas = {
        c.candidate: c
        for c in assessment.comparisons
        if c.scope == "perplexity" and c.metric == "perplexity"
    }
    metrics = [
        m
        for m in ("perplexity", "mean_nll", "bits_per_byte")
        if any(m in r.metrics for r in results)
    ]
    header = ["Model", "Examples", "Tokens", *[label(m) for m in metrics], "95% CI of perplexity"]
    best = {m: best_index([r.metrics.get(m) for r in results], m) for m in metrics}
    rows = []
    for i, r in enumerate(results):
        row = [
            model_cell(r.name, colours),
            Cell(fmt.count(r.run.n_examples), role="num"),
            Cell(fmt.count(int(r.columns["tokens"].sum())), role="num"),
        ]
        for m in metrics:
            c = Cell(
                value_text(m, r.metrics.get(m)),
                role="num",
                best=i in best[m],
                title=interval_text(r.intervals.get(m)) or None,
            )
            if m == "perplexity" and r.name in deltas:
                add_delta(c, deltas[r.name])
            row.append(c)
        ci = r.intervals.get("perplexity")
        row.append(
            Cell(f"{fmt.rate(ci[0])} to {fmt.rate(ci[1])}" if ci else fmt.MISSING, role="num")
        )
        rows.append(row)
    table = Table(
        header,
        rows,
        title="Perplexity per model",
        lead=True,
        caption="Corpus perplexity = exp(Σ NLL / Σ tokens): long examples weigh by their tokens. "
        "Bits per byte = Σ NLL / (ln 2 · Σ bytes), comparable across tokenizers. Lower is better.",
        numeric=[False, True, True, *[True] * len(metrics), True],
    )
    names = [r.name for r in results]
    drawn = chart(
        "distribution_chart",
        _distribution(results),
        names,
        [colours[n] for n in names],
        "Per-example perplexity (log scale)",
    )
    section = Section(
        "perplexity",
        "Perplexity",
        lead="How well each model predicts held-out text. The table weighs every token equally; "
        "the chart shows how per-example perplexities spread (further left is better).",
        tables=[table],
        figures=[
            Figure(
                "perplexity-distribution",
                "Per-example perplexity, distribution",
                drawn,
                lead="Share of examples per perplexity bin; a long right tail means a few "
                "texts the model finds very surprising.",
            )
        ],
    )
    for r in results:
        section.notes += [f"{r.name}: {n}" for n in r.run.notes]
    return section


class PerplexityKind(LanguageKind):
    name = "perplexity"
    title = "Perplexity"
    slug = "perplexity"
    run_types = (PerplexityRun,)
    compare_lead = "Perplexity and bits per byte by the paired bootstrap over examples"
    verdict_metrics: ClassVar[tuple[str, ...]] = ("perplexity",)

    def claims(self, source: Source) -> bool:
        return looks_perplexity(source.frame, source.path, source.columns)

    def load(self, source: Source) -> PerplexityRun:
        return perplexity_run(*source.reader_args())

    def example_columns(self, run: Any) -> tuple[Any, Any, Any, Any]:
        columns = {"nll": run.nll, "tokens": run.num_tokens}
        if run.num_bytes is not None:
            columns["bytes"] = run.num_bytes
        return columns, {}, {}, {}

    def from_sums(self, run: Any, sums: dict[str, Any], n: Any) -> dict[str, Any]:
        return perplexity_metrics(sums["nll"], sums["tokens"], sums.get("bytes"))

    def headline(self, result: LanguageResult) -> list[str]:
        return [m for m in ("perplexity", "bits_per_byte", "mean_nll") if m in result.metrics]

    def stat_columns(self, result: LanguageResult) -> list[str]:
        return [c for c in ("nll", "tokens", "bytes") if c in result.columns]

    def compared(self, base: LanguageResult, cand: LanguageResult) -> list[str]:
        return [m for m in COMPARED if m in base.metrics and m in cand.metrics]

    def same_targets(self, base: Any, cand: Any) -> str | None:
        return "token counts" if np.array_equal(base.num_tokens, cand.num_tokens) else None

    def views(self, result: LanguageAssessment, ctx: Context) -> list[Section]:
        found = perplexity_section(result, ctx.colours)
        return [found] if found is not None else []


PERPLEXITY = PerplexityKind()
