"""The demo's "Why and how robust" reports, from the parts each view's module writes.

Classification views read one board of runs on one test set, so the parts that explain
classifiers on different data are reports of their own: feature importance with robustness
(breast-cancer classifiers, and digits classifiers under noise and dropout, a kind of its
own), decision boundaries (wine), token attributions and attention maps (synthetic reviews).
"""

from __future__ import annotations

from pathlib import Path

from reportgen.demo import why_attention, why_boundary, why_importance, why_robust, why_tokens
from reportgen.demo.classic import DemoReport


def write_why_demo_runs(directory: Path) -> list[DemoReport]:
    """Write the runs and files of the explanation reports under ``directory``."""
    importance_runs, importance = why_importance.write_files(directory / "importance")
    robust_runs, robust = why_robust.write_files(directory / "robustness")
    boundary_runs, boundary = why_boundary.write_files(directory / "boundary")
    token_runs, tokens = why_tokens.write_files(directory / "tokens")
    attributions = [str(item) for item in tokens["attributions"]]  # type: ignore[attr-defined]
    attention = why_attention.write_from_attributions(directory / "tokens", attributions)
    return [
        DemoReport(
            "Why and how robust: feature importance, robustness under perturbation",
            [*importance_runs, *robust_runs],
            directory / "why-report.html",
            directory / "why-summary.json",
            about="breast-cancer importances and contributions; digits under noise and dropout",
            options={**importance, **robust},
        ),
        DemoReport(
            "Why: decision boundaries of wine classifiers",
            boundary_runs,
            directory / "boundary-report.html",
            directory / "boundary-summary.json",
            about="a 2-D slice over alcohol and proline, test wines on top",
            options=boundary,
        ),
        DemoReport(
            "Why: token attributions and attention of review classifiers (synthetic)",
            token_runs,
            directory / "tokens-report.html",
            directory / "tokens-summary.json",
            about="token strips and attention maps where the models disagree, then mistakes",
            options={**tokens, **attention},
        ),
    ]
