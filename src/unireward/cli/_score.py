"""``unireward score``: score a rollout dump, keeping every row and its order."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from ..errors import ConfigurationError, UniRewardError
from ._io import get_path, read_rows

__all__ = ["PRESETS", "add_score_parser"]

#: Field presets: unireward field -> column (dotted paths reach nested fields).
PRESETS: dict[str, dict[str, str]] = {
    "auto": {},
    "onethinker": {"task": "problem_type", "ground_truth": "solution", "prompt": "problem_reserved_text"},
    "easyr1": {"task": "problem_type", "ground_truth": "ground_truth", "completion": "response"},
    "verl": {"completion": "response", "ground_truth": "reward_model.ground_truth",
             "task": "extra_info.problem_type", "data_type": "extra_info.data_type"},
    "trl": {"completion": "completion", "ground_truth": "solution", "task": "problem_type"},
}
CHUNK = 2000


def add_score_parser(sub: Any) -> None:
    p = sub.add_parser(
        "score",
        help="score a JSONL rollout dump",
        description="Score every row of a JSONL dump (plain or .gz); each output row is the "
        "input row plus reward, accuracy, format, structure, status and reason, in input order.",
        epilog="examples:\n  unireward score examples/rollouts.jsonl -o scored.jsonl\n"
        "  unireward score dump.jsonl.gz -o out.jsonl.gz --preset verl --workers 2\n"
        "  unireward score dump.jsonl -o out.jsonl --field ground_truth=answer --profile strict",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--preset", choices=sorted(PRESETS), default="auto")
    p.add_argument("--field", action="append", default=[], metavar="NAME=COLUMN",
                   help="map a unireward field (completion, ground_truth, task, data_type, "
                   "problem_id, prompt) to a column; dotted paths reach nested fields")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local worker processes (default) or a Ray cluster (unireward[ray]; "
                   "joins RAY_ADDRESS when set, else starts a local instance)")
    p.add_argument("--profile", default="onethinker", choices=["onethinker", "strict"])
    p.add_argument("--format-weight", type=float, default=0.1)
    p.add_argument("--math-timeout", type=float, default=5.0)
    p.add_argument("--strict", action="store_true", help="stop at the first malformed input line (exit 2)")
    p.add_argument("--quiet", action="store_true", help="no summary table")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from OUTPUT.partial (rows already written are kept)")
    p.set_defaults(run=run_score)


def _mapping(args: argparse.Namespace) -> dict[str, str]:
    mapping = dict(PRESETS[args.preset])
    for item in args.field:
        name, sep, column = item.partition("=")
        if not sep or not name or not column:
            raise ConfigurationError(f"--field expects NAME=COLUMN, got {item!r}")
        mapping[name] = column
    return mapping


def _record(row: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    if not mapping:
        return row
    rec = dict(row)
    for name, column in mapping.items():
        value = get_path(row, column)
        if value is not None:
            rec[name] = value
    comp = rec.get("completion")
    if isinstance(comp, list) and comp and isinstance(comp[-1], dict):  # chat messages
        rec["completion"] = comp[-1].get("content", "")
    return rec


def _score_chunk(payload: tuple[list[dict[str, Any]], dict[str, Any]]) -> list[dict[str, Any]]:
    import unireward

    records, options = payload
    return [r.to_dict() for r in unireward.score_batch(records, errors="record", **options)]


def _line_chunks(args: argparse.Namespace) -> Iterator[tuple[int, list[str], list[int]]]:
    """Chunks of raw input lines (blank lines dropped) with the line number of each chunk's
    first line; Parquet rows are turned into JSON lines. Skips rows already written."""
    skip = getattr(args, "_skip_rows", 0)
    chunk: list[str] = []
    numbers: list[int] = []
    if str(args.input).endswith(".parquet"):
        source: Iterator[tuple[int, str]] = (
            (n, json.dumps(row, ensure_ascii=False)) for n, row, _ in read_rows(args.input)
        )
    else:
        source = _raw_lines(args.input, getattr(args, "_meter", None))
    for lineno, line in source:
        if skip:
            skip -= 1
            continue
        chunk.append(line)
        numbers.append(lineno)
        if len(chunk) >= CHUNK:
            yield numbers[0], chunk, numbers
            chunk, numbers = [], []
    if chunk:
        yield numbers[0], chunk, numbers


def _raw_lines(path: str, meter: _Progress | None = None) -> Iterator[tuple[int, str]]:
    from ..errors import InputError
    from ._io import open_text

    try:
        fh = open_text(path, "rt")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    with fh:
        for lineno, line in enumerate(fh, 1):
            if meter is not None:
                meter.read += len(line)
            if line.strip():
                yield lineno, line.rstrip("\n")


class _Progress:
    """Rows/s and ETA: a live line on a terminal, a log line every ``every`` s otherwise."""

    def __init__(self, path: str, every: float = 10.0) -> None:
        self.tty = sys.stderr.isatty()
        self.every = every
        self.start = self.last = time.monotonic()
        plain = not str(path).endswith((".gz", ".parquet"))
        self.total = os.path.getsize(path) if plain and os.path.exists(path) else 0  # ~ characters
        self.read = 0

    def update(self, rows: int, final: bool = False) -> None:
        now = time.monotonic()
        if not self.tty and not final and now - self.last < self.every:
            return
        self.last = now
        rate = rows / max(now - self.start, 1e-9)
        eta = ""
        if self.total and self.read and not final:
            frac = min(self.read / self.total, 1.0)
            left = (now - self.start) * (1 - frac) / max(frac, 1e-9)
            eta = f"  ETA {int(left // 60)}:{int(left % 60):02d}"
        msg = f"{rows:,} rows  {rate:,.0f} rows/s{eta}"
        if self.tty:
            print(f"\r{msg}   ", end="" if not final else "\n", file=sys.stderr, flush=True)
        else:
            print(f"unireward: {msg}", file=sys.stderr, flush=True)


def _score_lines(payload: tuple[list[str], list[int], dict[str, str], dict[str, Any]]) -> tuple[list[str], list[tuple[str, float, float, float, str, str | None]]]:
    """Worker: JSON lines in, scored JSON lines and per-row summaries out."""
    lines, numbers, mapping, options = payload
    rows: list[dict[str, Any]] = []
    bad: list[str | None] = []
    for line, lineno in zip(lines, numbers, strict=True):
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("a row must be a JSON object")
            rows.append(row)
            bad.append(None)
        except ValueError as exc:
            rows.append({"_raw": line})
            bad.append(f"line {lineno}: invalid JSON: {exc}")
    good = [_record(r, mapping) for r, b in zip(rows, bad, strict=True) if b is None]
    scored = iter(_score_chunk((good, options)))
    out: list[str] = []
    summary: list[tuple[str, float, float, float, str, str | None]] = []
    for row, err in zip(rows, bad, strict=True):
        if err is None:
            res = next(scored)
            task = str(row.get("problem_type") or row.get("task") or "?")
        else:
            res = {"reward": 0.0, "accuracy": 0.0, "format": 0.0, "structure": 0.0, "status": "error", "reason": err}
            task = "(unreadable)"
        out.append(json.dumps({**row, **res}, ensure_ascii=False))
        summary.append((task, res["reward"], res["accuracy"], res["format"], res["status"], err))
    return out, summary


def run_score(args: argparse.Namespace) -> int:
    try:
        mapping = _mapping(args)
        options = {"profile": args.profile, "format_weight": args.format_weight, "math_timeout": args.math_timeout}
        import unireward.api  # noqa: F401  (fail fast on bad options below)

        from ..tasks.base import ScoreOptions

        ScoreOptions(**options)
    except UniRewardError as exc:
        print(f"unireward: {exc}", file=sys.stderr)
        return 2
    if args.engine == "ray":
        return _run_ray(args, mapping, options)
    partial, progress = f"{args.output}.partial", f"{args.output}.progress"
    done_rows, done_bytes = 0, 0
    if args.resume and os.path.exists(partial) and os.path.exists(progress):
        try:
            with open(progress, encoding="utf-8") as fh:
                state = json.load(fh)
            done_rows, done_bytes = int(state["rows"]), int(state["bytes"])
        except (OSError, ValueError, KeyError) as exc:
            print(f"unireward: cannot resume ({exc}); starting again", file=sys.stderr)
            done_rows = done_bytes = 0
    args._skip_rows = done_rows
    stats: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    n_rows = n_err = 0
    start = time.monotonic()
    meter = args._meter = _Progress(args.input)
    pool = ProcessPoolExecutor(max_workers=args.workers) if args.workers > 1 else None
    try:
        mode = "r+" if done_rows else "w"
        if not done_rows:
            open(partial, "w").close()
        with open(partial, mode, encoding="utf-8") as out:
            out.seek(done_bytes)
            out.truncate()
            pending: list[Any] = []

            def flush(item: Any) -> None:
                nonlocal n_rows, n_err
                lines, summary = item.result() if pool is not None else item
                for line, (task, reward, acc, fmt, status, input_error) in zip(lines, summary, strict=True):
                    if input_error is not None:
                        print(f"unireward: {input_error}", file=sys.stderr)
                        if args.strict:
                            raise ConfigurationError(input_error)
                    out.write(line + "\n")
                    s = stats[task]
                    s["n"] += 1
                    s["reward"] += reward
                    s["accuracy"] += acc
                    s["format"] += fmt
                    s["format_fail"] += fmt == 0.0
                    s[status] += 1
                    n_rows += 1
                    n_err += status == "error"
                out.flush()
                os.fsync(out.fileno())
                _write_progress(progress, done_rows + n_rows, out.tell())
                meter.update(done_rows + n_rows)

            for _first, lines, numbers in _line_chunks(args):
                payload = (lines, numbers, mapping, options)
                pending.append(pool.submit(_score_lines, payload) if pool is not None else _score_lines(payload))
                while len(pending) > 2 * args.workers:
                    flush(pending.pop(0))
            for item in pending:
                flush(item)
        _finish(partial, args.output)
        os.remove(progress)
    except (UniRewardError, OSError) as exc:
        print(f"\nunireward: {exc}", file=sys.stderr)
        for path in (partial, progress):
            if os.path.exists(path) and not args.resume:
                os.remove(path)
        return 2
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if meter.tty:
        meter.update(done_rows + n_rows, final=True)
    if not args.quiet:
        _summary(stats, time.monotonic() - start, n_rows)
    return 1 if n_err else 0


def _write_progress(path: str, rows: int, offset: int) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"rows": rows, "bytes": offset}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _finish(partial: str, output: str) -> None:
    """Move the finished partial file into place (compressing it for a ``.gz`` output)."""
    if output.endswith(".parquet"):
        from ._io import jsonl_to_parquet

        jsonl_to_parquet(partial, output + ".tmp")
        os.replace(output + ".tmp", output)
        os.remove(partial)
    elif output.endswith(".gz"):
        import gzip
        import shutil

        tmp = output + ".tmp"
        with open(partial, "rb") as src, gzip.open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(tmp, output)
        os.remove(partial)
    else:
        os.replace(partial, output)


def _summary(stats: dict[str, dict[str, float]], seconds: float, n_rows: int) -> None:
    header = f"{'task':<28}{'rows':>8}{'reward':>9}{'acc':>8}{'format':>8}{'fmt fail':>9}{'parse':>7}{'fallbk':>7}{'errors':>7}"
    print(header)
    print("-" * len(header))
    for task in sorted(stats):
        s = stats[task]
        n = s["n"]
        parse = s["parse_error"] + s["malformed_json"] + s["schema_error"]
        print(
            f"{task[:27]:<28}{int(n):>8}{s['reward'] / n:>9.3f}{s['accuracy'] / n:>8.3f}"
            f"{s['format'] / n:>8.3f}{s['format_fail'] / n:>9.1%}{int(parse):>7}{int(s['fallback']):>7}{int(s['error']):>7}"
        )
    print(f"{n_rows:,} rows in {seconds:.1f} s ({n_rows / max(seconds, 1e-9):,.0f} rows/s)")


def _ray_score_lines(batch: dict[str, Any], mapping: dict[str, str], options: dict[str, Any]) -> dict[str, Any]:
    """Ray Data batch function: the local engine's worker on a batch of lines."""
    lines = [str(x) for x in batch["text"]]
    out, _ = _score_lines((lines, [0] * len(lines), mapping, options))
    return {"text": out}


