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
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from reportgen.errors import ReportgenError
from reportgen.profiling import stage
from reportgen.render import fallbacks
from reportgen.render.cells import cell_class, header_class, hints, sub_class, token_strip

if TYPE_CHECKING:
    from reportgen.report import Report

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def templates_dir() -> Path:
    """Templates ship inside the wheel; an editable install uses the repository's folder."""
    for candidate in (PACKAGE_DIR / "templates", PACKAGE_DIR.parent / "templates"):
        if (candidate / "report.html.j2").is_file():
            return candidate
    raise FileNotFoundError("reportgen's templates folder is missing; reinstall reportgen")


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # chart data is most of the page: no spaces after separators (tojson still escapes <>&')
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "separators": (",", ":")}
    env.filters["keep_arrow"] = keep_arrow
    env.filters["cell_class"] = cell_class  # a cell's meaning as CSS classes
    env.filters["sub_class"] = sub_class
    env.filters["header_class"] = header_class
    env.filters["token_strip"] = token_strip  # a cell's tokens as coloured, escaped text
    env.filters["hints"] = hints  # "Hover ..." sentences marked, for print to leave out
    return env


def keep_arrow(text: str) -> str:
    """A delta's arrow joined to its number by a no-break space, so a narrow column breaks
    before "n.s." and never between "▼" and "−0.004"."""
    return text.replace("▲ ", "▲\u00a0").replace("▼ ", "▼\u00a0").replace("= ", "=\u00a0")


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "reportgen"


# SHA-256 of ``vl_convert.javascript_bundle()`` for each vl-convert release checked with
# reportgen. The bundle is inlined into every page and allowed by the CSP's hash, so a copy
# on disk is used only when it is byte for byte this one (anyone who can write the cache
# would otherwise put a script into every report; a half-written copy, pages with no chart).
BUNDLE_SHA256 = {
    "1.9.0": "3425bd951a44d478d0505c6b5d1e8d57656b6e9a4da7bfe88a718ce61d76e572",
}


@functools.cache
def javascript_bundle() -> str:
    """The Vega + Vega-Lite + vega-embed bundle, cached on disk per vl-convert version.

    Building it takes about 1.4 s in every new process, so the first call stores it. The
    copy on disk is used only when its SHA-256 is the one pinned for that version
    (:data:`BUNDLE_SHA256`), else rebuilt; a release reportgen has not pinned is built
    afresh in every process, never read from disk. A freshly built bundle that does not
    match its pin is refused.
    """
    import vl_convert

    version = getattr(vl_convert, "__version__", "unknown")
    pinned = BUNDLE_SHA256.get(version)
    cached = _cache_dir() / f"vega-bundle-{version}.js"
    if pinned is not None:
        try:
            text = cached.read_text(encoding="utf-8")
            if _sha256(text) == pinned:
                return text
        except (OSError, UnicodeDecodeError):
            pass
    text = vl_convert.javascript_bundle()
    if pinned is None:
        return text
    if _sha256(text) != pinned:
        raise ReportgenError(
            f"vl-convert {version}'s JavaScript bundle is not the one reportgen pins "
            f"(SHA-256 {pinned[:16]}...): reinstall it with pip install --force-reinstall "
            f"vl-convert-python=={version}"
        )
    with contextlib.suppress(OSError):  # a read-only home only costs time
        write_atomic(cached, text)
    return text


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _script_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


_SVG_ID = re.compile(r'\bid="([^"]+)"')
_SVG_GEOMETRY = re.compile(r'(\s(?:d|transform|x|y|x1|x2|y1|y2|width|height|points)=")([^"]*)"')
_LONG_DECIMAL = re.compile(r"(\d\.\d)\d+")
# per-mark accessibility and interaction attributes: the drawing as a whole carries the label
_MARK_ATTRIBUTES = re.compile(
    r' (?:aria-label|aria-roledescription|role|pointer-events|class)="[^"]*"'
)


def _compact_svg(svg: str, prefix: str) -> str:
    """Shorter geometry (0.1 px is invisible), and ids unique within the page and numbered
    in order (vl-convert numbers gradients per process, which would change the bytes)."""
    svg = _SVG_GEOMETRY.sub(lambda m: m.group(1) + _LONG_DECIMAL.sub(r"\1", m.group(2)) + '"', svg)
    svg = _MARK_ATTRIBUTES.sub("", svg)
    for number, found in enumerate(dict.fromkeys(_SVG_ID.findall(svg))):
        new = f"{prefix}-{number}"
        svg = svg.replace(f'id="{found}"', f'id="{new}"')
        svg = svg.replace(f"url(#{found})", f"url(#{new})")
        svg = svg.replace(f'href="#{found}"', f'href="#{new}"')
    return svg


def static_svgs(report: Report) -> dict[str, str]:
    """Every chart as an SVG drawn by vl-convert (no browser), keyed by figure id; dense
    point clouds as a JPEG (:func:`fallbacks.format_of`). Drawn by the worker process when
    one runs (:mod:`reportgen.render.fallbacks`), else here.

    vl-convert escapes text from the data as XML, so names cannot inject markup."""
    cache: dict[str, str] = {}
    found = {}
    for section in report.sections:
        for figure in section.figures:
            drawn = fallbacks.drawing(figure, cache)
            if figure.raster:
                found[figure.id] = (
                    f'<img src="data:image/jpeg;base64,{drawn}" alt="" class="raster">'
                )
            else:
                found[figure.id] = _compact_svg(drawn, f"s-{figure.id}")
    return found


def static_pngs(figures: list[Any], scale: float = 2.0) -> list[bytes]:
    """Charts as PNG images (for email, where SVG and JavaScript are stripped); one after
    the other: vl-convert holds the GIL, so threads would only wait."""
    import vl_convert

    return [fallbacks.convert(vl_convert.vegalite_to_png, f.spec, scale=scale) for f in figures]


def render_html(report: Report, static: bool = False) -> str:
    """The interactive page, with a static SVG under every chart for readers without
    JavaScript; ``static=True``: no JavaScript at all, the SVGs only (much smaller)."""
    env = environment()
    loader = env.loader
    assert loader is not None
    css = loader.get_source(env, "report.css")[0]
    with stage("fallbacks"):
        svgs = static_svgs(report)
    if static:
        csp = "; ".join(
            [
                "default-src 'none'",
                "style-src 'unsafe-inline'",
                "img-src data:",
                "base-uri 'none'",
                "form-action 'none'",
            ]
        )
        return env.get_template("report.html.j2").render(
            report=report, csp=csp, css=css, bundle_js="", embed_js="", svgs=svgs, static=True
        )
    bundle = javascript_bundle()
    embed_js = loader.get_source(env, "render.js")[0]
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
        report=report,
        csp=csp,
        css=css,
        bundle_js=bundle,
        embed_js=embed_js,
        svgs=svgs,
        static=False,
    )


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path``, then rename: never a half-written file."""
    write_atomic_bytes(path, text.encode("utf-8"))


def write_atomic_bytes(path: Path, data: bytes) -> None:
    """One output through :mod:`reportgen.render.outputs`: a temporary renamed into place, a
    character device written straight through, anything else refused."""
    from reportgen.render.outputs import check_targets, staging

    check_targets({"output": path}, [])
    with staging() as outputs:
        outputs.add(path, data)
        outputs.commit()
