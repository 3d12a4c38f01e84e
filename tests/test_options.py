"""Options are declared once (reportgen/options.py): the command's options, the config keys,
build_report's keywords, their checks and its docstring all come from OPTIONS."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from typer.main import get_command

from reportgen import build_report, options
from reportgen.cli import app
from reportgen.config import build_arguments
from reportgen.errors import ReportgenError

BUILD_COMMAND = get_command(app).commands["build"]  # type: ignore[attr-defined]


def test_every_declared_option_is_a_command_option_with_its_example() -> None:
    params = {p.name: p for p in BUILD_COMMAND.params}
    assert set(params) == {"runs"} | {o.name for o in options.OPTIONS}
    for option in options.OPTIONS:
        param = params[option.name]
        assert option.long in param.opts
        assert option.cli_example() in (param.help or "")
        assert param.rich_help_panel == option.group  # type: ignore[attr-defined]
        assert option.group in options.PANELS


def test_build_report_keywords_are_the_build_options() -> None:
    signature = inspect.signature(build_report)
    keywords = [p for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY]
    assert [p.name for p in keywords] == [o.name for o in options.BUILD] + ["progress"]
    assert signature.parameters["bootstrap"].default == 1000
    for option in options.BUILD:
        assert f"{option.name} (" in (build_report.__doc__ or "")
        assert option.python_example() in (build_report.__doc__ or "")


def test_command_line_values_reach_build_report_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every build option typed on the command line as its --help example (through typer's
    conversions and the config merge) reaches build_report as the value Python would pass:
    every build option, and nothing that is the command's own (outputs, terminal)."""
    import shlex

    from typer.testing import CliRunner

    import reportgen.pipeline

    seen: dict = {}  # type: ignore[type-arg]

    def fake_build_report(**keywords: object) -> None:
        seen.update(keywords)
        raise ReportgenError("stop here")

    monkeypatch.setattr(reportgen.pipeline, "build_report", fake_build_report)
    typed = [piece for o in options.BUILD for piece in shlex.split(o.cli_example())]
    done = CliRunner().invoke(app, ["build", "a.csv", *typed])
    assert done.exit_code == 2 and "stop here" in done.output, done.output
    seen.pop("progress")
    assert set(seen) == {"runs"} | {o.name for o in options.BUILD}
    assert list(seen["runs"]) == ["a.csv"]
    for option in options.BUILD:
        value = seen[option.name]
        value = list(value) if isinstance(value, tuple) else value
        assert value == option.example, option.name
    # and the config merge alone hands on exactly build_report's keywords
    given = {o.name: o.example for o in options.OPTIONS} | {"runs": ["a.csv"]}
    assert set(build_arguments(given)) == {"runs"} | {o.name for o in options.BUILD}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"bootstrap": -1}, "--bootstrap -1: must be 0 or more, e.g. 2000"),
        ({"bootstrap": "100"}, "--bootstrap '100': give a whole number"),
        ({"seed": True}, "--seed True: give a whole number"),
        ({"threshold": float("inf")}, "--threshold inf: give a finite number"),
        ({"multiplicity": "holm"}, "--multiplicity 'holm': use per-comparison, report, none"),
        ({"slices": ["a", 3]}, "--slice ['a', 3]: give a list of texts"),
        ({"cost": "FP=x"}, "--cost 'FP=x': 'FP=x': the cost 'x' is not a number"),
        ({"benchmark_metrics": ["gsm8k"]}, "--benchmark-metric ['gsm8k']: 'gsm8k': write TASK="),
        ({"max_points": 5}, "--max-points 5: must be 10 or more"),
        ({"unpaired": "yes"}, "--unpaired 'yes': give True or False"),
    ],
)
def test_bad_values_name_the_option_and_what_to_give(given: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ReportgenError) as caught:
        options.resolve(given)
    assert str(caught.value).startswith(message)


def test_unknown_keywords_are_a_type_error_listing_the_options() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'bootstrapp'; options are"):
        build_report(["a.csv"], bootstrapp=100)


def test_values_are_parsed_for_the_kinds() -> None:
    found = options.resolve(
        {"cost": "fp=1, FN=5", "benchmark_metrics": ["gsm8k = exact_match"], "slices": "country"}
    )
    assert found.cost == {"tp": 0.0, "fp": 1.0, "fn": 5.0, "tn": 0.0}
    assert found.benchmark_metrics == {"gsm8k": "exact_match"}
    assert found.slices == ("country",)  # one text is one column
    assert found.threshold is None and found.bootstrap == 1000
    assert options.resolve({"threshold": 1}).threshold == 1.0
    assert options.resolve({"memory_limit": 2_000_000_000}).memory_limit == "2000000000"


def test_every_build_option_is_a_config_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config file may set every build option by its long name; a typo is refused."""
    from typer.testing import CliRunner

    seen: dict[str, object] = {}

    def fake_build_report(runs: object, progress: object = None, **given: object) -> None:
        seen.update(given)
        raise ReportgenError("stop here")

    monkeypatch.setattr("reportgen.pipeline.build_report", fake_build_report)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_text("label,prediction\n1,1\n")
    lines = [f"{o.key} = {_toml(o.example)}" for o in options.BUILD]
    (tmp_path / "reportgen.toml").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["build", "a.csv"])
    assert "stop here" in result.output, result.output
    for option in options.BUILD:
        expected = option.example
        assert seen[option.name] == expected, option.name
    (tmp_path / "reportgen.toml").write_text("bootstrapp = 10\n")
    result = CliRunner().invoke(app, ["build", "a.csv"])
    assert result.exit_code == 2 and "unknown setting 'bootstrapp'" in result.output


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)
