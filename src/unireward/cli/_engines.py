"""Where scoring runs: worker processes on this machine, or a Ray cluster.

Both engines run the same function, :func:`score_lines`, on chunks of input lines (JSON
text): it parses them, maps fields, scores with ``unireward.score_batch(errors="record")``
and serialises the output rows. The main process only moves lines and writes bytes, so
memory stays bounded by the chunks in flight. Results come back in input order.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ._io import dump_row, encode_chunk, parse_row, visible
from ._presets import FieldMap

__all__ = [
    "Chunk",
    "ChunkResult",
    "RewardModelSpec",
    "ScoringJob",
    "chunked",
    "run_local",
    "run_ray",
    "score_lines",
]

#: one summary entry per row: task, reward, accuracy, format, structure, status
RowSummary = tuple[str, float, float, float, float, str]


@dataclass(frozen=True)
class RewardModelSpec:
    """How to reach the reward model (built lazily, once per worker process)."""

    base_url: str
    backend: str = "vllm"
    max_retries: int = 7
    timeout: float = 30.0

    def client(self) -> Any:
        from ..remote import PolarClient

        return PolarClient(base_url=self.base_url, backend=self.backend,  # type: ignore[arg-type]
                           max_retries=self.max_retries, timeout=self.timeout)


@dataclass(frozen=True)
class ScoringJob:
    """Everything a worker needs besides the lines (picklable)."""

    fields: FieldMap = field(default_factory=FieldMap)
    options: dict[str, Any] = field(default_factory=dict)
    reward_model: RewardModelSpec | None = None
    reward_model_fallback: str | None = None
    normalize_by_problem_id: bool = True
    out_kind: str = "jsonl"


class ChunkResult(NamedTuple):
    """A scored chunk: the output bytes (or lines), one summary per row, the indices and
    messages of unreadable input lines, a failure that must stop the run (or None), and the
    index and reason of the first few rows with status ``error``."""

    data: bytes
    lines: list[str] | None
    summary: list[RowSummary]
    input_errors: list[tuple[int, str]]
    failure: str | None = None
    errors: list[tuple[int, str]] = []


#: rows with status ``error`` whose reasons a chunk reports (the run prints the first few)
FIRST_ERRORS = 5

_CLIENTS: dict[RewardModelSpec, Any] = {}


def _client(spec: RewardModelSpec | None) -> Any:
    if spec is None:
        return None
    if spec not in _CLIENTS:
        _CLIENTS[spec] = spec.client()
    return _CLIENTS[spec]


def _error_fields(reason: str) -> dict[str, Any]:
    return {"reward": 0.0, "accuracy": 0.0, "format": 0.0, "structure": 0.0,
            "status": "error", "reason": reason}


def _unreadable_row(line: str, reason: str) -> str:
    """The output row of a line that is no usable row: the line itself, kept in ``_raw``."""
    return dump_row({"_raw": visible(line), **_error_fields(reason)})


def score_lines(lines: list[str], job: ScoringJob, keep_lines: bool = False) -> ChunkResult:
    """Score a chunk of JSON lines: one output row per line, in order.

    A line that is no usable row (see :func:`~unireward.cli._io.parse_row`: not UTF-8, not
    JSON, nested too deeply, not an object, a lone surrogate) becomes ``{"_raw": line}`` with
    status ``error``; a row without the needed fields gets status ``error`` and says which
    columns were looked for. Output rows are standard JSON (:func:`~unireward.cli._io.dump_row`).

    >>> import json
    >>> job = ScoringJob()
    >>> r = score_lines(['{"completion": "<think>t</think><answer>B</answer>", '
    ...                  '"ground_truth": "B", "task": "multiple choice"}', '{oops'], job)
    >>> [json.loads(x)["status"] for x in r.data.decode().splitlines()], r.input_errors[0][0]
    (['ok', 'error'], 1)
    """
    from ..errors import RemoteRewardError

    parsed = _parse_lines(lines, job.fields)
    try:
        results = _score_records(parsed.records, job)
    except RemoteRewardError as exc:
        return ChunkResult(b"", None, [], parsed.input_errors,
                           f"reward model failed ({type(exc).__name__}: {exc}); "
                           "use --reward-model-fallback rouge to score such rows by ROUGE instead")
    out: list[str] = []
    summary: list[RowSummary] = []
    errors: list[tuple[int, str]] = []
    for i, row in enumerate(parsed.rows):
        j = parsed.where[i]
        added = _error_fields(parsed.reasons[i]) if j < 0 else results[j].to_dict()
        task, text, added = _output_row(lines[i], row, added, job.fields)
        out.append(text)
        if added["status"] == "error" and len(errors) < FIRST_ERRORS:
            errors.append((i, str(added["reason"])))
        summary.append((task, added["reward"], added["accuracy"], added["format"],
                        added["structure"], added["status"]))
    data = b"" if keep_lines else encode_chunk(out, job.out_kind)
    return ChunkResult(
        data, out if keep_lines else None, summary, parsed.input_errors, None, errors
    )


class _ParsedChunk(NamedTuple):
    """A chunk's lines read as rows: each row (None: unreadable), the records to score, each
    row's index among them (-1: not scored), why a row is not scored, and the unreadable
    lines' indices and messages."""

    rows: list[dict[str, Any] | None]
    records: list[dict[str, Any]]
    where: list[int]
    reasons: dict[int, str]
    input_errors: list[tuple[int, str]]


