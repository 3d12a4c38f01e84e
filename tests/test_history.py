"""Training histories in their native forms (issue 34, section 2): a Hugging Face Trainer
state, a Keras history dict, a Lightning CSVLogger file, a Keras CSVLogger log and a
TensorBoard scalar export; the x axis they count; a report of histories alone; their best
validation values in --json; a history given as a run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reportgen import build_report
from reportgen.ingest.history import load_history

from .conftest import build_cli

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-inputs" / "histories"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/data/real-inputs is absent")


def trainer_state(path: Path) -> Path:
    """A Trainer state as ``Trainer.save_state`` writes it: train logs every 10 steps, an
    evaluation every 20 (with its runtime and throughput), and the closing summary entry."""
    log: list[dict] = []
    for step in range(10, 61, 10):
        log.append({"epoch": step / 20, "grad_norm": 1.5, "learning_rate": 5e-5, "loss": 3 / step,
                    "step": step})  # fmt: skip
        if step % 20 == 0:
            log.append({"epoch": step / 20, "eval_accuracy": [0.5, 0.7, 0.6][step // 20 - 1],
                        "eval_loss": [1.0, 0.8, 0.9][step // 20 - 1], "eval_runtime": 5.7,
                        "eval_samples_per_second": 70.2, "step": step})  # fmt: skip
    log.append({"epoch": 3.0, "step": 60, "total_flos": 1e15, "train_loss": 0.2,
                "train_runtime": 100.0, "train_samples_per_second": 9.0})  # fmt: skip
    path.write_text(json.dumps({"global_step": 60, "log_history": log, "epoch": 3.0}))
    return path


def lightning_metrics(path: Path) -> Path:
    """A CSVLogger ``metrics.csv``: sparse rows, epoch and step axes, one test loss."""
    path.write_text(
        "epoch,step,test_loss,train_loss,val_acc,val_loss\n"
        "0,49,,0.9,,\n0,68,,,0.61,0.7\n1,99,,0.5,,\n1,137,,,0.74,0.4\n"
        "2,149,,0.3,,\n2,206,,,0.72,0.45\n2,207,0.42,,,\n"
    )
    return path


def keras_dict(path: Path) -> Path:
    path.write_text(json.dumps({"loss": [0.9, 0.5, 0.4], "accuracy": [0.6, 0.8, 0.85],
                                "val_loss": [0.8, 0.6, 0.7], "val_accuracy": [0.6, 0.75, 0.7],
                                "learning_rate": [1e-3] * 3}))  # fmt: skip
    return path


def keras_log(path: Path) -> Path:
    path.write_text(
        "epoch,accuracy,learning_rate,loss,val_accuracy,val_loss\n"
        "0,0.88,0.001,0.36,0.27,3.6\n1,0.97,0.001,0.09,0.98,0.05\n2,0.98,0.001,0.07,0.99,0.03\n"
    )
    return path


def tensorboard(path: Path) -> Path:
    path.write_text("Wall time,Step,Value\n1700000000.5,100,0.9\n1700000060.1,200,0.6\n")
    return path


@pytest.mark.parametrize(
    ("make", "file", "axis", "series"),
    [
        (trainer_state, "trainer_state.json", "step",
         {("train", "loss"): 6, ("validation", "accuracy"): 3, ("validation", "loss"): 3,
          ("train", "grad_norm"): 6, ("train", "learning_rate"): 6}),
        (lightning_metrics, "metrics.csv", "step",
         {("test", "loss"): 1, ("train", "loss"): 3, ("validation", "acc"): 3,
          ("validation", "loss"): 3}),
        (keras_dict, "history.json", "epoch",
         {("train", "loss"): 3, ("train", "accuracy"): 3, ("validation", "loss"): 3,
          ("validation", "accuracy"): 3, ("train", "learning_rate"): 3}),
        (keras_log, "training_log.csv", "epoch",
         {("train", "loss"): 3, ("train", "accuracy"): 3, ("validation", "loss"): 3,
          ("validation", "accuracy"): 3, ("train", "learning_rate"): 3}),
        (tensorboard, "run-version_0-tag-val_loss.csv", "step", {("validation", "loss"): 2}),
    ],
    ids=["hf-trainer", "lightning", "keras-dict", "keras-csvlogger", "tensorboard"],
)  # fmt: skip
def test_native_histories_keep_their_series_and_axis(
    tmp_path: Path,
    make,
    file: str,
    axis: str,
    series: dict,  # type: ignore[no-untyped-def]
) -> None:
    """Axes (epoch, step, wall time), runtimes, throughput and the Trainer's closing summary
    are not series; each file's own series are, with their number of points."""
    history = load_history(make(tmp_path / file), "m")
    assert history.axis == axis
    counts = history.frame.groupby(["split", "metric"]).size().to_dict()
    assert counts == series


