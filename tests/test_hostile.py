"""Hostile names through every output a person or a program reads: one hypothesis strategy,
:func:`hostile_names` (control characters and escape sequences, bidi overrides, zero-width
characters, spreadsheet formula prefixes, RFC 2047 encoded words, Markdown and HTML
metacharacters, line breaks, very long names), drives run names, class labels, slice values,
example text, ``--title`` and ``--email-subject`` through ``reportgen build``; each output is
then read back by a parser: the terminal (no raw ESC, control or bidi character), the Markdown
(markdown-it, CommonMark with tables), the ``.eml`` (the email package) and the page's CSV
export (``csvField()`` of templates/render.js, run in node, read by the csv module).

CI runs a bounded, derandomised set; ``REPORTGEN_FUZZ=long`` runs many more examples:

    REPORTGEN_FUZZ=long python -m pytest tests/test_hostile.py -q
"""

from __future__ import annotations

import base64
import csv
import email.policy
import io
import json
import re
import shutil
import subprocess
import tempfile
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from reportgen.cli import app
from reportgen.formatting import INVISIBLE
from reportgen.render.publish import header_text
from tests.conftest import build_cli
from tests.test_fuzz import LONG, _dump

BUILDS = settings(  # each example is one build in a child process (2-5 s): no shrinking
    max_examples=200 if LONG else 4,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    derandomize=not LONG,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CHEAP = settings(  # in-process examples
    max_examples=1500 if LONG else 30,
    deadline=None,
    derandomize=not LONG,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ROOT = Path(__file__).parent.parent

CONTROLS = [chr(c) for c in (*range(0x01, 0x20), *range(0x7F, 0xA0))]  # NUL: see _argv
ESCAPES = [
    "\x1b]0;title\x07",  # sets the terminal's title
    "\x1b[2J",  # clears the screen
    "\x1b[31mred\x1b[0m",
    "\x9b2J",  # the C1 form of CSI
    "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",  # a terminal hyperlink
]
BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
FORMULAS = [
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "=1+2",
    "-2+3+cmd|' /C calc'!A0",
    "+cmd|' /C notepad'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    '=HYPERLINK("https://evil.example","x")',
]
ENCODED = [
    "=?utf-8?q?a=0D=0ABcc:_x=40evil.example?=",
    "=?utf-8?b?" + base64.b64encode(b"a\r\nBcc: x@evil.example").decode() + "?=",
    "=?iso-8859-1?q?=0D=0AX-Injected:_1?=",
    "=?UTF-8?B?DQpUbzogdmljdGltQGV2aWwuZXhhbXBsZQ==?=",
]
MARKUP = [
    "|",
    "`",
    "*",
    "_",
    "\\",
    "<script>alert(1)</script>",
    "](javascript:alert(1))",
    "[x](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    "```",
    "# h",
    "> q",
    "&amp;",
    "&#x1b;",
    "@user",
    "https://evil.example",
    "www.evil.example",
    "#1",
]
NEWLINES = ["\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c"]

_piece = st.one_of(
    st.sampled_from(ESCAPES + BIDI + ZERO_WIDTH + FORMULAS + ENCODED + MARKUP + NEWLINES),
    st.sampled_from(CONTROLS),
    st.text(max_size=4),
)


def hostile_names(min_pieces: int = 1) -> st.SearchStrategy[str]:
    """A name made of hostile pieces; about one in eight is thousands of characters long."""
    short = st.lists(_piece, min_size=min_pieces, max_size=6).map("".join)
    return st.tuples(short, st.integers(0, 7)).map(
        lambda drawn: drawn[0] + "n" * 4000 + drawn[0] if drawn[1] == 7 else drawn[0]
    )


# --- what each reader must never see ------------------------------------------------------

RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # all but \n
HIDING = re.compile("[" + "".join(BIDI + ZERO_WIDTH) + "]")


def _terminal_clean(text: str, where: str) -> None:
    found = RAW_CONTROL.search(text) or HIDING.search(text)
    if found is not None:
        around = text[max(found.start() - 200, 0) : found.end() + 200]
        raise AssertionError(f"{where}: raw {found.group()!r} at {found.start()}: ...{around!r}...")


def _argv(name: str) -> str:
    return name.replace("\x00", "")  # no command line can hold NUL


def _run_name(name: str) -> str:
    """As NAME=PATH takes it: up to the first '=' (a name with '=' comes from a file stem);
    without what reorders or hides text, which is refused (test_run_names_that_hide_...)."""
    return INVISIBLE.sub("", _argv(name).replace("=", "")) or "run"


def _stem(name: str) -> str:
    """As a file's stem (the run's default name): no '/' nor NUL, at most 200 bytes, and not
    a name the build would take for NAME=PATH (no '=' after a first character)."""
    text = INVISIBLE.sub("", _argv(name).replace("/", "∕"))
    text = text[:1] + text[1:].replace("=", "")
    while len(text.encode("utf-8", "surrogatepass")) > 200:
        text = text[:-1]
    return text if text.strip(" .") else "stem"


def _check_exit_2(done: subprocess.CompletedProcess[str], outputs: list[Path]) -> None:
    lines = done.stderr.rstrip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("reportgen: error: "), done.stderr
    _terminal_clean(done.stderr + done.stdout, "stderr of exit 2")
    assert not any(p.exists() for p in outputs), "an output was written by a failed build"


# --- Markdown -----------------------------------------------------------------------------

OUR_HTML = {"<br>", "<sub>", "</sub>"}  # what summary.md.j2 writes itself
OUR_JOINER = re.compile("(?<=[@:w#])\u2060")  # markdown_text's breaks of GitHub's autolinks


def _check_markdown(text: str) -> None:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(text)
    tables, row = [], None
    for token in tokens:
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            row = 0
        elif token.type in ("th_open", "td_open"):
            row = (row or 0) + 1
        elif token.type == "tr_close":
            tables[-1].append(row)
        elif token.type in ("html_inline", "html_block"):
            assert token.content.strip() in OUR_HTML, f"raw HTML in the Markdown: {token.content!r}"
        for child in token.children or []:
            assert child.type not in ("link_open", "image"), f"a live link: {child.attrs}"
            if child.type == "html_inline":
                assert child.content in OUR_HTML, f"raw HTML in the Markdown: {child.content!r}"
    assert tables, f"the leaderboard table did not survive:\n{text}"
    for cells in tables:
        assert len(set(cells)) == 1, f"rows of {cells} cells: a name broke out of its cell"
    html = md.render(text).lower()
    assert "<script" not in html, html  # as text, &lt;script is fine
    assert not re.search(r"(href|src)=[\"']?\s*javascript:", html), html
    _terminal_clean(OUR_JOINER.sub("", text), "the Markdown")  # `--markdown -` prints it


# --- email --------------------------------------------------------------------------------

EMAIL_HEADERS = {
    "Subject",
    "X-Unsent",
    "X-Mailer",
    "MIME-Version",
    "Content-Type",
}  # no Date: --no-timestamp


def _check_eml(data: bytes, subject: str | None) -> None:
    message = BytesParser(policy=email.policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    assert set(message.keys()) == EMAIL_HEADERS, f"headers: {message.keys()}"
    for key, value in message.items():
        found = RAW_CONTROL.search(str(value))
        assert found is None and "\n" not in str(value), f"{key}: {str(value)!r}"
    assert not message.defects, message.defects
    if subject is not None:  # else the title: run names and task
        assert str(message["Subject"]) == header_text(subject)
    kinds = []
    for part in message.walk():
        assert not part.defects, (part.get_content_type(), part.defects)
        if not part.is_multipart():
            kinds.append(part.get_content_type())
            part.get_content()  # decodes
    assert kinds[:2] == ["text/plain", "text/html"], kinds


# --- the page's CSV export ----------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_fields(texts: list[str]) -> list[str]:
    """``csvField()`` of templates/render.js on each text, in one node process."""
    source = (ROOT / "templates" / "render.js").read_text(encoding="utf-8")
    function = re.search(r"^  function csvField\(text\) \{\n.*?^  \}\n", source, re.M | re.S)
    assert function, "csvField() not found in templates/render.js"
    script = function.group() + (
        'let input = ""; process.stdin.on("data", (d) => { input += d; });'
        'process.stdin.on("end", () => {'
        "  process.stdout.write(JSON.stringify(JSON.parse(input).map(csvField))); });"
    )
    done = subprocess.run(
        ["node", "-e", script],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def _check_csv_export(texts: list[str]) -> None:
    fields = _csv_fields([*texts, "x"])
    last = fields.pop()
    document = "".join(f"{field},{last}\r\n" for field in fields)  # as csvOf() joins them
    rows = list(csv.reader(io.StringIO(document, newline="")))
    assert len(rows) == len(texts), (len(rows), len(texts))
    for text, row in zip(texts, rows, strict=True):
        assert len(row) == 2 and row[1] == "x", (text, row)
        if text.startswith(FORMULA_START):
            assert row[0] == "'" + text, f"{text!r} exported as a formula: {row[0]!r}"
        else:
            assert row[0] == text, (text, row[0])


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@settings(CHEAP, max_examples=300 if LONG else 12)  # a node process each
@given(texts=st.lists(hostile_names(), min_size=1, max_size=60))
def test_csv_export_of_hostile_text_is_text(texts: list[str]) -> None:
    _check_csv_export(texts)


# --- builds -------------------------------------------------------------------------------


def _rows(labels: list[str], slices: list[str], texts: list[str], shift: int) -> list[dict]:
    rows = []
    for i in range(90):
        label = labels[i % len(labels)]
        wrong = i % (3 + shift) == 0
        rows.append(
            {
                "id": i,
                "label": label,
                "prediction": labels[(i + 1) % len(labels)] if wrong else label,
                "region": slices[i % len(slices)],
                "text": texts[i % len(texts)],
            }
        )
    return rows


@BUILDS
@given(
    names=st.tuples(hostile_names(), hostile_names()),
    # three or more: no --positive-label needed; blank labels are missing ones (exit 2)
    labels=st.lists(hostile_names().filter(str.strip), min_size=3, max_size=8, unique=True),
    slices=st.lists(hostile_names(), min_size=1, max_size=3),
    texts=st.lists(hostile_names(), min_size=1, max_size=6),
    title=st.none() | hostile_names(),
    subject=st.none() | hostile_names(),
)
def test_hostile_names_in_every_role_read_back(
    names: tuple[str, str],
    labels: list[str],
    slices: list[str],
    texts: list[str],
    title: str | None,
    subject: str | None,
) -> None:
    """A build with hostile names as run names (NAME=PATH and a file's stem), class labels,
    slice values, example text, title and subject exits 0, or exits 2 with one clean line;
    every output then reads back as what it is."""
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        first = tmp / "a.jsonl"
        (tmp / "runs").mkdir()
        second = tmp / "runs" / f"{_stem(names[1])}.jsonl"
        _dump(_rows(labels, slices, texts, 0), first)
        _dump(_rows(labels, slices, texts, 1), second)
        outputs = [tmp / "r.html", tmp / "r.md", tmp / "r.eml"]
        args = ["-o", str(outputs[0]), "--markdown", str(outputs[1]), "--eml", str(outputs[2])]
        args += ["--slice", "region", "--text-col", "text", "--bootstrap", "0"]
        args += ["--eml-attach", "none", "--no-timestamp"]
        if title is not None:
            args += ["--title", _argv(title)]
        if subject is not None:
            args += ["--email-subject", _argv(subject)]
        done = build_cli(*args, "--", f"{_run_name(names[0])}={first}", str(second), cwd=tmp)
        assert done.returncode in (0, 2), done.stderr
        if done.returncode == 2:
            _check_exit_2(done, outputs)
            return
        _terminal_clean(done.stdout + done.stderr, "the terminal")
        _check_markdown(outputs[1].read_text(encoding="utf-8"))
        given = subject if subject is not None else title
        _check_eml(outputs[2].read_bytes(), None if given is None else _argv(given))
    if shutil.which("node"):
        _check_csv_export([*names, *labels, *slices, *texts])


runner = CliRunner()


@CHEAP
@given(before=hostile_names(), hiding=st.sampled_from(BIDI + ZERO_WIDTH), after=hostile_names())
def test_run_names_that_hide_text_exit_2_with_one_clean_line(
    before: str, hiding: str, after: str
) -> None:
    """A run name holding a bidi or zero-width character is refused in one line that shows
    it escaped (in-process: the refusal comes before any file is read)."""
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder) / "a.jsonl"
        _dump([{"id": i, "label": i % 2, "prediction": 1} for i in range(20)], run)
        name = _argv(before + hiding + after).replace("=", "")
        result = runner.invoke(app, ["build", "-o", f"{folder}/r.html", "--", f"{name}={run}"])
        assert result.exit_code == 2, result.output
        assert " holds U+" in result.output and f"\\u{ord(hiding):04x}" in result.output
        lines = result.output.rstrip("\n").split("\n")
        assert len(lines) == 1 and lines[0].startswith("reportgen: error: run name ")
        _terminal_clean(result.output, "the refusal")
        assert not (Path(folder) / "r.html").exists()


def _two_runs(folder: Path) -> list[str]:
    """Two small binary runs, named with an ESC sequence and a C1 CSI sequence."""
    rows = [{"id": i, "label": i % 2, "prediction": (i // 3) % 2} for i in range(40)]
    a, b = folder / "a.jsonl", folder / "b.jsonl"
    _dump(rows, a)
    _dump([{**r, "prediction": r["label"]} for r in rows], b)
    return [f"b\x1b[2J={a}", f"c\x9b31m={b}"]


def test_found_control_and_bidi_characters_in_the_markdown(tmp_path: Path) -> None:
    """Found by the fuzzer: the Markdown summary held the title's and the run names' ESC
    sequences, C1 controls and bidi overrides raw (``--markdown -`` printed them to the
    terminal; an override reorders what a reader sees). They show as escapes, as on stderr."""
    title = "T\x1b]0;owned\x07 \x9b2Jgnp.exe"  # a bidi override in a title is refused
    args = ["build", "-o", str(tmp_path / "r.html"), "--markdown", "-", "--title", title]
    result = runner.invoke(app, [*args, "--quiet", "--", *_two_runs(tmp_path)])
    assert result.exit_code == 0, result.output
    _terminal_clean(result.output, "the Markdown on stdout")
    _check_markdown(result.output)
    from markdown_it import MarkdownIt

    shown = MarkdownIt("commonmark").enable("table").render(result.output)
    assert "<h3>T\\x1b]0;owned\\x07 \\x9b2Jgnp.exe</h3>" in shown, shown
    assert "<td>b\\x1b[2J (baseline)</td>" in shown and "<td>c\\x9b31m</td>" in shown, shown


def test_found_c1_controls_in_the_email_subject(tmp_path: Path) -> None:
    """Found by the fuzzer: C1 control characters (CSI \\x9b, IND \\x84) went into the
    Subject: header as they were; like C0 ones, they become spaces."""
    subject = "weekly\x9b2J eval\x84 =?utf-8?q?=0D=0ABcc:_x=40evil.example?="
    args = ["build", "-o", str(tmp_path / "r.html"), "--eml", str(tmp_path / "r.eml")]
    args += ["--eml-attach", "none", "--no-timestamp", "--email-subject", subject, "--quiet"]
    result = runner.invoke(app, [*args, "--", *_two_runs(tmp_path)])
    assert result.exit_code == 0, result.output
    message = BytesParser(policy=email.policy.default).parsebytes((tmp_path / "r.eml").read_bytes())
    assert str(message["Subject"]) == "weekly 2J eval = ?utf-8?q?=0D=0ABcc:_x=40evil.example?="
    assert set(message.keys()) == EMAIL_HEADERS


def test_found_emoji_names_too_long_for_a_chart_label(tmp_path: Path) -> None:
    """Found by the fuzzer: a label Vega cuts to fit (a long run or class name) could be cut
    inside an emoji, and vl-convert then failed to measure it: exit 3 from the static
    drawings ("Failed to deserialize text info"). The drawing is made with U+FFFD there."""
    emoji = "\U0001f600" * 40
    classes = ["x" + emoji, "b", "c"]
    rows = [
        {"id": i, "label": classes[i % 3], "prediction": classes[i // 2 % 3]} for i in range(60)
    ]
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    _dump(rows, a)
    _dump([{**r, "prediction": r["label"]} for r in rows], b)
    args = ["build", "-o", str(tmp_path / "r.html"), "--eml", str(tmp_path / "r.eml"), "--quiet"]
    result = runner.invoke(app, [*args, "--eml-attach", "none", "--", f"{emoji}={a}", str(b)])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    message = BytesParser(policy=email.policy.default).parsebytes((tmp_path / "r.eml").read_bytes())
    assert any(part.get_content_type() == "image/png" for part in message.walk())
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert emoji in page  # the page's own charts and tables keep the name


@pytest.mark.parametrize(
    ("option", "text"), [("--title", "prod\u202edeliaf"), ("--email-subject", "model\u200d")]
)
def test_a_title_or_subject_that_hides_text_is_refused(
    tmp_path: Path, option: str, text: str
) -> None:
    """A bidi override or zero-width character in the title or the subject would make the
    page, the Markdown or the mail read as something it is not: refused as in run names."""
    outputs = [tmp_path / "r.html", tmp_path / "r.eml"]
    args = ["build", "-o", str(outputs[0]), "--eml", str(outputs[1]), option, text]
    result = runner.invoke(app, [*args, "--quiet", "--", *_two_runs(tmp_path)])
    assert result.exit_code == 2, result.output
    lines = result.output.rstrip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith(f"reportgen: error: {option} '")
    assert f"\\u{ord(text[-1] if option == '--email-subject' else text[4]):04x}" in lines[0]
    _terminal_clean(result.output, "the refusal")
    assert not any(p.exists() for p in outputs)


def test_the_plain_text_part_of_the_email_shows_control_characters_escaped(
    tmp_path: Path,
) -> None:
    """The .eml's text/plain alternative, which terminal mail readers print, names the runs
    with their ESC and C1 sequences escaped, as the terminal and the Markdown do."""
    args = ["build", "-o", str(tmp_path / "r.html"), "--eml", str(tmp_path / "r.eml")]
    result = runner.invoke(
        app, [*args, "--eml-attach", "none", "--quiet", "--", *_two_runs(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    message = BytesParser(policy=email.policy.default).parsebytes((tmp_path / "r.eml").read_bytes())
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None
    text = plain.get_content()
    _terminal_clean(text.replace("\r\n", "\n"), "the plain-text part")  # SMTP line ends
    assert "b\\x1b[2J" in text and "c\\x9b31m" in text
