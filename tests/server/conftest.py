"""Helpers for the server tests: a real server on 127.0.0.1 (in a thread, or a subprocess)."""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def need(module: str) -> ModuleType:
    """Import ``module``; outside CI a missing one skips the test, in CI it fails it."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return importlib.import_module(module)
    return pytest.importorskip(module)


need("uvicorn")
need("starlette")
need("prometheus_client")


def record(answer: str, truth: object, task: str, think: str = "t") -> dict[str, object]:
    return {
        "completion": f"<think>{think}</think><answer>{answer}</answer>",
        "ground_truth": truth,
        "task": task,
    }


def raw_exchange(url: str, data: bytes, *, wait: float = 5.0) -> bytes:
    """Send raw bytes on a fresh connection and read until the server closes it."""
    host, port = url.rsplit("/", 1)[-1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=wait) as s:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            out += chunk
    return out


def split_reply(reply: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return status, headers, body


class ServeProcess:
    """``unireward serve`` in a subprocess on a free port of 127.0.0.1."""

    def __init__(
        self, *args: str, env: dict[str, str] | None = None, open_files: int | None = None
    ) -> None:
        full_env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}

        def limit() -> None:  # in the child, before exec: a low soft limit on open files
            import resource

            if open_files is not None:
                resource.setrlimit(
                    resource.RLIMIT_NOFILE,
                    (open_files, resource.getrlimit(resource.RLIMIT_NOFILE)[1]),
                )

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "unireward.cli", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env,
            preexec_fn=limit if open_files is not None else None)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "serving on" not in line:
            self.proc.kill()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"server did not start: {line!r} {err}")
        self.url = line.split("serving on ", 1)[1].split()[0]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 30.0) -> tuple[int, str]:
        """SIGTERM; the exit status and the whole stderr."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err


@pytest.fixture
def serve_process() -> Iterator[type[ServeProcess]]:
    started: list[ServeProcess] = []

    class _Tracked(ServeProcess):
        def __init__(
            self, *args: str, env: dict[str, str] | None = None, open_files: int | None = None
        ) -> None:
            super().__init__(*args, env=env, open_files=open_files)
            started.append(self)

    yield _Tracked
    for p in started:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.communicate()


def wait_until(predicate: Callable[[], object], timeout: float, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
