"""Where scoring runs: worker processes on this machine, or a Ray cluster.

Both engines run the same function, :func:`score_lines`, on chunks of input lines (JSON
text): it parses them, maps fields, scores with ``unireward.score_batch(errors="record")``
and serialises the output rows. The main process only moves lines and writes bytes, so
memory stays bounded by the chunks in flight. Results come back in input order.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ._io import encode_chunk
from ._presets import FieldMap

__all__ = ["ChunkResult", "RewardModelSpec", "ScoringJob", "chunked", "run_local", "run_ray", "score_lines"]

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
    messages of unreadable input lines, and a failure that must stop the run (or None)."""

    data: bytes
    lines: list[str] | None
    summary: list[RowSummary]
    input_errors: list[tuple[int, str]]
    failure: str | None = None


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


def score_lines(lines: list[str], job: ScoringJob, keep_lines: bool = False) -> ChunkResult:
    """Score a chunk of JSON lines: one output row per line, in order.

    A line that is not a JSON object becomes ``{"_raw": line}`` with status ``error``; a row
    without the needed fields gets status ``error`` and says which columns were looked for.

    >>> job = ScoringJob()
    >>> r = score_lines(['{"completion": "<think>t</think><answer>B</answer>", '
    ...                  '"ground_truth": "B", "task": "multiple choice"}', '{oops'], job)
    >>> [json.loads(x)["status"] for x in r.data.decode().splitlines()], r.input_errors[0][0]
    (['ok', 'error'], 1)
    """
    from ..api import score_batch
    from ..errors import RemoteRewardError

    rows: list[dict[str, Any]] = []
    input_errors: list[tuple[int, str]] = []
    records: list[dict[str, Any]] = []
    where: list[int] = []  # row index -> index in records, or -1
    pre: dict[int, str] = {}
    for i, line in enumerate(lines):
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError(f"a row must be a JSON object, got {type(row).__name__}")
        except ValueError as exc:  # JSONDecodeError is a ValueError
            reason = f"invalid JSON: {exc}"
            rows.append({"_raw": line})
            input_errors.append((i, reason))
            pre[i] = reason
            where.append(-1)
            continue
        rows.append(row)
        rec, missing = job.fields.record(row)
        if missing is not None:
            pre[i] = f"InputError: {missing}"
            where.append(-1)
            continue
        where.append(len(records))
        records.append(rec)
    try:
        results = score_batch(
            records, errors="record", reward_model=_client(job.reward_model),
            reward_model_fallback=job.reward_model_fallback,
            normalize_by_problem_id=job.normalize_by_problem_id, **job.options,
        )
    except RemoteRewardError as exc:
        return ChunkResult(b"", None, [], input_errors,
                           f"reward model failed ({type(exc).__name__}: {exc}); "
                           "use --reward-model-fallback rouge to score such rows by ROUGE instead")
    unreadable = {i for i, _ in input_errors}
    out: list[str] = []
    summary: list[RowSummary] = []
    for i, row in enumerate(rows):
        j = where[i]
        added = _error_fields(pre[i]) if j < 0 else results[j].to_dict()
        task = "(unreadable)" if i in unreadable else job.fields.task_label(row)
        out.append(json.dumps({**row, **added}, ensure_ascii=False))
        summary.append((task, added["reward"], added["accuracy"], added["format"],
                        added["structure"], added["status"]))
    data = b"" if keep_lines else encode_chunk(out, job.out_kind)
    return ChunkResult(data, out if keep_lines else None, summary, input_errors)


def chunked(lines: Iterable[tuple[str, str]], size: int,
            group_key: Callable[[str], Any] | None = None) -> Iterator[tuple[list[str], list[str]]]:
    """``(wheres, lines)`` chunks of about ``size`` lines.

    With ``group_key``, a full chunk grows until the key changes (at most 4x ``size``), so
    rollouts of one problem that sit together stay in one chunk (the reward model's scores
    are normalised per problem within a chunk).

    >>> [len(c[1]) for c in chunked(((str(i), "x") for i in range(5)), 2)]
    [2, 2, 1]
    >>> rows = [("", k) for k in "aaabbc"]
    >>> [c[1] for c in chunked(rows, 2, group_key=lambda s: s)]
    [['a', 'a', 'a'], ['b', 'b'], ['c']]
    """
    wheres: list[str] = []
    chunk: list[str] = []
    last: Any = None
    for where, line in lines:
        if len(chunk) >= size:
            key = group_key(line) if group_key is not None else None
            if group_key is None or key is None or key != last or len(chunk) >= 4 * size:
                yield wheres, chunk
                wheres, chunk = [], []
            last = key
        elif group_key is not None:
            last = group_key(line)
        wheres.append(where)
        chunk.append(line)
    if chunk:
        yield wheres, chunk