def test_trainer_state_steps_and_keras_epochs(tmp_path: Path) -> None:
    state = load_history(trainer_state(tmp_path / "trainer_state.json"), "m").frame
    loss = state[(state["split"] == "validation") & (state["metric"] == "loss")]
    assert list(loss["step"]) == [20.0, 40.0, 60.0] and list(loss["value"]) == [1.0, 0.8, 0.9]
    keras = load_history(keras_dict(tmp_path / "history.json"), "m").frame
    assert sorted(set(keras["step"])) == [1.0, 2.0, 3.0]  # epochs counted as Keras prints them


def test_histories_alone_make_a_report_with_their_axes_and_best_values_in_json(
    tmp_path: Path,
) -> None:
    """Was: "Missing argument 'RUNS...'", exit 2; histories were not in --json."""
    state = trainer_state(tmp_path / "trainer_state.json")
    metrics = lightning_metrics(tmp_path / "metrics.csv")
    keras = keras_dict(tmp_path / "history.json")
    html, summary = tmp_path / "r.html", tmp_path / "r.json"
    done = build_cli(
        "--history", f"hf={state}", "--history", f"pl={metrics}", "--history", f"keras={keras}",
        "-o", str(html), "--json", str(summary),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Missing argument" not in done.stderr and html.is_file()
    found = json.loads(summary.read_text())
    assert found["title"] == "hf vs pl vs keras: training history evaluation"
    entries = {e["model"]: e for e in found["training_histories"]}
    assert {m: e["axis"] for m, e in entries.items()} == {"hf": "step", "pl": "step",
                                                          "keras": "epoch"}  # fmt: skip
    best = {(m, b["metric"]): b for m, e in entries.items() for b in e["best_validation"]}
    assert best["hf", "loss"] == {"metric": "loss", "value": 0.8, "step": 40.0,
                                  "higher_is_better": False}  # fmt: skip
    assert best["hf", "accuracy"]["value"] == 0.7 and best["hf", "accuracy"]["step"] == 40.0
    assert best["pl", "loss"]["step"] == 137.0 and best["pl", "acc"]["value"] == 0.74
    assert best["keras", "loss"] == {"metric": "loss", "value": 0.6, "epoch": 2.0,
                                     "higher_is_better": False}  # fmt: skip
    assert ("keras", "learning_rate") not in best  # a schedule has no best value


def test_history_charts_name_their_axis_and_show_a_one_value_series(tmp_path: Path) -> None:
    """Was: every x axis said Step, Lightning's epoch was a metric ("Higher is better"), and
    a single test loss was a line of one point, which draws nothing."""
    metrics = lightning_metrics(tmp_path / "metrics.csv")
    keras = keras_log(tmp_path / "training_log.csv")
    report = build_report([], histories=[f"pl={metrics}"], bootstrap=0)
    (section,) = [s for s in report.sections if s.id == "training"]
    titles = [f.title for f in section.figures]
    assert "epoch" not in titles and titles[0] == "loss"
    spec = section.figures[0].spec
    assert spec["layer"][0]["encoding"]["x"]["title"] == "Step"
    dots = spec["layer"][1]
    assert dots["mark"]["type"] == "point"
    values = (
        dots["data"]["values"]
        if "values" in dots["data"]
        else spec["datasets"][dots["data"]["name"]]
    )
    assert values == [{"model": "pl", "split": "test", "step": 207.0, "value": 0.42}]
    epochs = build_report([], histories=[f"k={keras}"], bootstrap=0)
    (section,) = [s for s in epochs.sections if s.id == "training"]
    assert section.figures[0].spec["layer"][0]["encoding"]["x"]["title"] == "Epoch"
    assert "A training quantity" in next(
        f.lead for f in section.figures if f.title == "learning_rate"
    )


@pytest.mark.parametrize(
    ("make", "file", "shape"),
    [
        (trainer_state, "trainer_state.json", "a Hugging Face Trainer state"),
        (keras_dict, "history.json", "a Keras history.history dict of lists"),
        (lightning_metrics, "metrics.csv", "an epoch or step column beside losses"),
        (keras_log, "training_log.csv", "an epoch or step column beside losses"),
    ],
    ids=["hf-trainer", "keras-dict", "lightning", "keras-csvlogger"],
)
def test_a_history_given_as_a_run_says_to_pass_it_with_history(
    tmp_path: Path,
    make,  # type: ignore[no-untyped-def]
    file: str,
    shape: str,
) -> None:
    """Was: a Trainer state or Keras dict an unknown JSON object, a Keras log a perplexity
    run ("column 'loss' needs per-example token counts"), a Lightning file "no label column"."""
    path = make(tmp_path / file)
    done = build_cli(f"v1={path}", "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"reportgen: error: {path}: this looks like a training history ({shape}), not a run; "
        f"pass it with --history v1={path}\n"
    )
    assert not (tmp_path / "r.html").exists()


def test_no_runs_and_no_histories_is_still_refused(tmp_path: Path) -> None:
    done = build_cli("-o", str(tmp_path / "r.html"))
    assert done.returncode == 2
    assert "no runs given; pass at least one run file, or training histories with --history" in (
        done.stderr
    )


def test_a_prediction_file_with_an_epoch_column_is_still_a_run(tmp_path: Path) -> None:
    path = tmp_path / "preds.csv"
    pd.DataFrame({"id": range(40), "epoch": 3, "label": [0, 1] * 20,
                  "prediction": [0, 1, 1, 1] * 10}).to_csv(path, index=False)  # fmt: skip
    report = build_report([str(path)], bootstrap=0)
    assert report.runs[0].name == "preds"


@needs_real
def test_real_histories_build_alone_with_best_values() -> None:
    files = {
        "hf": "hf-trainer_trainer_state.json",
        "keras": "keras_history_head.json",
        "klog": "keras_training_log.csv",
        "pl": "lightning_version_0_metrics.csv",
    }
    report = build_report([], histories=[f"{m}={REAL / f}" for m, f in files.items()], bootstrap=0)
    entries = {e["model"]: e for e in report.summary()["training_histories"]}
    state = json.loads((REAL / files["hf"]).read_text())
    evals = [(e["eval_g0_loss"], e["step"]) for e in state["log_history"] if "eval_g0_loss" in e]
    hf = {b["metric"]: b for b in entries["hf"]["best_validation"]}
    assert (hf["g0_loss"]["value"], hf["g0_loss"]["step"]) == min(evals)
    pl = pd.read_csv(REAL / files["pl"])
    at = pl["val_loss"].idxmin()
    (best,) = entries["pl"]["best_validation"]
    assert (best["value"], best["step"]) == (pl.at[at, "val_loss"], float(pl.at[at, "step"]))
    keras = json.loads((REAL / files["keras"]).read_text())
    best_keras = {b["metric"]: b for b in entries["keras"]["best_validation"]}
    assert best_keras["loss"]["epoch"] == float(np.argmin(keras["val_loss"]) + 1)
