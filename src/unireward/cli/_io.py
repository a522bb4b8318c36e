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

import contextlib
import gzip
import io
import json
import math
import os
import re
import stat
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import InputError, missing_extra

__all__ = [
    "FORMATS",
    "InputReader",
    "OutputSink",
    "create_new",
    "dump_row",
    "file_format",
    "input_paths",
    "invalid_utf8",
    "jsonl_lines",
    "open_text",
    "output_kind",
    "parse_row",
    "printable",
    "pyarrow_modules",
    "read_rows",
    "row_to_line",
    "split_lines",
    "visible",
    "write_atomic",
]

#: file formats by name ending; ``--format`` names the format of a file whose name does not
FORMATS: dict[str, tuple[str, ...]] = {
    "jsonl": (".jsonl", ".json", ".ndjson"),
    "jsonl.gz": (".jsonl.gz", ".json.gz", ".ndjson.gz"),
    "parquet": (".parquet",),
}
SHARD_SUFFIXES = tuple(s for suffixes in FORMATS.values() for s in suffixes)
#: what a line may hold besides its JSON text and still count as blank (JSON's whitespace)
_JSON_BLANK = " \t\r"
_READ_BLOCK = 1 << 20


def pyarrow_modules() -> tuple[Any, Any]:
    """``(pyarrow, pyarrow.parquet)``, or a MissingExtraError naming the ``parquet`` extra."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as exc:
        raise missing_extra("pyarrow", "parquet") from exc
    return pyarrow, pyarrow.parquet


def file_format(path: str | Path, fmt: str | None = None) -> str:
    """``"jsonl"``, ``"jsonl.gz"`` or ``"parquet"`` from the file name; ``fmt`` (``--format``)
    names the format of a file whose name does not tell it.

    >>> file_format("a.jsonl.gz"), file_format("b.parquet"), file_format("c.txt", "jsonl")
    ('jsonl.gz', 'parquet', 'jsonl')
    >>> file_format("c.csv")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    unireward.errors.InputError: c.csv: unknown file type; name it .jsonl, .jsonl.gz or
    .parquet, or give --format jsonl|jsonl.gz|parquet
    """
    name = str(path).lower()
    for kind, suffixes in FORMATS.items():
        if name.endswith(suffixes):
            return kind
    if fmt is not None:
        if fmt not in FORMATS:
            raise InputError(f"unknown --format {fmt!r}; formats: {', '.join(FORMATS)}")
        return fmt
    raise InputError(f"{path}: unknown file type; name it .jsonl, .jsonl.gz or .parquet, or give "
                     f"--format {'|'.join(FORMATS)}")


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
        binary = gzip.open(path, mode.replace("t", "") + "b")
        return io.TextIOWrapper(binary, encoding="utf-8")  # type: ignore[arg-type,type-var]
    return open(path, mode, encoding="utf-8")


def input_paths(path: str | Path, fmt: str | None = None) -> list[str]:
    """The files to read: the file itself, or the shards of a folder in name order."""
    p = Path(path)
    if p.is_dir():
        shards = sorted(
            str(f) for f in p.iterdir() if f.is_file() and f.name.lower().endswith(SHARD_SUFFIXES)
        )
        if not shards:
            raise InputError(f"{path}: no shards ({', '.join(SHARD_SUFFIXES)}) in this folder")
        kinds = {s.lower().endswith(".parquet") for s in shards}
        if len(kinds) > 1:
            raise InputError(f"{path}: mixes Parquet and JSONL shards")
        return shards
    if not p.is_file():
        raise InputError(f"cannot read {path}: no such file")
    file_format(p, fmt)  # an unknown file type is an error here, not a surprise later
    return [str(p)]


def dump_row(row: Any) -> str:
    """One row as standard JSON text on one line (non-ASCII kept as is).

    JSON has no NaN or Infinity: a non-finite number (``NaN``, ``Infinity``, ``1e999`` in the
    input, NaN in a Parquet column) is written as ``null``.

    >>> dump_row({"a": float("nan"), "b": [1.5, float("-inf")], "c": "é"})
    '{"a": null, "b": [1.5, null], "c": "é"}'
    """
    try:
        return json.dumps(row, ensure_ascii=False, allow_nan=False, default=str)
    except ValueError:  # a non-finite float somewhere (rare: only then is the row walked)
        return json.dumps(_finite(row), ensure_ascii=False, allow_nan=False, default=str)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def visible(text: str) -> str:
    """Text read with ``surrogateescape`` made printable: invalid UTF-8 bytes as ``\\xNN``.

    >>> visible(b"ok \\xff".decode("utf-8", "surrogateescape"))
    'ok \\\\xff'
    """
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that is no escaped byte: show its code point
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def printable(text: str, limit: int = 300) -> str:
    """Text from the data made safe for one terminal line: control characters, lone
    surrogates and other unprintable characters as escapes; cut at ``limit`` characters.

    >>> printable("a\\x1b[31mb\\nc\\ud800")
    'a\\\\x1b[31mb\\\\nc\\\\ud800'
    """
    if text.isprintable():
        return text[:limit]
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in visible(text[: 4 * limit]))
    return shown[:limit]


def split_lines(read: Callable[[int], bytes]) -> Iterator[bytes]:
    """The lines of a byte stream (split at ``\\n`` only, like JSON Lines), without the ``\\n``.

    >>> list(split_lines(io.BytesIO(b"a\\n\\x0cb\\r\\n\\nc").read))
    [b'a', b'\\x0cb\\r', b'', b'c']
    """
    pending: list[bytes] = []
    while True:
        block = read(_READ_BLOCK)
        if not block:
            break
        if b"\n" not in block:
            pending.append(block)
            continue
        parts = block.split(b"\n")
        if pending:
            parts[0] = b"".join([*pending, parts[0]])
            pending = []
        last = parts.pop()
        if last:
            pending.append(last)
        yield from parts
    if pending:
        yield b"".join(pending)


def jsonl_lines(lines: Iterable[bytes]) -> Iterator[tuple[int, str | None, int]]:
    """``(line number, text, bytes)`` for each line of a JSONL stream, given as byte lines
    split at ``\\n`` only (a binary file, or :func:`split_lines`); ``text`` is None for a
    blank line (empty or only JSON whitespace: space, tab, CR).

    Text is decoded with ``surrogateescape``: invalid UTF-8 survives as lone surrogates (see
    :func:`invalid_utf8`) instead of being replaced. Both engines read JSONL through here.

    >>> list(jsonl_lines([b'{"a": 1}\\r\\n', b" \\t\\n", b"\\x0c\\n", b"\\xff"]))
    [(1, '{"a": 1}', 10), (2, None, 3), (3, '\\x0c', 2), (4, '\\udcff', 1)]
    """
    for lineno, raw in enumerate(lines, 1):
        text = raw.decode("utf-8", "surrogateescape").rstrip("\n").rstrip("\r")
        yield lineno, (text if text.strip(_JSON_BLANK) else None), len(raw)


def invalid_utf8(line: str) -> str | None:
    """Why a line read by :func:`jsonl_lines` is not UTF-8 (None when it is).

    >>> invalid_utf8(b'{"a": "\\xff"}'.decode("utf-8", "surrogateescape"))
    'invalid UTF-8: byte 0xff at column 8'
    """
    if line.isascii():
        return None
    try:
        line.encode("utf-8")
    except UnicodeEncodeError as exc:
        byte = line[exc.start].encode("utf-8", "surrogateescape")[0]
        return f"invalid UTF-8: byte 0x{byte:02x} at column {exc.start + 1}"
    return None


def row_to_line(row: dict[str, Any]) -> str:
    """A Parquet row as the JSON line both engines score."""
    return dump_row(row)


class InputReader:
    """Non-blank input lines as ``(where, line)``; counts blank lines and tracks how far the
    input is read.

    ``where`` is ``"line N"`` for one file, ``"NAME line N"`` for shards (Parquet: ``row N``).
    :attr:`position` is how much of the input lies before the line just yielded (0-1): the
    byte offset for JSONL (compressed bytes for gzip), the row for Parquet.
    """

    def __init__(self, path: str | Path, fmt: str | None = None) -> None:
        self.paths = input_paths(path, fmt)
        self.format = fmt
        self.parquet = file_format(self.paths[0], fmt) == "parquet"
        self.blank_lines = 0
        self.position = 0.0
        if self.parquet:
            _, pq = pyarrow_modules()
            try:
                self.total = float(sum(pq.ParquetFile(p).metadata.num_rows for p in self.paths))
            except Exception as exc:  # pyarrow raises its own error types
                raise InputError(f"cannot read {path}: {exc}") from exc
        else:
            self.total = float(sum(os.path.getsize(p) for p in self.paths))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        many = len(self.paths) > 1
        done = 0.0  # bytes (JSONL) or rows (Parquet) of finished files
        scale = 1.0 / self.total if self.total else 0.0
        for path in self.paths:
            prefix = f"{os.path.basename(path)} " if many else ""
            if self.parquet:
                for n, line in self._parquet_lines(path):
                    self.position = (done + n) * scale
                    yield f"{prefix}row {n}", line
                done += n if self.total else 0
                continue
            try:
                raw = open(path, "rb")
            except OSError as exc:
                raise InputError(f"cannot read {path}: {exc}") from exc
            gz = file_format(path, self.format) == "jsonl.gz"
            with raw:
                stream: IO[bytes] = (
                    gzip.GzipFile(fileobj=raw) if gz else raw  # type: ignore[assignment]
                )
                offset = 0
                try:
                    for lineno, text, size in jsonl_lines(stream):
                        offset += size
                        if text is None:
                            self.blank_lines += 1
                            continue
                        self.position = (done + (raw.tell() if gz else offset)) * scale
                        yield f"{prefix}line {lineno}", text
                except (OSError, EOFError, zlib.error) as exc:  # a truncated or corrupt gzip stream
                    raise InputError(f"cannot read {path}: {exc}") from exc
            done += os.path.getsize(path)

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
                yield n, row_to_line(row)


def parse_row(line: str) -> dict[str, Any]:
    """A JSON line as a row, or ValueError saying why it cannot be one: not UTF-8, not JSON,
    nested too deeply, not an object, or holding a lone surrogate (an ``\\ud800`` escape
    without its pair, which no UTF-8 output can carry).

    >>> parse_row('{"a": 1}')
    {'a': 1}
    >>> parse_row('{"a": "\\\\ud800"}')
    Traceback (most recent call last):
    ...
    ValueError: invalid Unicode: a lone surrogate (\\ud800 without its pair)
    """
    bad = invalid_utf8(line)
    if bad is not None:
        raise ValueError(bad)
    try:
        row = json.loads(line)
    except RecursionError:
        raise ValueError("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise ValueError(f"invalid JSON: {exc}") from None
    if not isinstance(row, dict):
        raise ValueError(f"a row must be a JSON object, got {type(row).__name__}")
    if "\\u" in line and _SURROGATE_ESCAPE.search(line):
        try:
            json.dumps(row, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            code = ord(exc.object[exc.start])
            raise ValueError(
                f"invalid Unicode: a lone surrogate (\\u{code:04x} without its pair)"
            ) from None
        except RecursionError:
            raise ValueError("invalid JSON: nested too deeply") from None
    return row


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def read_rows(
    path: str | Path, fmt: str | None = None
) -> Iterator[tuple[str, dict[str, Any] | None, str | None]]:
    """``(where, row, None)`` for each readable row, ``(where, None, error)`` otherwise."""
    for where, line in InputReader(path, fmt):
        try:
            row = parse_row(line)
        except ValueError as exc:
            yield where, None, f"{where}: {exc}"
            continue
        yield where, row, None


def output_kind(path: str, fmt: str | None = None) -> str:
    """``"parquet"``, ``"gz"`` or ``"jsonl"``, from the file name (or ``--format``).

    >>> output_kind("out.jsonl.gz"), output_kind("x.parquet"), output_kind("x.jsonl")
    ('gz', 'parquet', 'jsonl')
    """
    return {"parquet": "parquet", "jsonl.gz": "gz", "jsonl": "jsonl"}[file_format(path, fmt)]


def encode_chunk(lines: list[str], kind: str) -> bytes:
    """A chunk of output lines as bytes for the partial file (one gzip member for ``gz``)."""
    data = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
    if kind == "gz" and data:
        return gzip.compress(data, compresslevel=6, mtime=0)
    return data


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _refuse_link(path: str) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise InputError(f"{path} is a symbolic link; refusing to write through it (remove it)")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path} exists and is not a regular file")


def create_new(path: str) -> IO[bytes]:
    """Open ``path`` for writing as a new file: an earlier regular file there is replaced,
    a symbolic link (or anything else) is refused; the file is created with ``O_EXCL`` and
    ``O_NOFOLLOW``, so nothing put there meanwhile is written through."""
    _refuse_link(path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644)
    except FileExistsError:
        raise InputError(
            f"{path} appeared while it was being created; refusing to use it"
        ) from None
    return os.fdopen(fd, "wb")


def _open_existing(path: str, flags: int) -> int:
    _refuse_link(path)
    return os.open(path, flags | _NOFOLLOW | _CLOEXEC)


def write_atomic(path: str, text: str, errors: str = "strict") -> None:
    """Write ``text`` to ``path`` through a new temporary file in the same folder (random
    name, ``O_EXCL``), fsynced and renamed over ``path``; the folder is created if needed and
    the temporary file removed on any failure."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors=errors) as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


