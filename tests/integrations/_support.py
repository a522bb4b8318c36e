"""Helpers of the trainer contract tests: required packages, and the configurations of
docs/integrations.md (so that the tests run what the docs show)."""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from types import ModuleType

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"


def require(name: str) -> ModuleType:
    """Import a trainer package. Missing, the test skips, unless the environment variable
    ``UNIREWARD_REQUIRE`` (a comma-separated list, set by scripts/test.sh for each test
    environment) names it: then the import error fails the test run."""
    required = {p.strip() for p in os.environ.get("UNIREWARD_REQUIRE", "").split(",") if p.strip()}
    if name in required:
        return importlib.import_module(name)
    return pytest.importorskip(name)


def doc_block(name: str) -> str:
    """The fenced code block that follows ``<!-- config: NAME -->`` in docs/integrations.md."""
    text = DOC.read_text(encoding="utf-8")
    m = re.search(r"<!-- config: " + re.escape(name) + r" -->\n```[a-z]*\n(.*?)\n```", text, re.S)
    if m is None:
        raise AssertionError(f"docs/integrations.md has no block marked 'config: {name}'")
    return m.group(1)
