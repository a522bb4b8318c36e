"""Reading dumps line by line and writing scored output that survives a crash.

Inputs: JSONL (plain or ``.gz``), Parquet (``unireward[parquet]``), or a folder of such
shards (read in name order). Every input row travels as one line of JSON text, numbered
from 1 in its file (for Parquet: the row number).

Output: rows go to ``OUTPUT.partial`` in the output's folder, a chunk at a time. After each
chunk the file is flushed and fsynced, then ``OUTPUT.progress`` (written to a temporary file,
fsynced and renamed) records how many rows and bytes are committed. A resumed run truncates
the partial file to the committed size and skips that many input rows. At the end the partial
file is renamed to OUTPUT (``.gz``: it is already a series of gzip members, one per chunk, which
is a valid gzip file; ``.parquet``: it is converted, chunk by chunk).
"""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import InputError, missing_extra

__all__ = [
    "InputReader",
    "OutputSink",
    "input_paths",
    "open_text",
    "output_kind",
    "pyarrow_modules",
    "read_rows",
]

SHARD_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".parquet")


def pyarrow_modules() -> tuple[Any, Any]:
    """``(pyarrow, pyarrow.parquet)``, or a MissingExtraError naming the ``parquet`` extra."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as exc:
        raise missing_extra("pyarrow", "parquet") from exc
    return pyarrow, pyarrow.parquet


def open_text(path: str | Path, mode: str = "rt") -> IO[str]:
    """Open a text file, gzip-compressed when the name ends in ``.gz``.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.jsonl.gz")
    >>> with open_text(p, "wt") as fh:
    ...     _ = fh.write('{"a": 1}\\n')
    >>> open_text(p).read()
    '{"a": 1}\\n'
    """
    if str(path).endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, mode.replace("t", "") + "b"), encoding="utf-8")  # type: ignore[arg-type,type-var]
    return open(path, mode, encoding="utf-8")


def input_paths(path: str | Path) -> list[str]:
    """The files to read: the file itself, or the shards of a folder in name order."""
    p = Path(path)
    if p.is_dir():
        shards = sorted(str(f) for f in p.iterdir() if f.is_file() and f.name.endswith(SHARD_SUFFIXES))
        if not shards:
            raise InputError(f"{path}: no shards ({', '.join(SHARD_SUFFIXES)}) in this folder")
        kinds = {s.endswith(".parquet") for s in shards}
        if len(kinds) > 1:
            raise InputError(f"{path}: mixes Parquet and JSONL shards")
        return shards
    if not p.is_file():
        raise InputError(f"cannot read {path}: no such file")
    return [str(p)]


def _row_to_line(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, default=str)


class InputReader:
    """Non-blank input lines as ``(where, line)``; tracks how much of the input was read.

    ``where`` is ``"line N"`` for one file, ``"NAME line N"`` for shards.
    """

    def __init__(self, path: str | Path) -> None:
        self.paths = input_paths(path)
        self.parquet = self.paths[0].endswith(".parquet")
        self._done = 0.0  # bytes (JSONL) or rows (Parquet) of finished files
        self._pos = 0.0
        self._file_pos: Any = None
        if self.parquet:
            _, pq = pyarrow_modules()
            try:
                self.total = float(sum(pq.ParquetFile(p).metadata.num_rows for p in self.paths))
            except Exception as exc:  # pyarrow raises its own error types
                raise InputError(f"cannot read {path}: {exc}") from exc
        else:
            self.total = float(sum(os.path.getsize(p) for p in self.paths))

    def fraction(self) -> float | None:
        """How much of the input has been read (0-1), or None when unknown."""
        if not self.total:
            return None
        pos = self._pos
        if self._file_pos is not None:
            try:
                pos = self._done + self._file_pos()
            except (OSError, ValueError):
                pass
        return min(pos / self.total, 1.0)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        many = len(self.paths) > 1
        for path in self.paths:
            prefix = f"{os.path.basename(path)} " if many else ""
            if self.parquet:
                for n, line in self._parquet_lines(path):
                    self._pos = self._done + n
                    yield f"{prefix}row {n}", line
            else:
                yield from self._jsonl_lines(path, prefix)
            self._done += os.path.getsize(path) if not self.parquet else 0
            self._file_pos = None

    def _jsonl_lines(self, path: str, prefix: str) -> Iterator[tuple[str, str]]:
        try:
            raw = open(path, "rb")
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc}") from exc
        with raw:
            binary: IO[bytes] = gzip.GzipFile(fileobj=raw) if path.endswith(".gz") else raw  # type: ignore[assignment]
            self._file_pos = raw.tell
            text = io.TextIOWrapper(binary, encoding="utf-8", errors="replace", newline="\n")
            try:
                for lineno, line in enumerate(text, 1):
                    if line.strip():
                        yield f"{prefix}line {lineno}", line.rstrip("\r\n")
            except (OSError, EOFError) as exc:  # a truncated or corrupt gzip stream
                raise InputError(f"cannot read {path}: {exc}") from exc

    def _parquet_lines(self, path: str) -> Iterator[tuple[int, str]]:
        pa, pq = pyarrow_modules()
        try:
            pf = pq.ParquetFile(path)
        except (OSError, pa.ArrowInvalid) as exc:
            raise InputError(f"cannot read {path}: {exc}") from exc
        n = 0
        for batch in pf.iter_batches(batch_size=2048):
            for row in batch.to_pylist():
                n += 1
                yield n, _row_to_line(row)


def read_rows(path: str | Path) -> Iterator[tuple[str, dict[str, Any] | None, str | None]]:
    """``(where, row, None)`` for each readable row, ``(where, None, error)`` otherwise."""
    for where, line in InputReader(path):
        try:
            row = json.loads(line)
        except ValueError as exc:
            yield where, None, f"{where}: invalid JSON: {exc}"
            continue
        if not isinstance(row, dict):
            yield where, None, f"{where}: a row must be a JSON object"
            continue
        yield where, row, None


def output_kind(path: str) -> str:
    """``"parquet"``, ``"gz"`` or ``"jsonl"``, from the file name.

    >>> output_kind("out.jsonl.gz"), output_kind("x.parquet"), output_kind("x.jsonl")
    ('gz', 'parquet', 'jsonl')
    """
    if path.endswith(".parquet"):
        return "parquet"
    if path.endswith(".gz"):
        return "gz"
    return "jsonl"


def encode_chunk(lines: list[str], kind: str) -> bytes:
    """A chunk of output lines as bytes for the partial file (one gzip member for ``gz``)."""
    data = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
    if kind == "gz" and data:
        return gzip.compress(data, compresslevel=6, mtime=0)
    return data


class OutputSink:
    """The partial output file and its progress sidecar (see the module docstring).

    Args:
        output: the final output path.
        fingerprint: what identifies the run (input, options); a resume must match it.
    """

    def __init__(self, output: str, fingerprint: dict[str, Any]) -> None:
        self.output = output
        self.kind = output_kind(output)
        self.partial = output + ".partial"
        self.progress = output + ".progress"
        self.fingerprint = fingerprint
        self.rows = 0
        self._fh: IO[bytes] | None = None

    def resume_state(self) -> tuple[int, int] | None:
        """``(rows, bytes)`` committed by an earlier run with the same fingerprint, or None
        when there is nothing to resume. Raises InputError for another run's leftovers."""
        if not (os.path.exists(self.partial) and os.path.exists(self.progress)):
            return None
        try:
            with open(self.progress, encoding="utf-8") as fh:
                state = json.load(fh)
            rows, size = int(state["rows"]), int(state["bytes"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"cannot resume: unreadable {self.progress} ({exc})") from exc
        if state.get("run") != self.fingerprint:
            raise InputError(
                f"cannot resume: {self.progress} belongs to a run with another input or other "
                "options; run without --resume to start again"
            )
        if os.path.getsize(self.partial) < size:
            raise InputError(f"cannot resume: {self.partial} is shorter than its committed size")
        return rows, size

    def open(self, resume: tuple[int, int] | None = None) -> None:
        """Start the partial file (truncated to the committed size when resuming)."""
        os.makedirs(os.path.dirname(os.path.abspath(self.output)), exist_ok=True)
        if resume is None:
            self._fh = open(self.partial, "wb")
            self.rows = 0
            self._write_progress(0)
        else:
            self.rows, size = resume
            self._fh = open(self.partial, "r+b")
            self._fh.truncate(size)
            self._fh.seek(size)

    def commit(self, data: bytes, rows: int, extra: dict[str, Any] | None = None) -> None:
        """Append a chunk, make it durable, then record it as committed (with ``extra``,
        e.g. running totals, stored in the sidecar)."""
        assert self._fh is not None
        self._fh.write(data)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.rows += rows
        self._write_progress(self._fh.tell(), extra)

    def _write_progress(self, size: int, extra: dict[str, Any] | None = None) -> None:
        tmp = self.progress + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({**(extra or {}), "rows": self.rows, "bytes": size, "run": self.fingerprint}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.progress)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def finish(self) -> None:
        """Put the complete output in place and remove the sidecar."""
        self.close()
        if self.kind == "parquet":
            tmp = self.output + ".tmp"
            jsonl_to_parquet(self.partial, tmp)
            os.replace(tmp, self.output)
            os.remove(self.partial)
        else:
            os.replace(self.partial, self.output)
        os.remove(self.progress)

    def discard(self) -> None:
        """Remove the partial file and the sidecar (a run that must not be resumed)."""
        self.close()
        for path in (self.partial, self.progress):
            if os.path.exists(path):
                os.remove(path)


# --- Parquet output ----------------------------------------------------------------------

_KIND = {bool: "bool", int: "int", float: "float", str: "str", dict: "nested", list: "nested"}


def _kind(value: Any) -> str:
    return "null" if value is None else _KIND.get(type(value), "other")


def _json_lines_chunks(path: str, size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            chunk.append(json.loads(line))
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def jsonl_to_parquet(src: str, dst: str, chunk: int = 20_000) -> None:
    """Convert a JSONL file of objects to Parquet in bounded memory (two passes).

    Columns are typed from the data; a column whose values mix kinds (numbers and text,
    objects and scalars) or whose nested values do not share one type is stored as JSON text.
    """
    pa, pq = pyarrow_modules()
    kinds: dict[str, set[str]] = {}
    order: list[str] = []
    for rows in _json_lines_chunks(src, chunk):
        for row in rows:
            for k, v in row.items():
                if k not in kinds:
                    kinds[k] = set()
                    order.append(k)
                kinds[k].add(_kind(v))
    as_json: set[str] = set()
    for k, ks in kinds.items():
        ks = ks - {"null"}
        if ks == {"int", "float"}:
            continue
        if len(ks) > 1 or "other" in ks:
            as_json.add(k)

    def prepared(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for row in rows:
            r = {k: row.get(k) for k in order}
            for k in as_json:
                if r[k] is not None:
                    r[k] = json.dumps(r[k], ensure_ascii=False)
            out.append(r)
        return out

    def schema_of() -> Any:
        schema = None
        for rows in _json_lines_chunks(src, chunk):
            table = pa.Table.from_pylist(prepared(rows))
            schema = table.schema if schema is None else pa.unify_schemas(
                [schema, table.schema], promote_options="permissive")
        return schema

    try:
        schema = schema_of()
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        as_json.update(k for k, ks in kinds.items() if "nested" in ks)
        schema = schema_of()
    if schema is None:  # an empty file
        schema = pa.schema([])
    with pq.ParquetWriter(dst, schema) as writer:
        for rows in _json_lines_chunks(src, chunk):
            writer.write_table(pa.Table.from_pylist(prepared(rows), schema=schema))
