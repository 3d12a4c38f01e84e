"""The static drawings under every chart (SVG, or JPEG for dense point clouds), drawn by
vl-convert, in a second process when one is running.

vl-convert holds the GIL for the whole of a drawing, so threads cannot overlap it with
anything; a worker process can, on the second core. The command line starts one before it
imports the pipeline (:func:`start`): it warms vl-convert's JavaScript engine while the runs
are loaded and evaluated, and draws each chart as soon as its spec exists, while the next
charts are built. Without a worker (the Python API, or a worker that failed), drawings are
made in this process, one after the other. Either way the bytes are the same: a drawing
depends on its spec only, and the same spec is never drawn twice.

Protocol: one JSON object per line each way, ``{"key", "spec", "format"}`` in and
``{"key", "text"}`` or ``{"key", "error"}`` out.
"""

from __future__ import annotations

import base64
import hashlib
import json
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

JPEG_QUALITY = 80


def light(spec: dict[str, Any]) -> dict[str, Any]:
    """A static drawing's spec: on white, since it cannot follow the reader's theme."""
    return {**spec, "config": {**spec.get("config", {}), "background": "white"}}


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _within_bmp(value: Any) -> Any:
    """``value`` (a spec) with every character beyond the BMP (emoji...) as U+FFFD."""
    if isinstance(value, str):
        return _ASTRAL.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_within_bmp(k): _within_bmp(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_within_bmp(v) for v in value]
    return value


def convert(function: Callable[..., Any], spec: dict[str, Any], **options: Any) -> Any:
    """``function`` (a vl-convert converter) on the static spec. Vega cuts a label too long
    for its room in UTF-16 units, which can halve a character beyond the BMP (an emoji), and
    vl-convert then fails to measure the text ("Failed to deserialize text info"); such a
    drawing is made again with those characters as U+FFFD (the page's charts keep them)."""
    try:
        return function(light(spec), **options)
    except ValueError as exc:
        if "Failed to deserialize text info" not in str(exc):
            raise
    return function(light(_within_bmp(spec)), **options)


def draw(spec: dict[str, Any], fmt: str) -> str:
    """One drawing, in this process: SVG text, or a JPEG as base64."""
    import vl_convert

    if fmt.startswith("jpeg"):
        quality = int(fmt[4:] or JPEG_QUALITY)
        jpeg = convert(vl_convert.vegalite_to_jpeg, spec, scale=1.0, quality=quality)
        return base64.b64encode(jpeg).decode("ascii")
    return convert(vl_convert.vegalite_to_svg, spec)


def format_of(figure: Any) -> str:
    """A figure's static drawing: a JPEG for dense point clouds (a fraction of the SVG's
    size; ``jpeg50`` when the figure asks for a lighter one), else SVG."""
    if not figure.raster:
        return "svg"
    return "jpeg" if figure.raster_quality is None else f"jpeg{figure.raster_quality}"


def still_of(figure: Any) -> dict[str, Any]:
    """The spec a figure's static drawing is made from: its lighter chart when it has one
    (a heatmap's default view, small), else the chart itself."""
    return figure.still if figure.still is not None else figure.spec


def key_of(spec: dict[str, Any], fmt: str) -> str:
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return fmt + ":" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Worker:
    """A drawing process: :meth:`submit` specs as they are made, :meth:`result` when needed."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "reportgen.render.fallbacks"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._done: dict[str, str | None] = {}  # key -> drawing (None: the worker failed it)
        self._asked: set[str] = set()
        self._ready = threading.Condition()
        self._alive = True
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        # requests go through a queue to a writing thread: a spec larger than the pipe's
        # buffer would otherwise hold the build up until the worker has read it
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write, daemon=True)
        self._writer.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            answer = json.loads(line)
            with self._ready:
                self._done[answer["key"]] = answer.get("text")
                self._ready.notify_all()
        with self._ready:
            self._alive = False
            self._ready.notify_all()

    def _write(self) -> None:
        assert self._process.stdin is not None
        while (message := self._outbox.get()) is not None:
            try:
                self._process.stdin.write(message)
                self._process.stdin.flush()
            except (OSError, ValueError):  # the worker is gone: its requests are never answered
                with self._ready:
                    self._alive = False
                    self._ready.notify_all()
                return

    def submit(self, spec: dict[str, Any], fmt: str) -> None:
        key = key_of(spec, fmt)
        if key in self._asked or not self._alive:
            return
        self._asked.add(key)
        message = json.dumps({"key": key, "spec": spec, "format": fmt}) + "\n"  # ASCII: one line
        self._outbox.put(message.encode("ascii"))

    def result(self, key: str) -> str | None:
        """The drawing of the spec with this :func:`key_of`, waiting for the worker if needed;
        None if it was never asked for or the worker could not draw it (the caller draws it
        itself, and reports any error)."""
        if key not in self._asked:
            return None
        with self._ready:
            self._ready.wait_for(lambda: key in self._done or not self._alive)
            return self._done.get(key)

    def close(self) -> None:
        """End the process at once: by now every drawing asked for has been used, or the
        build failed and none is wanted (waiting would cost a failing run its warm-up)."""
        self._outbox.put(None)
        self._process.kill()
        self._process.wait()
        self._writer.join(timeout=5)
        try:
            if self._process.stdin is not None:
                self._process.stdin.close()
        except OSError:
            pass


_WORKER: Worker | None = None


def start() -> Worker | None:
    """Start the drawing process (once); None where processes cannot be started."""
    global _WORKER
    if _WORKER is None:
        try:
            _WORKER = Worker()
        except OSError:
            return None
    return _WORKER


def stop() -> None:
    global _WORKER
    if _WORKER is not None:
        _WORKER.close()
        _WORKER = None


def submit(figure: Any) -> None:
    """Ask the running worker, if any, to draw the figure's spec now."""
    if _WORKER is not None:
        _WORKER.submit(still_of(figure), format_of(figure))


def drawing(figure: Any, cache: dict[str, str]) -> str:
    """The figure's drawing (SVG text, or a JPEG as base64): from the worker, from ``cache``
    (the same spec twice), or made here."""
    fmt = format_of(figure)
    spec = still_of(figure)
    key = key_of(spec, fmt)
    if key not in cache:
        found = _WORKER.result(key) if _WORKER is not None else None
        cache[key] = found if found is not None else draw(spec, fmt)
    return cache[key]


def serve() -> None:
    """The worker's loop: warm the engine, then draw each request as it comes."""
    import vl_convert

    vl_convert.vegalite_to_svg({"mark": "point", "data": {"values": [{}]}})  # start the engine
    out = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = {"key": request["key"], "text": draw(request["spec"], request["format"])}
        except Exception as exc:  # the caller redraws it in process, and reports the error
            answer = {"key": request["key"], "error": str(exc)[:200]}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    serve()
