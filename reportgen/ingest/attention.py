"""Attention maps saved per example: a folder of ``<id>.npz`` files, each with ``tokens`` (a
string array of n tokens) and ``attention`` (L layers x H heads x n x n, the query on the
third axis, the key on the fourth).

Files are read with ``numpy.load(..., allow_pickle=False)``: an object array (which only
pickle can load, and pickle runs code) is refused with a message saying how to save it.
Only the examples a report shows are read (:func:`read_map`); listing a folder reads no file.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reportgen.errors import ReportgenError
from reportgen.ingest.folders import check_regular_file

SUFFIX = ".npz"
HOW = (
    "save each example with numpy.savez(DIR / f'{id}.npz', tokens=np.array(tokens, dtype=str), "
    "attention=weights) where weights has shape layers x heads x tokens x tokens"
)


@dataclass(frozen=True)
class AttentionFolder:
    """One model's folder: the example ids it holds (file names without ``.npz``)."""

    name: str
    path: Path
    files: dict[str, Path]  # id -> file, in sorted id order


@dataclass(frozen=True)
class AttentionMap:
    """One example's attention, cut to its first ``limit`` tokens when read."""

    id: str
    path: Path
    tokens: tuple[str, ...]  # the kept tokens
    n_tokens: int  # tokens in the file
    weights: np.ndarray  # float64, layers x heads x kept x kept

    @property
    def layers(self) -> int:
        return int(self.weights.shape[0])

    @property
    def heads(self) -> int:
        return int(self.weights.shape[1])


def list_folder(name: str, path: Path, flag: str = "--attention") -> AttentionFolder:
    """The ``.npz`` files of a model's attention folder, by example id."""
    argument = f"{flag} {name}={path}"
    try:
        check_regular_file(path, "attention folder", folder=True)
    except ReportgenError as exc:
        raise ReportgenError(f"{argument}: {exc}") from None
    if not path.is_dir():
        raise ReportgenError(
            f"{argument}: {path} is a file; give the folder that holds one <id>.npz per example"
        )
    files = {p.name[: -len(SUFFIX)]: p for p in path.iterdir() if p.name.endswith(SUFFIX)}
    if not files:
        raise ReportgenError(f"{argument}: {path} holds no .npz file; {HOW}")
    return AttentionFolder(name, path, dict(sorted(files.items())))


def read_map(ident: str, path: Path, limit: int) -> AttentionMap:
    """One example's tokens and attention, checked, the first ``limit`` tokens kept."""
    try:
        check_regular_file(path, "attention")
        with path.open("rb") as head:
            if head.read(4) != b"PK\x03\x04":  # np.load would take anything else as a pickle
                raise ReportgenError(f"{path}: not an .npz file (a zip of .npy arrays); {HOW}")
        with np.load(path, allow_pickle=False) as found:
            missing = [k for k in ("tokens", "attention") if k not in found.files]
            if missing:
                raise ReportgenError(
                    f"{path}: no {' and no '.join(repr(m) for m in missing)} array "
                    f"(found {', '.join(found.files) or 'none'}); {HOW}"
                )
            tokens = found["tokens"]
            weights = found["attention"]
    except ReportgenError:
        raise
    except ValueError as exc:
        if "Object arrays" in str(exc):
            raise ReportgenError(
                f"{path}: holds an object array, which only pickle can load and is refused; "
                "save tokens as a string array (np.array(tokens, dtype=str)) and attention as "
                "a float array"
            ) from None
        raise ReportgenError(f"{path}: not a readable .npz file ({exc}); {HOW}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ReportgenError(f"{path}: not a readable .npz file ({exc}); {HOW}") from None
    if tokens.dtype.kind == "S":
        tokens = np.char.decode(tokens, "utf-8", errors="replace")
    if tokens.dtype.kind != "U" or tokens.ndim != 1:
        raise ReportgenError(
            f"{path}: 'tokens' must be a 1-D string array (found {tokens.dtype} of shape "
            f"{tokens.shape}); {HOW}"
        )
    n = len(tokens)
    if weights.dtype.kind not in "fiu" or weights.ndim != 4:
        raise ReportgenError(
            f"{path}: 'attention' must be a 4-D number array, layers x heads x tokens x tokens "
            f"(found {weights.dtype} of shape {weights.shape}); {HOW}"
        )
    layers, heads, rows, cols = weights.shape
    if rows != n or cols != n or layers == 0 or heads == 0 or n == 0:
        raise ReportgenError(
            f"{path}: 'attention' has shape {weights.shape}, but {n} tokens need "
            f"(layers, heads, {n}, {n}) with at least one layer, head and token"
        )
    kept = min(n, limit)
    weights = np.asarray(weights[:, :, :kept, :kept], dtype=np.float64)
    if not np.isfinite(weights).all():
        raise ReportgenError(f"{path}: 'attention' holds NaN or infinite values; save the weights")
    if (weights < 0).any():
        raise ReportgenError(
            f"{path}: 'attention' holds negative values; give the softmax weights (0 to 1), "
            "not scores or attributions"
        )
    return AttentionMap(ident, path, tuple(str(t) for t in tokens[:kept]), n, weights)
