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
        return io.TextIOWrapper(gzip.open(p, mode.replace("t", "") + "b"), encoding="utf-8")  # type: ignore[arg-type,type-var]
    return open(p, mode, encoding="utf-8")


def read_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Yield ``(line number, row or None, error or None)`` for every non-blank line
    (for Parquet input: every row, numbered from 1)."""
    if str(path).endswith(".parquet"):
        yield from _read_parquet(path)
        return
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


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError as exc:
        from ..errors import missing_extra

        raise missing_extra("pyarrow", "parquet") from exc
    return pyarrow


def _read_parquet(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    pa = _pyarrow()
    try:
        pf = pa.parquet.ParquetFile(str(path))
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    n = 0
    for batch in pf.iter_batches(batch_size=4096):
        for row in batch.to_pylist():
            n += 1
            yield n, row, None


def jsonl_to_parquet(src: str, dst: str, chunk: int = 50_000) -> None:
    """Convert a JSONL file into Parquet, chunk by chunk. Columns whose values are not of
    one type across the file are written as JSON text."""
    pa = _pyarrow()
    rows: list[dict[str, Any]] = []
    writer = None
    schema = None
    try:
        with open(src, encoding="utf-8") as fh:
            for line in fh:
                rows.append(json.loads(line))
                if len(rows) >= chunk:
                    writer, schema = _write_chunk(pa, rows, dst, writer, schema)
                    rows = []
        if rows or writer is None:
            writer, schema = _write_chunk(pa, rows, dst, writer, schema)
    finally:
        if writer is not None:
            writer.close()


def _as_json_text(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: (json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in r.items()} for r in rows]


def _write_chunk(pa: Any, rows: list[dict[str, Any]], dst: str, writer: Any, schema: Any) -> tuple[Any, Any]:
    try:
        table = pa.Table.from_pylist(rows, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        table = pa.Table.from_pylist(_as_json_text(rows), schema=None)
        if schema is not None:
            table = table.cast(schema, safe=False)
    if writer is None:
        schema = table.schema
        writer = pa.parquet.ParquetWriter(dst, schema)
    writer.write_table(table)
    return writer, schema
