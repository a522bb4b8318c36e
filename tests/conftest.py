"""Shared test helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parents[1] / "tests" / "data"


def _vectors_dir() -> Path:
    """The reference vectors: the copy in tests/data."""
    return VECTORS


@pytest.fixture(scope="session")
def reference_rows() -> list[dict]:
    path = _vectors_dir() / "onethinker_reference.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def ema_reference_steps() -> list[dict]:
    path = _vectors_dir() / "ema_grpo_reference.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
