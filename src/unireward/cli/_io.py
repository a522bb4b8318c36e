"""Reading and writing JSONL dumps (plain or gzip), row by row, with line numbers."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import InputError

__all__ = ["open_text", "read_rows", "get_path"]


def open_text(path: str | Path, mode: str, *, gz: bool | None = None) -> IO[str]:
    """Open a text file, gzip-compressed when ``gz`` (default: the name ends in ``.gz``)."""
    p = str(path)
    if p.endswith(".gz") if gz is None else gz:
        return io.TextIOWrapper(gzip.open(p, mode.replace("t", "") + "b"), encoding="utf-8")  # type: ignore[arg-type]
    return open(p, mode, encoding="utf-8")


def read_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Yield ``(line number, row or None, error or None)`` for every non-blank line."""
    try:
        fh = open_text(path, "rt")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                yield lineno, {"_raw": line.rstrip("\n")}, f"line {lineno}: invalid JSON: {exc}"
                continue
            if not isinstance(row, dict):
                yield lineno, {"_raw": line.rstrip("\n")}, f"line {lineno}: a row must be a JSON object"
                continue
            yield lineno, row, None


def get_path(row: dict[str, Any], dotted: str) -> Any:
    """The value at a dotted path (``reward_model.ground_truth``), or None."""
    cur: Any = row
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur
