"""Paths before they are read: a file must be a regular file (a FIFO blocks a read forever);
run folders are refused at once when they are system folders or cannot be read, and walked
without following symlinked folders (no loops, nothing outside the folder read twice).
Nothing here imports pandas: the command line checks its config file with it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from reportgen.errors import ReportgenError

# never run folders: the whole disk, and the kernel's and devices' pseudo-files (walking them
# reads /proc/<pid>/cwd and every other process's view of the disk, or blocks on a device);
# /dev/shm is an ordinary (memory) disk
SYSTEM_TREES = (Path("/proc"), Path("/sys"), Path("/dev"))
ORDINARY = Path("/dev/shm")
HINT = "point at the run's own folder (predictions.<ext> and run.json, or an lm-eval output folder)"


def check_run_folder(folder: Path) -> None:
    """A folder given as a run: not ``/``, the home folder or a system folder, and readable
    (listed and searched), else a one-line error naming it and why."""
    resolved = Path(os.path.realpath(folder))
    shown = str(folder) if str(folder) == str(resolved) else f"{folder} ({resolved})"
    if resolved == Path(resolved.anchor):
        raise ReportgenError(f"{shown}: the root folder is not a run folder; {HINT}")
    inside = [tree for tree in (*SYSTEM_TREES, ORDINARY) if resolved.is_relative_to(tree)]
    if inside and ORDINARY not in inside:
        raise ReportgenError(f"{shown}: a system folder, not a run folder; {HINT}")
    home = os.environ.get("HOME")
    if home and resolved == Path(os.path.realpath(home)):
        raise ReportgenError(f"{shown}: your home folder is not a run folder; {HINT}")
    try:
        with os.scandir(folder) as entries:
            next(entries, None)
        os.stat(os.path.join(folder, "."))  # searching it (x), not only listing it (r)
    except OSError as exc:
        raise ReportgenError(_unreadable(folder, exc)) from None


def _unreadable(folder: Path | str, exc: OSError) -> str:
    reason = exc.strerror or type(exc).__name__
    return (
        f"{folder}: cannot read this run folder ({reason}); check that you may list and "
        f"open it (e.g. chmod u+rx)"
    )


def folder_files(folder: Path) -> list[Path]:
    """Every file under a run folder, sorted, after :func:`check_run_folder`. Symlinks to
    files are files; symlinked folders are not walked into (a link to a parent would loop).
    A subfolder that cannot be read is an error, not silently left out."""
    check_run_folder(folder)

    def failed(exc: OSError) -> None:
        raise ReportgenError(_unreadable(exc.filename or folder, exc))

    found: list[Path] = []
    for root, subfolders, names in os.walk(folder, onerror=failed, followlinks=False):
        subfolders.sort()
        found += [Path(root, name) for name in names]
    try:
        return sorted(path for path in found if path.is_file())
    except OSError as exc:
        raise ReportgenError(_unreadable(Path(exc.filename or folder).parent, exc)) from None


def check_regular_file(path: Path, what: str = "file", *, folder: bool = False) -> None:
    """An error unless ``path`` is a regular file (or, with ``folder``, a folder): a FIFO would
    block the read forever and a device never ends. ``what`` names the file in the advice."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise ReportgenError(f"{path}: file not found; check the path") from None
    except OSError as exc:
        raise ReportgenError(
            f"{path}: cannot read the file ({exc.strerror or type(exc).__name__}); "
            "check that it exists and that you may read it"
        ) from None
    if stat.S_ISREG(mode) or (folder and stat.S_ISDIR(mode)):
        return
    if stat.S_ISDIR(mode):
        raise ReportgenError(f"{path}: a folder, not a file; give the {what} file")
    raise ReportgenError(
        f"{path}: not a regular file{' or folder' if folder else ''} (a FIFO, device or "
        f"socket); write the {what} to a file first"
    )
