"""Writing a build's outputs without ever losing data.

- :func:`check_targets` runs before anything is computed: every output path, resolved with
  symlinks followed, against every input path (a run file and its ``.meta.json`` and
  ``.history.*`` sidecars, a run directory's files) and against the other outputs. A clash
  is an error naming both.
- :class:`Outputs` then writes all outputs to temporary files first and renames them
  together at the end, so a failure (a full disk, a crash) replaces none of them. A target
  that exists and is not a regular file is written straight through when it is a character
  device (``/dev/stdout``, ``/dev/null``), refused otherwise; nothing is ever renamed over
  it. Temporary files are removed on SIGINT, SIGTERM and SIGHUP too. Error messages name the
  target, never the hidden temporary file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType

from reportgen.errors import ReportgenError

SIDECARS = (".meta.json", ".history.csv", ".history.jsonl", ".history.tsv", ".history.parquet")
RUN_DIRECTORY_FILES = ("run.json", "history.csv", "history.jsonl", "history.tsv", "history.parquet")


def _resolved(path: Path) -> Path:
    return Path(os.path.realpath(path))


def input_files(
    arguments: Sequence[object], folder_files: Callable[[Path], list[Path]]
) -> list[Path]:
    """The files the run arguments will read: each file with its sidecars; a directory's
    files (a run directory or an lm-eval output folder), as ``folder_files`` walks it."""
    found: list[Path] = []
    for argument in arguments:
        if not isinstance(argument, str | Path):
            continue
        path = _argument_path(str(argument))
        if path.is_dir():
            found += folder_files(path)
        elif path.exists():
            found.append(path)
            found += [path.with_name(path.name + s) for s in SIDECARS]
            stem = path.name.split(".")[0]
            found += [path.with_name(stem + s) for s in SIDECARS]
    return found


def _argument_path(text: str) -> Path:
    """The path of a ``PATH`` or ``NAME=PATH`` argument (a NAME too long to be a path is a
    name)."""
    name, sep, rest = text.partition("=")
    try:
        whole_exists = Path(text).exists()
    except OSError:
        whole_exists = False
    return Path(rest) if sep and name and not whole_exists else Path(text)


STDOUT = Path("-")  # ``-o -``: standard output, as Unix tools take it


def check_targets(outputs: dict[str, Path], inputs: Sequence[Path]) -> None:
    """Refuse an output that is an input, the same file as another output, a folder, or a
    socket or other file that is neither regular, a character device nor a FIFO."""
    seen: dict[Path, str] = {}
    reading = {_resolved(p): p for p in inputs if p.exists()}
    for option, target in outputs.items():
        if target == STDOUT:
            continue
        if target.is_dir():  # (a trailing slash is refused as it is read: write.output_paths)
            raise ReportgenError(
                f"{option} {target}: names a folder; give a file path, e.g. "
                f"{Path(target) / 'report.html'}"
            )
        real = _resolved(target)
        if real in reading:
            raise ReportgenError(
                f"{option} {target} would overwrite the input {reading[real]}; "
                "write the output somewhere else"
            )
        if real in seen and not _passes_through(target):
            raise ReportgenError(
                f"{option} {target} and {seen[real]} are the same file; give each output "
                "its own path"
            )
        seen[real] = f"{option} {target}"
        if target.exists() and not (target.is_file() or _passes_through(target)):
            raise ReportgenError(
                f"{option} {target}: not a regular file (a socket or block device); "
                "give a file path"
            )


def _passes_through(path: Path) -> bool:
    """A character device or a FIFO (``/dev/stdout``, ``/dev/null``, a pipe), symlinks
    followed: written straight through, never replaced."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def write_through(target: Path, data: bytes, append: bool = False) -> None:
    """Write into a device, a FIFO or standard output, without blocking on a FIFO that no
    one reads (an error instead); ``append`` for a file such as the job summary."""
    if target == STDOUT:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    flags = os.O_WRONLY | os.O_NONBLOCK | (os.O_APPEND | os.O_CREAT if append else 0)
    try:
        handle = os.open(target, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise ReportgenError(
                f"{target}: a FIFO that no one reads; start its reader first"
            ) from None
        raise
    try:
        os.set_blocking(handle, True)  # once open, write everything
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view) :]
    finally:
        os.close(handle)


class Outputs:
    """Outputs staged in temporary files, then put in place together (:meth:`commit`)."""

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path | None, bytes]] = []  # target, temporary, data

    def add(self, target: Path, data: bytes) -> None:
        """Stage ``data`` for ``target``: written now to a temporary beside it (a character
        device, FIFO or standard output is written at commit time, straight through). A
        symlink is followed: the file it points to is replaced, never the link."""
        if target == STDOUT or _passes_through(target):
            self._staged.append((target, None, data))
            return
        if target.is_symlink():
            target = _resolved(target)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
            )
        except OSError as exc:
            self.discard()
            raise ReportgenError(f"{target}: cannot write ({exc.strerror})") from None
        temporary = Path(name)
        self._staged.append((target, temporary, data))
        _PENDING.add(temporary)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        except OSError as exc:
            self.discard()
            raise ReportgenError(f"{target}: cannot write ({exc.strerror})") from None

    def commit(self) -> list[tuple[Path, int]]:
        """Write devices, FIFOs and standard output through first (they can fail, and cannot
        be undone), then rename every temporary over its target: a failure of either
        replaces no file. Returns each target with the bytes written to it."""
        done = []
        staged = sorted(self._staged, key=lambda s: s[1] is not None)  # stable: devices first
        with _cleanup_on_signals():
            for target, temporary, data in staged:
                try:
                    if temporary is None:
                        write_through(target, data)
                    else:
                        os.replace(temporary, target)
                        _PENDING.discard(temporary)
                except OSError as exc:
                    self.discard()
                    raise ReportgenError(f"{target}: cannot write ({exc.strerror})") from None
                done.append((target, len(data)))
        self._staged = []
        return done

    def discard(self) -> None:
        for _, temporary, _ in self._staged:
            if temporary is not None:
                temporary.unlink(missing_ok=True)
                _PENDING.discard(temporary)
        self._staged = []


_PENDING: set[Path] = set()


@contextlib.contextmanager
def staging() -> Iterator[Outputs]:
    """An :class:`Outputs` whose temporaries are removed if the block fails or the process is
    interrupted (SIGINT, SIGTERM, SIGHUP)."""
    outputs = Outputs()
    with _cleanup_on_signals():
        try:
            yield outputs
        except BaseException:
            outputs.discard()
            raise


@contextlib.contextmanager
def _cleanup_on_signals() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        for temporary in list(_PENDING):
            temporary.unlink(missing_ok=True)
        _PENDING.clear()
        raise SystemExit(128 + signum)

    previous = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # HUP: the terminal closed
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: no handlers, the except clauses still clean up
        previous = {}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