def run_local(chunks: Iterable[tuple[list[str], list[str]]], job: ScoringJob,
              workers: int) -> Iterator[tuple[list[str], ChunkResult]]:
    """Score chunks in ``workers`` processes (in this process for 1), in input order, with
    at most ``2 * workers`` chunks in flight."""
    if workers <= 1:
        for wheres, lines in chunks:
            yield wheres, score_lines(lines, job)
        return
    pending: list[tuple[list[str], Future[ChunkResult]]] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        try:
            for wheres, lines in chunks:
                pending.append((wheres, pool.submit(score_lines, lines, job)))
                while len(pending) > 2 * workers:
                    w, fut = pending.pop(0)
                    yield w, fut.result()
            for w, fut in pending:
                yield w, fut.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


# --- Ray -----------------------------------------------------------------------------------

_SUMMARY_COLUMNS = ("task", "reward", "accuracy", "format", "structure", "status")


def _ray_score_batch(batch: Any, job: ScoringJob) -> Any:
    """Ray Data batch function (pyarrow in, pyarrow out): :func:`score_lines` on a batch."""
    import pyarrow as pa

    lines = [str(x).rstrip("\r") for x in batch.column("text").to_pylist()]
    res = score_lines(lines, job, keep_lines=True)
    if res.failure is not None:
        raise RuntimeError(res.failure)
    errors = [""] * len(lines)
    for i, msg in res.input_errors:
        errors[i] = msg
    cols: dict[str, Any] = {"text": res.lines}
    for k, name in enumerate(_SUMMARY_COLUMNS):
        cols[name] = [s[k] for s in res.summary]
    cols["input_error"] = errors
    return pa.table(cols)


def _ray_parquet_to_text(batch: Any) -> Any:
    """Parquet rows to JSON lines, exactly as the local reader writes them."""
    import pyarrow as pa

    from ._io import _row_to_line

    return pa.table({"text": [_row_to_line(r) for r in batch.to_pylist()]})


def run_ray(paths: list[str], parquet: bool, job: ScoringJob, *, workers: int, batch_size: int,
            address: str | None = None, skip: int = 0) -> Iterator[tuple[list[str], ChunkResult]]:
    """Score the input on Ray Data (joining ``address``, else ``RAY_ADDRESS``, else starting a
    local instance with ``workers`` CPUs); yields chunks in input order like :func:`run_local`.

    The first ``skip`` rows (already committed by an interrupted run) are scored again and
    dropped: Ray Data has no row offset to start from.
    """
    try:
        import ray
    except ImportError as exc:
        from ..errors import missing_extra

        raise missing_extra("ray[data]", "ray") from exc
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
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False
        if parquet:
            ds = ray.data.read_parquet(paths).map_batches(
                _ray_parquet_to_text, batch_format="pyarrow", batch_size=batch_size)
        else:
            open_args = {"compression": "gzip"} if paths[0].endswith(".gz") else None
            ds = ray.data.read_text(paths, drop_empty_lines=True, arrow_open_stream_args=open_args)
        ds = ds.map_batches(_ray_score_batch, fn_kwargs={"job": job},  # type: ignore[arg-type]
                            batch_format="pyarrow", batch_size=batch_size)
        seen = 0
        for batch in ds.iter_batches(batch_size=batch_size, batch_format="pyarrow"):
            table: Any = batch  # a pyarrow.Table for batch_format="pyarrow"
            n = table.num_rows
            lo = min(max(skip - seen, 0), n)
            seen += n
            if lo == n:
                continue
            cols = {name: table.column(name).to_pylist()[lo:]
                    for name in ("text", *_SUMMARY_COLUMNS, "input_error")}
            lines = cols["text"]
            summary = list(zip(*(cols[c] for c in _SUMMARY_COLUMNS), strict=True))
            errs = [(i, e) for i, e in enumerate(cols["input_error"]) if e]
            wheres = [f"row {seen - n + lo + i + 1}" for i in range(len(lines))]
            yield wheres, ChunkResult(encode_chunk(lines, job.out_kind), None, summary, errs)
    finally:
        if started:
            ray.shutdown()
