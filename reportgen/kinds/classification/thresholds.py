"""The decision-threshold view of binary runs: how precision, recall and F1 move with the
threshold."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from reportgen import formatting as fmt
from reportgen.kinds.cells import model_cell
from reportgen.kinds.classification.evaluate import RunEvaluation
from reportgen.model import Cell, Figure, Section, Table, chart


def threshold_section(
    evaluations: Sequence[RunEvaluation], colours: dict[str, str]
) -> Section | None:
    """Binary: how precision, recall and F1 move with the decision threshold."""
    scanned = [e for e in evaluations if e.threshold_scan is not None and e.best_threshold]
    if not scanned:
        return None
    frames, best_rows, rows = [], [], []
    for e in scanned:
        scan = e.threshold_scan
        assert scan is not None and e.best_threshold is not None
        for metric, label in (("f1", "F1"), ("precision", "precision"), ("recall", "recall")):
            frames.append(
                pd.DataFrame(
                    {
                        "model": e.name,
                        "metric": label,
                        "threshold": np.round(scan["threshold"], 6),
                        "value": np.round(scan[metric], 5),
                    }
                )
            )
        best = e.best_threshold
        best_rows.append({"model": e.name, **{k: round(v, 6) for k, v in best.items()}})
        rows.append(
            [
                model_cell(e.name, colours),
                Cell(e.encoded.prediction_source),
                Cell(fmt.rate(e.metrics.get("precision")), css="num"),
                Cell(fmt.rate(e.metrics.get("recall")), css="num"),
                Cell(fmt.rate(e.metrics.get("f1")), css="num"),
                Cell(fmt.threshold(best["threshold"]), css="num"),
                Cell(fmt.rate(best["precision"]), css="num"),
                Cell(fmt.rate(best["recall"]), css="num"),
                Cell(fmt.rate(best["f1"]), css="num best"),
            ]
        )
    models = [e.name for e in scanned]
    drawn = chart(
        "threshold_chart",
        pd.concat(frames, ignore_index=True),
        pd.DataFrame(best_rows),
        models,
        [colours[m] for m in models],
    )
    table = Table(
        [
            "Model",
            "Decision rule",
            "Precision",
            "Recall",
            "F1",
            "Best-F1 threshold",
            "Precision",
            "Recall",
            "F1",
        ],
        rows,
        title="At the decision rule and at the F1-optimal threshold",
        caption="Left: the predictions as given (or thresholded); right: at the threshold "
        "that maximises F1 on these data (an optimistic, in-sample choice).",
        numeric=[False, False, True, True, True, True, True, True, True],
    )
    return Section(
        "thresholds",
        "Decision thresholds",
        lead="Raising the threshold trades recall for precision; the ring marks each model's "
        "F1-optimal threshold.",
        figures=[
            Figure(
                "threshold-chart",
                "Precision, recall and F1 by threshold",
                drawn,
                table=table,
            )
        ],
    )
