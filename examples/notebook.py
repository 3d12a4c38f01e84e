# %% [markdown]
# # A report from a notebook
#
# Two scikit-learn models on the breast-cancer data, compared from the arrays a notebook
# holds: no file is written until the report itself. Run it cell by cell in Jupyter or VS
# Code, or whole: `python examples/notebook.py [OUT_FOLDER]`.

# %%
import sys
from pathlib import Path

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import reportgen

x, y = load_breast_cancer(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.4, random_state=0)

# %% Two models
models = {
    "tree": DecisionTreeClassifier(max_depth=3, random_state=0),
    "logistic": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
}
for model in models.values():
    model.fit(x_train, y_train)

# %% Runs from arrays: y_true, y_pred and the positive class's score
runs = {
    name: reportgen.Run.from_arrays(
        name,
        y_test,
        model.predict(x_test),
        model.predict_proba(x_test)[:, 1],
        mean_radius=x_test[:, 0].round(0),  # any keyword is a column: a slice, text, latency
    )
    for name, model in models.items()
}

# %% The report: shown inline by a notebook when it is a cell's last value
report = reportgen.build_report(runs, baseline="tree", title="Tree vs logistic regression")
report  # noqa: B018 (a notebook shows a cell's last value)

# %% Numbers for further analysis: plain dicts and tidy DataFrames
print(report.summary()["verdict"])
print(report.metrics_frame().query("metric == 'roc_auc'")[["model", "value", "low", "high"]])
print(report.comparisons_frame()[["candidate", "metric", "delta", "verdict"]].head())

# %% Save it (report.show() opens it in a browser)
out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("notebook-report")
out.mkdir(parents=True, exist_ok=True)
print(report.save(out / "report.html"))
report.save(out / "summary.json")
