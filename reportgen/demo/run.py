"""The demo end to end: write every demo's run files, then build and save each report from
them, naming each step as it goes (``reportgen demo`` shows them as a progress bar)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from reportgen.demo.classic import DemoReport, write_demo_runs, write_kinds_demo_runs
from reportgen.demo.lm import write_lm_demo_runs
from reportgen.demo.why import write_why_demo_runs
from reportgen.pipeline import build_report

Step = Callable[..., None]  # step(text) names what runs now; step(text, advance=True) ends it


def build_demo(output: Path, step: Step = lambda text, advance=False: None) -> list[DemoReport]:
    """Train the demo models, write their runs under ``output``, build and save the seven
    reports (HTML and JSON); return what was built, in the order to read it. Eight steps."""
    step("Training demo models")
    plans = [
        *write_demo_runs(output),
        write_lm_demo_runs(output / "llm"),
        write_kinds_demo_runs(output / "kinds"),
        *write_why_demo_runs(output / "why"),
    ]
    step("Training demo models", advance=True)
    for number, plan in enumerate(plans, start=1):
        heading = f"Report {number} of {len(plans)}: {plan.title}"
        step(heading)
        report = build_report(
            plan.runs,
            title=plan.title,
            progress=lambda message, heading=heading: step(f"{heading}: {message}"),
            **plan.options,
        )
        report.save(plan.html)
        report.save(plan.json)
        step(heading, advance=True)
    return plans
