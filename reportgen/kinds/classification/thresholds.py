"""The decision-threshold view of binary runs: a threshold explorer (precision, recall, F1 and,
with ``--cost``, expected cost against the threshold, with a slider), and the notable operating
points of every model, exact, in a table and in the JSON summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from reportgen import formatting as fmt
from reportgen.kinds.cells import model_cell
from reportgen.kinds.classification.curves import Costs, operating_point, operating_points
from reportgen.kinds.classification.curves import threshold_scan as scan_of
from reportgen.kinds.classification.evaluate import RunEvaluation
from reportgen.model import Cell, Figure, Section, Table, chart

SCAN_POINTS = 201  # thresholds on the shared grid the explorer moves along
POINT_NAMES = {
    "decision_rule": "Decision rule",
    "at_0.5": "Score ≥ 0.5",
    "f1_optimal": "Best F1",
    "youden": "Best Youden's J",
    "cost_optimal": "Lowest cost",
}


def points_of(evaluation: RunEvaluation, costs: Costs | None) -> dict[str, dict[str, Any]]:
    """The run's decision rule (its predictions as given or thresholded) and the notable
    thresholds of :func:`~reportgen.kinds.classification.curves.operating_points`."""
    rank = evaluation.positive_rank
    positive = evaluation.encoded.positive
    if rank is None or positive is None:
        return {}
    matrix = evaluation.confusion.matrix
    tp = int(matrix[positive, positive])
    fp = int(matrix[:, positive].sum()) - tp
    rule = operating_point(rank, tp, fp, None, costs)
    rule["rule"] = evaluation.encoded.prediction_source
    return {"decision_rule": rule, **operating_points(rank, costs)}


def summary(evaluation: RunEvaluation, costs: Costs | None) -> dict[str, Any]:
    """The run's ``operating_points`` (and ``costs``) for the JSON summary."""
    found = points_of(evaluation, costs)
    if not found:
        return {}
    return {"operating_points": found, **({"costs": costs.as_dict()} if costs else {})}


def threshold_section(
    evaluations: Sequence[RunEvaluation], colours: dict[str, str], costs: Costs | None = None
) -> Section | None:
    """Binary: how precision, recall, F1 (and expected cost) move with the decision threshold."""
    scanned = [e for e in evaluations if e.positive_rank is not None and e.positive_rank.n_positive]
    if not scanned:
        return None
    ranks = [e.positive_rank for e in scanned]
    low = min(float(r.scores[-1]) for r in ranks if r is not None)
    high = max(float(r.scores[0]) for r in ranks if r is not None)
    frames, marks, rows = [], [], []
    for e in scanned:
        rank = e.positive_rank
        assert rank is not None
        scan = scan_of(rank, SCAN_POINTS, (low, high))
        frames.append(
            pd.DataFrame(
                {
                    "model": e.name,
                    "i": np.arange(SCAN_POINTS),
                    "threshold": np.round(scan["threshold"], 6),
                    "tp": scan["tp"],
                    "fp": scan["fp"],
                    "p": int(rank.n_positive),
                    "n": int(rank.n_positive + rank.n_negative),
                }
            )
        )
        found = points_of(e, costs)
        for key, point in found.items():
            rows.append(_row(e.name, key, point, colours, costs))
        for key, metric in (("f1_optimal", "f1"), ("cost_optimal", "cost")):
            point = found.get(key)
            if point is not None and point["threshold"] is not None:
                value = point["f1"] if metric == "f1" else point["expected_cost"]
                marks.append(
                    {
                        "model": e.name,
                        "metric": metric,
                        "label": POINT_NAMES[key],
                        "threshold": round(float(point["threshold"]), 6),
                        "value": round(float(value), 6),
                    }
                )
    models = [e.name for e in scanned]
    start = 0.5 if low <= 0.5 <= high else (low + high) / 2
    drawn = chart(
        "threshold_chart",
        pd.concat(frames, ignore_index=True),
        pd.DataFrame(marks, columns=["model", "metric", "label", "threshold", "value"]),
        models,
        [colours[m] for m in models],
        (low, high, SCAN_POINTS),
        start,
        costs.as_dict() if costs else None,
    )
    header = ["Model", "Operating point", "Threshold", "Precision", "Recall", "F1"]
    header += ["TP", "FP", "FN", "TN", *(["Expected cost"] if costs else [])]
    table = Table(
        header,
        rows,
        title="Operating points",
        caption="Exact, over every distinct score. Decision rule: the predictions as given (or "
        "thresholded); best F1 and best Youden's J (recall + specificity − 1) are chosen on "
        "these data, an optimistic, in-sample choice."
        + (f" Costs per example: {costs.text()}." if costs else ""),
        numeric=[False, False, *[True] * (len(header) - 2)],
    )
    lead = (
        "One panel per metric, one line per model. Move the slider to pick a threshold: the "
        "table under the panels gives each model's rates and counts there. Rings mark the "
        "F1-optimal threshold"
    )
    if costs:
        lead += (
            f" and the lowest expected cost per example (costs {costs.text()}); predicting "
            "positive at score ≥ the threshold"
        )
    return Section(
        "thresholds",
        "Decision thresholds",
        lead="Raising the threshold trades recall for precision. The dashed rule is the "
        "picked threshold.",
        figures=[
            Figure(
                "threshold-chart",
                "Precision, recall and F1 by threshold" + (", and expected cost" if costs else ""),
                drawn,
                lead=lead + ".",
                table=table,
            )
        ],
    )


def _row(
    model: str, key: str, point: dict[str, Any], colours: dict[str, str], costs: Costs | None
) -> list[Cell]:
    if key == "decision_rule":
        where = str(point.get("rule", ""))
    elif point["threshold"] is None:
        where = "none positive"
    else:
        where = fmt.threshold(point["threshold"])
    row = [
        model_cell(model, colours),
        Cell(POINT_NAMES[key]),
        Cell(where, role="" if key == "decision_rule" else "num"),
        Cell(fmt.rate(point["precision"]), role="num"),
        Cell(fmt.rate(point["recall"]), role="num"),
        Cell(fmt.rate(point["f1"]), role="num"),
        *(Cell(fmt.count(point[k]), role="num") for k in ("tp", "fp", "fn", "tn")),
    ]
    if costs:
        row.append(Cell(f"{point['expected_cost']:.4g}", role="num"))
    return row