def _parse_lines(lines: list[str], fields: FieldMap) -> _ParsedChunk:
    parsed = _ParsedChunk([], [], [], {}, [])
    for i, line in enumerate(lines):
        try:
            row = parse_row(line)
        except ValueError as exc:
            parsed.rows.append(None)
            parsed.input_errors.append((i, str(exc)))
            parsed.reasons[i] = str(exc)
            parsed.where.append(-1)
            continue
        try:
            rec, missing = fields.record(row)
        except Exception as exc:  # a hostile row must not stop the chunk (deep nesting, ...)
            rec, missing = {}, f"cannot read the row's fields ({type(exc).__name__}: {exc})"
        parsed.rows.append(row)
        if missing is not None:
            parsed.reasons[i] = f"InputError: {missing}"
            parsed.where.append(-1)
            continue
        parsed.where.append(len(parsed.records))
        parsed.records.append(rec)
    return parsed


def _score_records(records: list[dict[str, Any]], job: ScoringJob) -> list[Any]:
    from ..api import score_batch

    return score_batch(
        records, errors="record", reward_model=_client(job.reward_model),
        reward_model_fallback=job.reward_model_fallback,
        normalize_by_problem_id=job.normalize_by_problem_id, **job.options,
    )


def _output_row(line: str, row: dict[str, Any] | None, added: dict[str, Any],
                fields: FieldMap) -> tuple[str, str, dict[str, Any]]:
    """A row's task label, its output line, and the fields added to it (an error when the
    row cannot be written back)."""
    if row is None:
        return "(unreadable)", _unreadable_row(line, added["reason"]), added
    task = fields.task_label(row, canonical=True)
    try:
        return task, dump_row({**row, **added}), added
    except (RecursionError, ValueError) as exc:  # deep enough to load, too deep to write
        added = _error_fields(f"cannot write the row back ({type(exc).__name__}: {exc})")
        return task, _unreadable_row(line, added["reason"]), added


class Chunk(NamedTuple):
    """Input lines to score together, where each came from, and how much of the input lies
    before the end of the last one (0-1, None when unknown)."""

    wheres: list[str]
    lines: list[str]
    end: float | None = None


def chunked(lines: Iterable[tuple[str, str]], size: int,
            group_key: Callable[[str], Any] | None = None,
            position: Callable[[], float | None] | None = None) -> Iterator[Chunk]:
    """Chunks of about ``size`` lines.

    With ``group_key``, a full chunk grows until the key changes (at most 4x ``size``), so
    rollouts of one problem that sit together stay in one chunk (the reward model's scores
    are normalised per problem within a chunk). ``position`` (the reader's) gives each
    chunk's :attr:`Chunk.end`.

    >>> [len(c.lines) for c in chunked(((str(i), "x") for i in range(5)), 2)]
    [2, 2, 1]
    >>> rows = [("", k) for k in "aaabbc"]
    >>> [c.lines for c in chunked(rows, 2, group_key=lambda s: s)]
    [['a', 'a', 'a'], ['b', 'b'], ['c']]
    """
    wheres: list[str] = []
    chunk: list[str] = []
    last: Any = None
    end: float | None = None
    for where, line in lines:
        if len(chunk) >= size:
            key = group_key(line) if group_key is not None else None
            if group_key is None or key is None or key != last or len(chunk) >= 4 * size:
                yield Chunk(wheres, chunk, end)
                wheres, chunk = [], []
            last = key
        elif group_key is not None:
            last = group_key(line)
        wheres.append(where)
        chunk.append(line)
        if position is not None:
            end = position()
    if chunk:
        yield Chunk(wheres, chunk, end)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.2)
        if os.getppid() != parent:
            os._exit(1)


