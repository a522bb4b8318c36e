"""Fixtures for the reward-model client tests: a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .polar_server import PolarServer

VECTORS = Path(__file__).resolve().parents[1] / "data" / "onethinker_reference.jsonl"


@pytest.fixture
def server() -> Iterator[PolarServer]:
    with PolarServer() as srv:
        yield srv


@pytest.fixture
def slow_server() -> Iterator[PolarServer]:
    """A server that takes 0.2 s per request (to observe concurrency)."""
    with PolarServer(latency=0.2) as srv:
        yield srv


@pytest.fixture(scope="session")
def polar_rows() -> list[dict[str, Any]]:
    """The reference vector rows of task ``open_ended_polar_path``."""
    rows = [json.loads(line) for line in VECTORS.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    rows = [r for r in rows if r.get("task") == "open_ended_polar_path"]
    assert rows, "no open_ended_polar_path rows in the reference vectors"
    return rows
