"""lm-evaluation-harness sample logs (``samples_<task>_*.jsonl``): the harness's own
per-sample metrics, paired by ``doc_id`` across models, one group per task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reportgen.ingest.language import TextRun
from reportgen.ingest.lmeval_samples import lmeval_samples, looks_like_samples, samples_name
from reportgen.kinds.base import Context
from reportgen.kinds.generation import text_sections
from reportgen.kinds.per_example import LanguageKind, label
from reportgen.kinds.sums import LanguageAssessment
from reportgen.model import Section


class SamplesKind(LanguageKind):
    name = "lm-eval samples"
    noun = "lm-eval sample logs"
    title = "lm-eval samples"
    slug = "samples"
    run_types = (TextRun,)
    compare_lead = (
        "Per-sample accuracy by McNemar's exact test, other logged metrics by the paired bootstrap"
    )

    def owns(self, run: Any) -> bool:
        return isinstance(run, TextRun) and bool(run.sample_metrics)

    def claims_file(self, path: Path) -> bool:
        return path.is_file() and looks_like_samples(path)

    def load_file(self, path: Path, name: str | None) -> list[Any]:
        return [lmeval_samples(path, name or samples_name(path), {})]

    def metric_names(self, runs: Any) -> set[str]:
        return {m for run in runs for m in run.sample_metrics}

    def group_title(self, group: str) -> str:
        return f"lm-eval samples: {group.removeprefix('samples:')}"

    def metric_heading(self, group: str, metric: str) -> str:
        return f"{label(metric)} ({group.removeprefix('samples:')} samples)"

    def example_columns(self, run: Any) -> tuple[Any, Any, Any, Any]:
        return dict(run.sample_metrics), {}, {}, {}

    def same_targets(self, base: Any, cand: Any) -> str | None:
        return "references" if base.references == cand.references else None

    def views(self, result: LanguageAssessment, ctx: Context) -> list[Section]:
        return text_sections(result, ctx.colours, ctx.options.top_k, self.group_title)


SAMPLES = SamplesKind()
