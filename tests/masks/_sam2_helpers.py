"""Shared pieces of the SAM2 mask-reward tests: a tiny real SAM2, synthetic media, a
uvicorn server on 127.0.0.1 in a thread, and call recorders that call through."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

H, W = 48, 64
#: SAM2's input size in these tests (the config's 1024 costs seconds per image on CPU)
IMAGE_SIZE = 128


def require(module: str) -> Any:
    """Import a test dependency: a failure in CI (or where ``UNIREWARD_REQUIRE_SAM2`` is set
    for SAM2), a skip elsewhere."""
    strict = os.environ.get("CI", "").lower() == "true" and module not in ("sam2", "torch")
    strict = strict or (
        module in ("sam2", "torch") and bool(os.environ.get("UNIREWARD_REQUIRE_SAM2"))
    )
    if strict:
        import importlib

        return importlib.import_module(module)
    return pytest.importorskip(module)


def answer(box: list[float], time_s: float | None = None, **kw: Any) -> dict[str, Any]:
    a: dict[str, Any] = {
        "boxes": box,
        "positive_points": [[400, 400], [450, 500], [500, 450]],
        "negative_points": [[50, 50], [950, 950], [50, 950]],
    }
    if time_s is not None:
        a["time"] = time_s
    a.update(kw)
    return a


def completion(a: Any) -> str:
    text = a if isinstance(a, str) else json.dumps(a)
    return f"<think>look</think><answer>{text}</answer>"


def image(seed: int = 0, shift: int = 0) -> np.ndarray:
    """A bright rectangle on a noisy background."""
    rng = np.random.default_rng(seed)
    out = rng.integers(0, 60, (H, W, 3), dtype=np.uint8)
    out[10:35, 15 + shift:45 + shift] = 220
    return out


def rect_mask(shift: int = 0) -> np.ndarray:
    m = np.zeros((H, W), dtype=bool)
    m[10:35, 15 + shift:45 + shift] = True
    return m


def frames(n: int, seed: int = 0) -> np.ndarray:
    return np.stack([image(seed + i, shift=i) for i in range(n)])


class Recorder:
    """Wraps a bound method: records each call's arguments, then calls the real method."""

    def __init__(self, owner: Any, name: str, keep: Callable[..., Any] | None = None) -> None:
        self.owner, self.name = owner, name
        self.real = getattr(owner, name)
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self.results: list[Any] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        out = self.real(*args, **kwargs)
        self.results.append(out)
        return out

    def __enter__(self) -> Recorder:
        setattr(self.owner, self.name, self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.name in vars(self.owner):
            delattr(self.owner, self.name)


class GeneratorRecorder(Recorder):
    """A recorder for a generator method: records the call and every yielded item."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        items: list[Any] = []
        self.results.append(items)
        for item in self.real(*args, **kwargs):
            items.append(item[0])
            yield item


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run an ASGI app under uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    uvicorn = require("uvicorn")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