class OutputSink:
    """The partial output file and its progress sidecar (see the module docstring).

    Both are opened without following symbolic links: a link at ``OUTPUT.partial`` or
    ``OUTPUT.progress`` is refused instead of written through.

    Args:
        output: the final output path.
        fingerprint: what identifies the run (input, options); a resume must match it.
        kind: ``"jsonl"``, ``"gz"`` or ``"parquet"`` (default: from the name).
    """

    def __init__(self, output: str, fingerprint: dict[str, Any], kind: str | None = None) -> None:
        self.output = output
        self.kind = kind or output_kind(output)
        self.partial = output + ".partial"
        self.progress = output + ".progress"
        self.fingerprint = fingerprint
        self.rows = 0
        self._fh: IO[bytes] | None = None

    def read_progress(self) -> dict[str, Any]:
        """The sidecar's content (InputError when it cannot be read)."""
        try:
            with os.fdopen(_open_existing(self.progress, os.O_RDONLY), encoding="utf-8") as fh:
                state = json.load(fh)
            if not isinstance(state, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot resume: unreadable {self.progress} ({exc})") from exc
        return state

    def resume_state(self) -> tuple[int, int] | None:
        """``(rows, bytes)`` committed by an earlier run with the same fingerprint, or None
        when there is nothing to resume. Raises InputError for another run's leftovers."""
        if not (os.path.lexists(self.partial) and os.path.lexists(self.progress)):
            return None
        state = self.read_progress()
        try:
            rows, size = int(state["rows"]), int(state["bytes"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"cannot resume: unreadable {self.progress} ({exc!r})") from exc
        if state.get("run") != self.fingerprint:
            raise InputError(
                f"cannot resume: {self.progress} belongs to a run with another input or other "
                "options; run without --resume to start again"
            )
        _refuse_link(self.partial)
        if os.path.getsize(self.partial) < size:
            raise InputError(f"cannot resume: {self.partial} is shorter than its committed size")
        return rows, size

    def open(self, resume: tuple[int, int] | None = None) -> None:
        """Start the partial file (truncated to the committed size when resuming)."""
        os.makedirs(os.path.dirname(os.path.abspath(self.output)), exist_ok=True)
        if resume is None:
            _refuse_link(self.progress)
            self._fh = create_new(self.partial)
            self.rows = 0
            self._write_progress(0)
        else:
            self.rows, size = resume
            self._fh = os.fdopen(_open_existing(self.partial, os.O_RDWR), "r+b")
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
        write_atomic(self.progress, json.dumps(
            {**(extra or {}), "rows": self.rows, "bytes": size, "run": self.fingerprint}))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def finish(self) -> None:
        """Put the complete output in place and remove the sidecar."""
        self.close()
        if self.kind == "parquet":
            folder = os.path.dirname(os.path.abspath(self.output))
            fd, tmp = tempfile.mkstemp(
                dir=folder, prefix=os.path.basename(self.output) + ".", suffix=".tmp"
            )
            os.close(fd)
            try:
                jsonl_to_parquet(self.partial, tmp)
                os.replace(tmp, self.output)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.remove(tmp)
                raise
            os.remove(self.partial)
        else:
            os.replace(self.partial, self.output)
        os.remove(self.progress)

    def discard(self) -> None:
        """Remove the partial file and the sidecar (a run that must not be resumed)."""
        self.close()
        for path in (self.partial, self.progress):
            if os.path.isfile(path) and not os.path.islink(path):
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