def _run_ray(args: argparse.Namespace, mapping: dict[str, str], options: dict[str, Any]) -> int:
    try:
        import ray
    except ImportError:
        print("unireward: --engine ray needs 'ray[data]': pip install 'unireward[ray]'", file=sys.stderr)
        return 2
    if str(args.input).endswith((".gz", ".parquet")) or not os.path.exists(args.input):
        print("unireward: --engine ray reads plain JSONL files", file=sys.stderr)
        return 2
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    started = False
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), num_cpus=None if os.environ.get("RAY_ADDRESS") else args.workers,
                 include_dashboard=False, log_to_driver=False)
        started = True
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ds = ray.data.read_text(os.path.abspath(args.input), drop_empty_lines=True)
        ds = ds.map_batches(_ray_score_lines, fn_kwargs={"mapping": mapping, "options": options},  # type: ignore[arg-type]
                            batch_size=CHUNK, batch_format="numpy")
        partial = f"{args.output}.partial"
        n = n_err = 0
        with open(partial, "w", encoding="utf-8") as out:
            for batch in ds.iter_batches(batch_size=CHUNK, batch_format="numpy"):
                for line in batch["text"]:
                    out.write(str(line) + "\n")
                    n += 1
                    n_err += '"status": "error"' in str(line)
        _finish(partial, args.output)
    finally:
        if started:
            ray.shutdown()
    if not args.quiet:
        print(f"{n:,} rows scored on Ray")
    return 1 if n_err else 0
