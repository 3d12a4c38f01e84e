"""Stage 4: the report model -> one self-contained HTML page (Jinja2), written atomically.

The Vega, Vega-Lite and vega-embed JavaScript comes from ``vl_convert.javascript_bundle()`` and
is inlined once. Chart specs sit in ``<script type="application/json">`` blocks written with
Jinja's ``tojson`` (which escapes ``<``, ``>``, ``&`` and ``'``), so text from run files can
never close the script element. A Content-Security-Policy allows exactly the page's two
scripts, by hash, and no remote source.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

if TYPE_CHECKING:
    from reportgen.report import Report

PACKAGE_DIR = Path(__file__).resolve().parent


def templates_dir() -> Path:
    """Templates ship inside the wheel; an editable install uses the repository's folder."""
    for candidate in (PACKAGE_DIR / "templates", PACKAGE_DIR.parent / "templates"):
        if (candidate / "report.html.j2").is_file():
            return candidate
    raise FileNotFoundError("reportgen's templates folder is missing; reinstall reportgen")


@functools.cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "reportgen"


@functools.cache
def javascript_bundle() -> str:
    """The Vega + Vega-Lite + vega-embed bundle, cached on disk per vl-convert version.

    Building it takes seconds in every new process, so the first call stores it.
    """
    import vl_convert

    version = getattr(vl_convert, "__version__", "unknown")
    cached = _cache_dir() / f"vega-bundle-{version}.js"
    try:
        text = cached.read_text(encoding="utf-8")
        if text:  # written atomically, so never partial
            return text
    except OSError:
        pass
    text = vl_convert.javascript_bundle()
    with contextlib.suppress(OSError):  # a read-only home only costs time
        write_atomic(cached, text)
    return text


def _script_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def render_html(report: Report) -> str:
    env = environment()
    bundle = javascript_bundle()
    loader = env.loader
    assert loader is not None
    embed_js = loader.get_source(env, "render.js")[0]
    css = loader.get_source(env, "report.css")[0]
    for name, source in (("bundle", bundle), ("render.js", embed_js)):
        if "</script" in source.lower() or "<!--" in source:
            raise RuntimeError(f"{name} cannot be inlined in a <script> element")
    csp = "; ".join(
        [
            "default-src 'none'",
            f"script-src {_script_hash(bundle)} {_script_hash(embed_js)}",
            "style-src 'unsafe-inline'",  # vega-embed and vega-tooltip add <style> elements
            "img-src data: blob:",
            "font-src data:",
            "connect-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    return env.get_template("report.html.j2").render(
        report=report, csp=csp, css=css, bundle_js=bundle, embed_js=embed_js
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path``, then rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
