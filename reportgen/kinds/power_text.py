"""What an evaluation set can detect, in words: the clause a tie gets in the verdict, the
sentence per metric of the "against the baseline" sections, and the lines the Markdown
summary and the email give tied gated metrics. Read from ``Comparison.mde``,
``Comparison.n_for_margin`` and ``Comparison.margin`` (:mod:`reportgen.stats.power`)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from reportgen import formatting as fmt
from reportgen import metrics
from reportgen.stats.comparison import Comparison
from reportgen.stats.power import about

LabelOf = Callable[[Comparison], str]
PROPER = ("Brier", "Matthews", "Cohen", "Jaccard", "Hamming", "Pearson", "Spearman", "Kendall")


def in_sentence(label: str) -> str:
    """A label inside a sentence: "Log loss" -> "log loss"; acronyms (ECE, F1) and names
    (Brier) stay."""
    first = label.split(" ", 1)[0]
    kept = first.isupper() or any(ch.isdigit() for ch in first) or first.startswith(PROPER)
    return label if kept else label[0].lower() + label[1:]


def _label(c: Comparison) -> str:
    return metrics.label(c.metric)


def detects(value: float) -> str:
    """An MDE as text: 0.031, or two significant digits below 0.01 (0.0005)."""
    return fmt.threshold(value)


def tie_note(c: Comparison, label: str | None = None) -> str:
    """ "(this set detects changes of 0.031 or more)", or "(this set detects F1 changes of
    ...)" when ``label`` names the metric; empty without an MDE."""
    if c.mde is None:
        return ""
    what = f"{label} changes" if label else "changes"
    return f"(this set detects {what} of {detects(c.mde)} or more)"


def _article(label: str) -> str:
    first = label.split(" ", 1)[0]
    vowel_sound = first[:1].lower() in "aeiou" or (
        first[:1].isupper()
        and (first.isupper() or first[1:2].isdigit())
        and first[0] in "AEFHILMNORSX"
    )
    return "an" if vowel_sound else "a"


def margin_sentences(comparisons: Sequence[Comparison], label_of: LabelOf = _label) -> list[str]:
    """One sentence per metric: "About 2,400 examples would detect an F1 change of 0.01 (you
    have 171)." With several candidates, the largest number (the one every candidate needs)."""
    by_metric: dict[tuple[str, str], list[Comparison]] = {}
    for c in comparisons:
        if c.n_for_margin is not None and c.margin is not None and c.slice_column is None:
            by_metric.setdefault((c.scope, c.metric), []).append(c)
    found = []
    for members in by_metric.values():
        worst = max(members, key=lambda c: (c.n_for_margin or 0, c.candidate))
        assert worst.n_for_margin is not None and worst.margin is not None
        label = in_sentence(label_of(worst))
        who = " for every candidate" if len({c.candidate for c in members}) > 1 else ""
        found.append(
            f"About {about(worst.n_for_margin):,} examples would detect {_article(label)} "
            f"{label} change of {worst.margin:g}{who} (you have {worst.n_paired:,})."
        )
    return found


def gated_ties(comparisons: Sequence[Comparison], gated: Collection[str]) -> list[str]:
    """For each tied comparison on a gated metric: what the set detects, and how many
    examples the margin needs ("v2 ties v1 on F1 (this set detects changes of 0.031 or more);
    about 2,400 examples would detect a change of 0.01, you have 171")."""
    found = []
    for c in comparisons:
        if c.slice_column is not None or c.verdict != "tie" or c.metric not in gated:
            continue
        if c.mde is None:
            continue
        text = f"{c.candidate} ties {c.baseline} on {in_sentence(_label(c))} {tie_note(c)}"
        if c.n_for_margin is not None and c.margin is not None:
            text += (
                f"; about {about(c.n_for_margin):,} examples would detect a change of "
                f"{c.margin:g}, you have {c.n_paired:,}"
            )
        found.append(text + ".")
    return found