def _worker_start() -> None:
    """Pool worker set-up: leave Ctrl-C to the main process (it ends the pool), end quietly
    on SIGTERM (the main process's handler is not inherited), and end when the main process
    is gone (SIGKILL included), checked five times a second."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True,
                     name="unireward-parent-watch").start()


#: Set when a worker pool was abandoned after an error or an interrupt (its workers were
#: terminated mid-task). Its task pipe may then hold a half-written task, and the interpreter's
#: exit-time join of the pool's threads could wait on it for ever; the command-line entry
#: points end the process without that join (:func:`unireward.cli.entry`).
POOL_ABANDONED = False


def run_local(chunks: Iterable[Chunk], job: ScoringJob,
              workers: int) -> Iterator[tuple[Chunk, ChunkResult]]:
    """Score chunks in ``workers`` processes (in this process for 1), in input order, with
    at most ``2 * workers`` chunks in flight. Yields each chunk without its lines.

    On an error or an interrupt the workers are terminated at once (not left to finish their
    chunks); a worker whose main process dies ends by itself.
    """
    if workers <= 1:
        for chunk in chunks:
            yield chunk._replace(lines=[]), score_lines(chunk.lines, job)
        return
    before = set(multiprocessing.active_children())
    pending: collections.deque[tuple[Chunk, Future[ChunkResult]]] = collections.deque()
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_start)
    clean = False
    try:
        for chunk in chunks:
            pending.append((chunk._replace(lines=[]), pool.submit(score_lines, chunk.lines, job)))
            while len(pending) > 2 * workers:
                c, fut = pending.popleft()
                yield c, fut.result()
        while pending:
            c, fut = pending.popleft()
            yield c, fut.result()
        clean = True
    finally:
        if clean:
            pool.shutdown(wait=True)
        else:
            global POOL_ABANDONED
            POOL_ABANDONED = True
            pool.shutdown(wait=False, cancel_futures=True)
            mine = [p for p in multiprocessing.active_children() if p not in before]
            for p in mine:
                p.terminate()
            for p in mine:
                p.join(timeout=5)


# --- Ray -----------------------------------------------------------------------------------

_SUMMARY_COLUMNS = ("task", "reward", "accuracy", "format", "structure", "status")
_RAY_COLUMNS = ("text", "where", *_SUMMARY_COLUMNS, "input_error", "error")


def _ray_score_batch(batch: Any, job: ScoringJob) -> Any:
    """Ray Data batch function (pyarrow in, pyarrow out): :func:`score_lines` on a batch."""
    import pyarrow as pa

    lines = [b.decode("utf-8", "surrogateescape") for b in batch.column("text").to_pylist()]
    res = score_lines(lines, job, keep_lines=True)
    if res.failure is not None:
        raise RuntimeError(res.failure)
    input_errors = [""] * len(lines)
    for i, msg in res.input_errors:
        input_errors[i] = msg
    errors = [""] * len(lines)
    for i, msg in res.errors:
        errors[i] = msg
    cols: dict[str, Any] = {"text": res.lines, "where": batch.column("where")}
    for k, name in enumerate(_SUMMARY_COLUMNS):
        cols[name] = [s[k] for s in res.summary]
    cols["input_error"] = input_errors
    cols["error"] = errors
    return pa.table(cols)


def _ray_parquet_to_text(batch: Any) -> Any:
    """Parquet rows to JSON lines, exactly as the local reader writes them."""
    import pyarrow as pa

    from ._io import row_to_line

    return pa.table({"text": pa.array([row_to_line(r).encode("utf-8") for r in batch.to_pylist()],
                                      pa.large_binary()),
                     "where": [""] * batch.num_rows})


def _jsonl_datasource(paths: list[str], fmt: str | None, block_rows: int) -> Any:
    """A Ray Data source of the JSONL files' non-blank lines (columns ``text``: the line's
    bytes, ``where``), read exactly as the local engine reads them
    (:func:`~unireward.cli._io.jsonl_lines`), in blocks of ``block_rows`` lines. Ray's own
    ``read_text`` differs: it splits lines at form feeds and other Unicode separators and
    stops at invalid UTF-8 (which Arrow strings cannot hold, hence bytes)."""
    from ray.data.datasource import FileBasedDatasource

    from ._io import file_format, jsonl_lines, split_lines

    many = len(paths) > 1

    class JsonLinesSource(FileBasedDatasource):  # type: ignore[misc]
        def resolve_compression(self, path: str, open_args: dict[str, Any]) -> str | None:
            return "gzip" if file_format(path, fmt) == "jsonl.gz" else None

        def _read_stream(self, f: Any, path: str) -> Iterator[Any]:
            import pyarrow as pa

            prefix = f"{os.path.basename(path)} " if many else ""
            text: list[bytes] = []
            where: list[str] = []
            for lineno, line, _ in jsonl_lines(split_lines(f.read)):
                if line is None:
                    continue
                text.append(line.encode("utf-8", "surrogateescape"))
                where.append(f"{prefix}line {lineno}")
                if len(text) >= block_rows:
                    yield pa.table({"text": pa.array(text, pa.large_binary()), "where": where})
                    text, where = [], []
            if text:
                yield pa.table({"text": pa.array(text, pa.large_binary()), "where": where})

    return JsonLinesSource(paths)


def run_ray(paths: list[str], parquet: bool, job: ScoringJob, *, workers: int, batch_size: int,
            address: str | None = None, skip: int = 0,
            fmt: str | None = None) -> Iterator[tuple[Chunk, ChunkResult]]:
    """Score the input on Ray Data (joining ``address``, else ``RAY_ADDRESS``, else starting a
    local instance with ``workers`` CPUs); yields chunks in input order like :func:`run_local`.

    ``fmt`` (``--format``) names the format of files whose names do not. The first ``skip``
    rows (already committed by an interrupted run) are scored again and dropped: Ray Data has
    no row offset to start from.
    """
    try:
        import ray
    except ImportError as exc:
        from ..errors import missing_extra

        raise missing_extra("ray[data]", "ray") from exc
    started = _ray_start(ray, address, workers)
    try:
        ds = _ray_dataset(ray, paths, parquet, job, batch_size, fmt)
        seen = 0
        for batch in ds.iter_batches(batch_size=batch_size, batch_format="pyarrow"):
            table: Any = batch  # a pyarrow.Table for batch_format="pyarrow"
            n = table.num_rows
            lo = min(max(skip - seen, 0), n)
            seen += n
            if lo < n:
                yield _ray_chunk(table, lo, seen - n + lo, job)
    finally:
        if started:
            ray.shutdown()


def _ray_start(ray: Any, address: str | None, workers: int) -> bool:
    """Join ``address`` (else ``RAY_ADDRESS``), or start a local instance of ``workers``
    CPUs, unless Ray is running already; True when this call started it."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    address = address or os.environ.get("RAY_ADDRESS") or None
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address is None:
            kwargs["num_cpus"] = max(1, workers)
        ray.init(address=address, **kwargs)
        started = True
    import logging
    import sys

    logging.getLogger("ray.data").setLevel(logging.ERROR)  # keep stderr for our own messages
    try:  # Ray lists files in threads that each try this import; without aiohttp they can
        import fsspec.implementations.http  # noqa: F401  (race into a half-imported module)
    except ImportError:
        sys.modules["fsspec.implementations.http"] = None  # type: ignore[assignment]  # fail fast
    return started


