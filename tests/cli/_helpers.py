"""Helpers for driving the real command line as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "rollouts.jsonl"


def cli(
    *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m unireward.cli ARGS`` with this interpreter."""
    full_env = {**os.environ, "RAY_AUTH_MODE": "disabled", **(env or {})}
    return subprocess.run([sys.executable, "-m", "unireward.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=full_env)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def need(module: str) -> Any:
    """Import ``module``; outside CI a missing one skips the test, in CI (``CI=true``) it fails."""
    import importlib

    import pytest

    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return importlib.import_module(module)
    return pytest.importorskip(module)


def strict_json(line: str) -> Any:
    """Parse one line as standard JSON: NaN, Infinity and -Infinity are refused."""

    def refuse(name: str) -> Any:
        raise AssertionError(f"non-standard JSON constant {name} in {line[:200]!r}")

    return json.loads(line, parse_constant=refuse)


def read_strict(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL output, each line standard JSON and valid UTF-8."""
    return [strict_json(line) for line in path.read_bytes().decode("utf-8").split("\n") if line]
