"""Stage 4, other formats of the same report model: a Markdown summary for pull requests and
job pages, JUnit XML for CI systems, and a ready-to-send email (MIME, standard library only).
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import TYPE_CHECKING

import jinja2

from reportgen import formatting as fmt
from reportgen.errors import ReportgenError
from reportgen.formatting import escape_hidden
from reportgen.model import Cell, Figure, Table
from reportgen.render.cells import still, token_tables
from reportgen.render.html import environment, static_pngs

if TYPE_CHECKING:
    from reportgen.report import Report

KEY_FIGURES = (
    "improvements",
    "lm-improvements",
    "roc-curves",
    "benchmark-bars",
    "perplexity-distribution",
    "pr-curves",
    "roc-classes",
    "reliability",
)
MAX_EMAIL_FIGURES = 3
EMAIL_COLUMNS = 8  # model, examples and six metrics fit a 760 px email
MARKER = re.compile(r"[A-Za-z0-9_.\-]{1,64}")  # a --markdown-marker ID, as options checks it
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|<>~])")


_AUTOLINKS = re.compile(r"(@|://|(?<![\w.])www\.|#(?=\d))", re.IGNORECASE)


def markdown_text(text: object) -> str:
    """Text safe inside a GitHub Markdown table cell: no markup, no HTML, no line breaks,
    and no live links or mentions: a word joiner (U+2060) breaks GitHub's autolinks of
    ``https://``, ``www.``, ``@user`` and ``#123``, so a run name stays text. Control,
    bidi and zero-width characters show as escapes (\\x1b, \\u202e), as on the terminal:
    ``--markdown -`` prints the summary, and a bidi override would reorder the cell."""
    flat = escape_hidden(" ".join(str(text).split()))
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", flat.replace("&", "&amp;"))
    return _AUTOLINKS.sub(lambda m: m.group(1)[0] + "\u2060" + m.group(1)[1:], escaped)


def markdown_cell(cell: Cell) -> str:
    """A value with its delta: significant deltas in bold; the others carry n.s. already."""
    text = markdown_text(cell.text)
    if cell.best:
        text = f"**{text}**"
    if cell.sub:
        sub = markdown_text(cell.sub)
        if cell.sub_tone:  # better or worse: a significant delta
            text += f" <br>**{sub}**"
        elif cell.sub_role == "delta":
            text += f" <br>{sub}"
        else:
            text += f" ({sub})"
    return text


def _markdown_environment() -> jinja2.Environment:
    env = environment().overlay(autoescape=False)
    env.filters["md"] = markdown_text
    env.filters["md_cell"] = markdown_cell
    return env


def _email_environment() -> jinja2.Environment:
    env = environment().overlay()
    env.filters["still"] = still
    env.filters["email_leaderboard"] = email_leaderboard
    env.filters["token_tables"] = token_tables
    env.filters["email_board"] = email_board
    return env


def to_markdown(report: Report, marker: str | None = None) -> str:
    """A GitHub-flavoured summary: verdict, gates, leaderboard, and the trend of earlier
    builds as sparklines; short enough for a PR comment. ``marker`` starts it with a hidden
    ``<!-- reportgen:ID -->`` line that a CI step finds to update the comment in place."""
    if marker is not None and not MARKER.fullmatch(marker):
        raise ReportgenError(
            f"markdown marker {marker!r}: use letters, digits, _ . or -, e.g. pr-report"
        )
    trend = report.trend
    rows = trend.markdown_rows() if trend is not None else []
    points = min(trend.markdown_points, len(trend.builds)) if trend is not None else 0
    return (
        _markdown_environment()
        .get_template("summary.md.j2")
        .render(report=report, marker=marker, trend_rows=rows, trend_points=points)
    )


def to_junit(report: Report) -> str:
    """One JUnit test case per gate and model; a failed gate is a <failure>."""
    suite = ET.Element(
        "testsuite",
        name="reportgen gates",
        tests=str(len(report.gates)),
        failures=str(len(report.failed_gates)),
        errors="0",
        skipped="0",
    )
    if report.generated_at:  # ISO 8601, as JUnit readers expect
        stamp = report.generated_at.removesuffix(" UTC").replace(" ", "T")
        suite.set("timestamp", stamp + ":00")
    for result in report.gates:
        case = ET.SubElement(
            suite, "testcase", classname=f"reportgen.{result.model}", name=result.expression
        )
        if result.passed:
            ET.SubElement(case, "system-out").text = result.detail
        else:
            failure = ET.SubElement(case, "failure", message=result.detail, type="GateFailed")
            failure.text = f"{result.expression}: {result.detail}"
    root = ET.Element("testsuites", name=report.title)
    root.append(suite)
    for element in root.iter():  # XML 1.0 cannot hold control characters, even escaped
        element.attrib = {k: xml_text(v) for k, v in element.attrib.items()}
        if element.text:
            element.text = xml_text(element.text)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def header_text(text: str) -> str:
    """A header value on one line: line breaks and other control characters (C0 and C1, whose
    CSI \x9b a terminal mail reader would act on) become spaces,
    and "=?" is parted ("= ?"), so no RFC 2047 encoded word of the user's can be decoded into
    a line break: a title or run name can never end the header and start another (we encode
    non-ASCII text ourselves)."""
    flat = " ".join(re.sub("[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", text).split())
    return flat.replace("=?", "= ?")


def _address(text: str, option: str) -> str:
    from email.utils import getaddresses

    cleaned = header_text(text)
    found = getaddresses([cleaned])
    encoded = "=?" in text  # RFC 2047 words could decode to anything, a line break included
    if encoded or not found or any("@" not in address for _, address in found):
        raise ReportgenError(
            f"{option} {text!r}: not an e-mail address; write name@example.com, or "
            "'Name <name@example.com>' with the name in plain text (no =?...?= encoded "
            "words), several separated by commas"
        )
    return cleaned


def xml_text(text: str) -> str:
    """``text`` with the characters XML 1.0 forbids replaced by U+FFFD."""
    return XML_INVALID.sub("\ufffd", text)


EMAIL_MODELS = 3  # model columns of a turned leaderboard that fit a 400 px phone


def email_parts(board: Table, baseline: int = 1) -> list[Table]:
    """A leaderboard with a column per model (the baseline's is column ``baseline``), in
    tables of at most three models each, the baseline in every one as the reference, so
    that a phone shows them without scrolling sideways."""
    if len(board.header) - 1 <= EMAIL_MODELS:
        return [board]
    others = [j for j in range(1, len(board.header)) if j != baseline]
    step = EMAIL_MODELS - 1
    parts = []
    for at in range(0, len(others), step):
        columns = [0, baseline, *others[at : at + step]]
        parts.append(
            Table(
                [board.header[j] for j in columns],
                [[row[j] for j in columns] for row in board.rows],
                numeric=[board.numeric[j] for j in columns] if board.numeric else [],
            )
        )
    return parts


def email_leaderboard(report: Report) -> tuple[list[Table], int]:
    """The leaderboard as the email shows it, and how many of its columns it leaves out:
    turned (a column per model) in tables of three models (:func:`email_parts`), all shown;
    else a row per model, cut after ``EMAIL_COLUMNS`` columns."""
    board = report.leaderboard
    assert board is not None
    shown = board.shown(narrow=True)
    if shown is board:
        return [board], max(0, len(board.header) - EMAIL_COLUMNS)
    names = [row[0].text for row in board.rows]
    baseline = names.index(report.baseline) + 1 if report.baseline in names else 1
    return email_parts(shown, baseline), 0


def email_board(full: Table, baseline: str) -> list[Table]:
    """A further leaderboard (another kind's, a view's) as the email shows it: turned when
    it has a turned layout, in tables of three models (:func:`email_parts`)."""
    shown = full.shown(narrow=True)
    if shown is full:
        return [full]
    names = [row[0].text for row in full.rows]
    return email_parts(shown, names.index(baseline) + 1 if baseline in names else 1)


def key_figures(report: Report, limit: int = MAX_EMAIL_FIGURES) -> list[Figure]:
    """The two or three charts that carry the message, in a fixed order of preference."""
    by_id = {f.id: f for s in report.sections for f in s.figures}
    chosen = [by_id[i] for i in KEY_FIGURES if i in by_id]
    return chosen[:limit]


SIGNIFICANCE_NOTE = (
    "In brackets after a candidate's value: its difference from the baseline; n.s. when it "
    "is not significant (adjusted p >= 0.05), unmarked when it is or when it was not tested "
    "(the attached report says which)."
)


def to_text(report: Report, attach: str = "report") -> str:
    """The plain-text alternative of the email: what the HTML body says, without markup."""
    lines = [report.title, "=" * min(len(report.title), 78), ""]
    if report.generated_at:
        lines.append(f"Generated {report.generated_at} by reportgen {report.version}.")
    if report.verdict:
        lines += ["", report.verdict]
    lines += [f"Warning: {w}" for w in report.warnings]
    if report.gates:
        lines += [
            "",
            f"Gates: {len(report.failed_gates)} failed, "
            f"{len(report.gates) - len(report.failed_gates)} passed",
        ]
        lines += [
            f"  [{'pass' if g.passed else 'FAIL'}] {g.expression}: {g.detail}" for g in report.gates
        ]
        lines += [f"  {line}" for line in report.detectable]
    for heading, table in report.leaderboards:
        lines += ["", heading, *_text_table(table.shown(narrow=True))]
    if report.leaderboards:
        lines += ["", SIGNIFICANCE_NOTE]
    lines += ["", ATTACHED[attach]]
    return "\n".join(fmt.escape_hidden(line) for line in lines) + "\n"


ATTACHED = {
    "report": "The full interactive report is attached (report.html): it opens in any "
    "browser and loads nothing from the network.",
    "static": "The full report is attached without JavaScript (report.html): charts as "
    "images, for mail systems that strip scripts.",
    "none": "The full report is not attached; ask its sender for report.html.",
}


def _text_table(table: Table) -> list[str]:
    rows = [table.header] + [
        [c.text + (f" ({c.sub})" if c.sub else "") for c in row] for row in table.rows
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(table.header))]
    return ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def to_email(
    report: Report,
    to: str | None = None,
    subject: str | None = None,
    sender: str | None = None,
    attach: str = "report",
) -> bytes:
    """A MIME message: an HTML body with inline CSS and the key charts as inline PNG images
    referenced by ``cid:``, a plain-text alternative, and the full report attached
    (``attach``: ``report``, the page; ``static``, the page without JavaScript, much smaller;
    ``none``).

    Boundaries and content ids derive from the content, so the same report gives the same
    bytes."""
    if attach not in ATTACHED:  # before any chart is drawn
        raise ReportgenError(f"--eml-attach {attach!r}: use {', '.join(ATTACHED)}")
    figures = key_figures(report)
    pngs = static_pngs(figures)
    digest = hashlib.sha256(report.to_json().encode("utf-8")).hexdigest()[:16]
    cids = [f"chart{i}.{digest}@reportgen" for i in range(len(figures))]
    # PNGs are drawn at twice their size for sharp screens; shown at their CSS size
    widths = [int.from_bytes(png[16:20], "big") // 2 for png in pngs]
    body = (
        _email_environment()
        .get_template("email.html.j2")
        .render(
            report=report,
            images=list(zip(figures, cids, widths, strict=True)),
            max_columns=EMAIL_COLUMNS,
            attached=ATTACHED[attach],
        )
    )
    message = EmailMessage(policy=SMTP)
    hidden = fmt.hidden_in(subject or "", "--email-subject", "write the subject without it")
    if hidden is not None:
        raise ReportgenError(hidden)
    message["Subject"] = header_text(subject or report.title)
    for field, value, option in (("To", to, "--email-to"), ("From", sender, "--email-from")):
        if value:
            try:
                message[field] = _address(value, option)
            except ValueError as exc:  # the email package's own refusal
                raise ReportgenError(f"{option} {value!r}: not an e-mail address ({exc})") from None
    if not sender:  # a draft: mail clients open it to be sent from the reader's own account
        message["X-Unsent"] = "1"
    if report.generated_at:
        import datetime as dt

        moment = dt.datetime.strptime(report.generated_at, "%Y-%m-%d %H:%M UTC")
        message["Date"] = format_datetime(moment.replace(tzinfo=dt.UTC))
    message["X-Mailer"] = f"reportgen {report.version}"
    message.set_content(to_text(report, attach))
    message.add_alternative(body, subtype="html")
    html_part = message.get_payload()[1]  # type: ignore[index]
    for png, cid, figure in zip(pngs, cids, figures, strict=True):
        html_part.add_related(
            png,
            maintype="image",
            subtype="png",
            cid=f"<{cid}>",
            filename=f"{figure.id}.png",
            disposition="inline",  # part of the body, not listed as an attachment
        )
    if attach != "none":
        message.add_attachment(
            report.to_html(static=attach == "static").encode("utf-8"),
            maintype="text",
            subtype="html",
            filename="report.html",
            # declared: a client that decodes by the type reads ASCII, and a changed byte
            # breaks the page's CSP hashes
            params={"charset": "utf-8"},
        )
    _fix_boundaries(message, digest)
    return message.as_bytes()


def _fix_boundaries(message: EmailMessage, seed: str) -> None:
    for index, part in enumerate(message.walk()):
        if part.is_multipart():
            part.set_boundary(f"=_reportgen_{seed}_{index}")
