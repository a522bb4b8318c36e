"""Read the configurations of docs/integrations.md, so that tests run what the docs show."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"


def doc_block(name: str) -> str:
    """The fenced code block that follows ``<!-- config: NAME -->`` in docs/integrations.md."""
    text = DOC.read_text(encoding="utf-8")
    m = re.search(r"<!-- config: " + re.escape(name) + r" -->\n```[a-z]*\n(.*?)\n```", text, re.S)
    if m is None:
        raise AssertionError(f"docs/integrations.md has no block marked 'config: {name}'")
    return m.group(1)
