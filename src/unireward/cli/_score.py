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


def _chunks(args: argparse.Namespace, mapping: dict[str, str], errors: list[str]) -> Iterator[tuple[list[dict], list[dict], list[str | None]]]:
    rows: list[dict] = []
    recs: list[dict] = []
    bad: list[str | None] = []
    skip = getattr(args, "_skip_rows", 0)
    for _lineno, row, err in read_rows(args.input):
        if skip:
            skip -= 1
            continue
        if err is not None:
            errors.append(err)
            print(f"unireward: {err}", file=sys.stderr)
            if args.strict:
                raise ConfigurationError(err)
        rows.append(row)  # type: ignore[arg-type]
        recs.append(_record(row, mapping) if err is None else {})  # type: ignore[arg-type]
        bad.append(err)
        if len(rows) >= CHUNK:
            yield rows, recs, bad
            rows, recs, bad = [], [], []
    if rows:
        yield rows, recs, bad


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
    input_errors: list[str] = []
    n_rows = n_err = 0
    start = time.monotonic()
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
                rows, bad, expand = item
                scored = expand.result()
                for row, res, err in zip(rows, scored, bad, strict=True):
                    if err is not None:
                        res = {"reward": 0.0, "accuracy": 0.0, "format": 0.0, "structure": 0.0,
                               "status": "error", "reason": err}
                    merged = {**row, **res}
                    out.write(json.dumps(merged, ensure_ascii=False) + "\n")
                    task = str(row.get("problem_type") or row.get("task") or "?") if err is None else "(unreadable)"
                    s = stats[task]
                    s["n"] += 1
                    s["reward"] += res["reward"]
                    s["accuracy"] += res["accuracy"]
                    s["format"] += res["format"]
                    s["format_fail"] += res["format"] == 0.0
                    s[res["status"]] += 1
                    n_rows += 1
                    n_err += res["status"] == "error"
                out.flush()
                os.fsync(out.fileno())
                _write_progress(progress, done_rows + n_rows, out.tell())
                if sys.stderr.isatty():
                    rate = n_rows / max(time.monotonic() - start, 1e-9)
                    print(f"\r{done_rows + n_rows:,} rows  {rate:,.0f} rows/s", end="", file=sys.stderr)

            for rows, recs, bad in _chunks(args, mapping, input_errors):
                good = [r for r, b in zip(recs, bad, strict=True) if b is None]
                if pool is not None:
                    fut: Any = pool.submit(_score_chunk, (good, options))
                else:
                    fut = _score_chunk((good, options))
                pending.append((rows, bad, _Expand(fut, bad, pool is not None)))
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
    if sys.stderr.isatty():
        print(file=sys.stderr)
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


class _Expand:
    """Results of the readable rows, re-expanded to one entry per input row."""

    def __init__(self, fut: Any, bad: list[str | None], is_future: bool) -> None:
        self.fut, self.bad, self.is_future = fut, bad, is_future

    def result(self) -> list[dict[str, Any] | None]:
        scored = iter(self.fut.result() if self.is_future else self.fut)
        return [next(scored) if b is None else None for b in self.bad]


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
    """Ray Data batch function: JSONL lines in, scored JSONL lines out (same as local)."""
    lines = [str(x) for x in batch["text"]]
    rows: list[dict[str, Any]] = []
    bad: list[str | None] = []
    for line in lines:
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("a row must be a JSON object")
            rows.append(row)
            bad.append(None)
        except ValueError as exc:
            rows.append({"_raw": line})
            bad.append(f"invalid JSON: {exc}")
    good = [_record(r, mapping) for r, b in zip(rows, bad, strict=True) if b is None]
    scored = iter(_score_chunk((good, options)))
    out = []
    for row, err in zip(rows, bad, strict=True):
        res = next(scored) if err is None else {"reward": 0.0, "accuracy": 0.0, "format": 0.0, "structure": 0.0,
                                                 "status": "error", "reason": err}
        out.append(json.dumps({**row, **res}, ensure_ascii=False))
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
        ds = ds.map_batches(_ray_score_lines, fn_kwargs={"mapping": mapping, "options": options},
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
