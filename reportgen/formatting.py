"""Number formatting shared by every output (HTML, Markdown, terminal)."""

from __future__ import annotations

import math
import re

MISSING = "—"


def byte_size(n: float) -> str:
    """A size as a person reads it: 812 B, 14 kB, 2.4 MB, 31 GB (decimal units)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}" if n < 10 * scale else f"{n / scale:.0f} {unit}"
    return f"{int(n)} B"


def rate(value: float | None, digits: int = 3) -> str:
    """Rates and scores with a fixed number of decimals: 0.973."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if math.isinf(value):
        return "Infinity" if value > 0 else "−Infinity"
    return f"{value:.{digits}f}"


def signed(value: float | None, digits: int = 3, *, floor: bool = False) -> str:
    """A difference with its sign: +0.012, −0.004 (a true minus sign); ±0 for no difference.

    A difference too small for ``digits`` decimals keeps two significant digits (−0.00012),
    so a cell never reads −0.000 or +0.000; with ``floor`` it reads "<0.001" instead, so that
    every row of a column of deltas has the same decimals (the arrow beside it gives its
    sign), never +0.00041 beside +0.012."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if math.isinf(value):
        return "+Infinity" if value > 0 else "−Infinity"
    tiny = abs(value) < 0.5 * 10.0**-digits
    if floor and tiny and value != 0:
        return f"<{10.0**-digits:.{digits}f}"
    if abs(value) < 1e-12:
        return "±0"
    places = digits
    if tiny:
        places = -math.floor(math.log10(abs(value))) + 1
    text = f"{value:+.{places}f}"
    return text.replace("-", "−")


def threshold(value: float | None) -> str:
    """A decision threshold, the same way everywhere: three decimals (0.500, 0.412), or two
    significant digits below 0.01 (0.0031, as click-through scores need)."""
    if value is None or math.isnan(value):
        return MISSING
    if value != 0 and abs(value) < 0.01:
        return f"{value:.2g}"
    return f"{value:.3f}"


def count(value: int | None) -> str:
    """Integers with thousands separators: 12,345."""
    return MISSING if value is None else f"{int(value):,}"


def percent(value: float | None, digits: int = 1) -> str:
    return MISSING if value is None else f"{100 * value:.{digits}f}%"


def p_value(value: float | None) -> str:
    if value is None:
        return MISSING
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def magnitude(value: float | None) -> str:
    """A quantity in its own units (an error of a regression): 3 decimals from 1 to 1,000,
    thousands separators above, 4 significant digits below 1."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    size = abs(value)
    if size >= 1000:
        text = f"{value:,.1f}"
    elif size >= 1 or size == 0:
        text = f"{value:.3f}"
    else:
        text = f"{value:.4g}"
    return text.replace("-", "−")  # a true minus sign, as in signed()


# Object.prototype's own names: as data values they turn into inherited properties in the
# lookups of the chart runtime, so a class, run or slice named "constructor" broke a chart
JS_PROTOTYPE_NAMES = frozenset(
    {
        "constructor",
        "__proto__",
        "toString",
        "toLocaleString",
        "valueOf",
        "hasOwnProperty",
        "isPrototypeOf",
        "propertyIsEnumerable",
        "__defineGetter__",
        "__defineSetter__",
        "__lookupGetter__",
        "__lookupSetter__",
    }
)
DISPLAY_LIMIT = 160  # characters of a name shown in a chart; the full name stays in the JSON


def display_text(text: str) -> str:
    """A name as charts show it, safe for every renderer: C0 control characters as their
    visible pictures (U+2401 for \\x01), line and paragraph separators as spaces, a
    zero-width space after a JavaScript prototype name, and a name longer than 160
    characters cut, with a short hash so that cut names stay apart."""
    cleaned = "".join(
        chr(0x2400 + ord(ch)) if ord(ch) < 0x20 else "\u2421" if ch == "\x7f" else ch for ch in text
    )
    cleaned = cleaned.replace("\u2028", " ").replace("\u2029", " ")
    if cleaned in JS_PROTOTYPE_NAMES:
        cleaned += "\u200b"
    if len(cleaned) > DISPLAY_LIMIT:
        import hashlib

        digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:6]
        cleaned = cleaned[: DISPLAY_LIMIT - 10] + "…" + digest
    return cleaned


# characters that reorder or hide text: bidi embeddings, overrides and isolates, zero-width
# spaces and joiners, word joiners, the BOM ("prod\u202edeliaf" reads "prodfailed")
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


# control characters (a terminal would act on ESC sequences, BEL, CR; C1 holds CSI, \x9b),
# and what reorders or hides text (INVISIBLE)
HIDDEN = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f]|{INVISIBLE.pattern}")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_hidden(text: str) -> str:
    """Each control, bidi or invisible character of ``text`` as an escape (\\n, \\x1b,
    \\u202e): what a terminal or a Markdown reader shows can neither drive the terminal nor
    read as something it is not."""

    def shown(found: re.Match[str]) -> str:
        ch = found.group()
        if ch in _NAMED:
            return _NAMED[ch]
        return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"

    return HIDDEN.sub(shown, text)


def hidden_in(text: str, what: str, fix: str) -> str | None:
    """Why ``text`` cannot be shown honestly, or None: it holds a character that reorders or
    hides text (bidi controls, zero-width characters). ``what`` names it, ``fix`` says what
    to do."""
    found = INVISIBLE.search(text)
    if found is None:
        return None
    shown = INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return (
        f"{what} '{shown}' holds U+{ord(found.group()):04X}, a character that reorders or "
        f"hides text, so it would not read as it is; {fix}"
    )


def check_names(names: list[str]) -> str | None:
    """Why these model names cannot be shown honestly, or None: a name holding a character
    that reorders or hides text, or two names that differ only by such characters."""
    for name in names:
        found = hidden_in(name, "run name", "rename the run (NAME=PATH)")
        if found:
            return found
    return None