def _ray_dataset(ray: Any, paths: list[str], parquet: bool, job: ScoringJob, batch_size: int,
                 fmt: str | None) -> Any:
    """The input as an ordered Ray dataset of scored rows (the columns of ``_RAY_COLUMNS``)."""
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    if parquet:
        ds = ray.data.read_parquet(paths).map_batches(
            _ray_parquet_to_text, batch_format="pyarrow", batch_size=batch_size)
    else:
        ds = ray.data.read_datasource(_jsonl_datasource(paths, fmt, batch_size))
    return ds.map_batches(_ray_score_batch, fn_kwargs={"job": job},  # type: ignore[arg-type]
                          batch_format="pyarrow", batch_size=batch_size)


def _ray_chunk(table: Any, lo: int, before: int, job: ScoringJob) -> tuple[Chunk, ChunkResult]:
    """A scored Ray batch from its row ``lo`` on (``before`` rows of the input precede it)."""
    cols = {name: table.column(name).to_pylist()[lo:] for name in _RAY_COLUMNS}
    lines = cols["text"]
    summary = list(zip(*(cols[c] for c in _SUMMARY_COLUMNS), strict=True))
    errs = [(i, e) for i, e in enumerate(cols["input_error"]) if e]
    first = [(i, e) for i, e in enumerate(cols["error"]) if e]
    wheres = [w or f"row {before + i + 1}" for i, w in enumerate(cols["where"])]
    return (Chunk(wheres, [], None),
            ChunkResult(encode_chunk(lines, job.out_kind), None, summary, errs, None, first))
