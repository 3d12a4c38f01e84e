"""The Vega-Lite schema check the tests apply to chart specs (Altair's, run once per spec)."""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema
from altair.vegalite.v6.schema import core


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = core.load_schema()
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def check_spec(spec: dict[str, Any], where: str) -> None:
    """Raise AssertionError naming ``where`` and the first error if ``spec`` is not valid
    Vega-Lite."""
    error = jsonschema.exceptions.best_match(_validator().iter_errors(spec))
    if error is not None:
        path = "/".join(map(str, error.absolute_path))
        raise AssertionError(f"{where}: not valid Vega-Lite at {path or 'top'}: {error.message}")
