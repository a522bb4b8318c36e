"""``unireward score``: score a rollout dump, keeping every row and its order."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

from ..errors import ConfigurationError, InputError, UniRewardError
from ._engines import ChunkResult, RewardModelSpec, ScoringJob, chunked, run_local, run_ray
from ._io import InputReader, OutputSink, output_kind
from ._presets import PRESETS, FieldMap
from ._summary import Progress, Summary

__all__ = ["add_field_arguments", "add_score_parser", "run_score"]

CHUNK = 2000

EPILOG = """examples:
  unireward score examples/rollouts.jsonl -o scored.jsonl
  unireward score dump.jsonl.gz -o scored.jsonl.gz --workers 8
  unireward score rollouts/ -o scored.parquet             # a folder of JSONL or Parquet shards
  unireward score verl_dump.jsonl -o out.jsonl --preset verl --task "multiple choice"
  unireward score trl.jsonl -o out.jsonl --preset trl --field ground_truth=meta.answer
  unireward score dump.jsonl -o out.jsonl --reward-model-url http://rm:8000 \\
      --reward-model-fallback rouge
  unireward score dump.jsonl -o out.jsonl --resume        # continue after a crash or kill -9
  unireward score dump.jsonl -o out.jsonl --engine ray    # on a Ray cluster (RAY_ADDRESS)

exit codes: 0 every row scored, 1 some rows have status "error", 2 usage or input error
"""


class _StrictStop(Exception):
    pass


def add_field_arguments(p: argparse.ArgumentParser) -> None:
    """--preset, --field and --task (shared by ``score`` and ``validate``)."""
    p.add_argument("--preset", choices=list(PRESETS), default="auto",
                   help="where the fields live: auto (unireward and OneThinker names), onethinker, "
                   "easyr1, verl, trl (default: auto)")
    p.add_argument("--field", action="append", default=[], metavar="NAME=COLUMN",
                   help="read a field (completion, ground_truth, task, data_type, problem_id, "
                   "prompt) from COLUMN; dotted paths reach nested fields (reward_model.ground_truth), "
                   "commas list fallbacks; repeatable")
    p.add_argument("--task", default=None, metavar="TASK",
                   help="task for rows that name none")


def add_score_parser(sub: Any) -> None:
    p = sub.add_parser(
        "score", help="score a rollout dump (JSONL, JSONL.gz, Parquet)",
        description="Score every row of a dump. Each output row is the input row plus reward, "
        "accuracy, format, structure, status and reason, in input order; rows that cannot be "
        "scored get status 'error' and the reason. Formats follow the file names (.jsonl, "
        ".jsonl.gz, .parquet).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", help="a JSONL / JSONL.gz / Parquet file, or a folder of shards")
    p.add_argument("-o", "--output", required=True, help="the scored dump (.jsonl, .jsonl.gz, .parquet)")
    add_field_arguments(p)
    g = p.add_argument_group("scoring")
    g.add_argument("--profile", default="onethinker", choices=["onethinker", "strict"])
    g.add_argument("--format-weight", type=float, default=0.1, metavar="W")
    g.add_argument("--math-timeout", type=float, default=5.0, metavar="SECONDS")
    r = p.add_argument_group("reward model (open-ended and captioning answers)")
    r.add_argument("--reward-model-url", default=None, metavar="URL",
                   help="a POLAR reward model server (default: rule-based ROUGE scoring)")
    r.add_argument("--reward-model-backend", default="vllm", choices=["vllm", "lmdeploy", "sglang"])
    r.add_argument("--reward-model-fallback", default=None, choices=["rouge"],
                   help="score rows by ROUGE (status 'fallback') when the server fails; "
                   "without it a failing server stops the run (resumable)")
    r.add_argument("--reward-model-retries", type=int, default=7, metavar="N")
    r.add_argument("--no-normalize-by-problem-id", dest="normalize_by_problem_id",
                   action="store_false", help="clip reward-model scores instead of normalising per problem")
    e = p.add_argument_group("execution")
    e.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="worker processes (default: all cores); Ray: CPUs of a local instance")
    e.add_argument("--chunk-size", type=int, default=CHUNK, metavar="ROWS",
                   help=f"rows per chunk (default {CHUNK})")
    e.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local worker processes (default), or Ray Data (unireward[ray]): joins "
                   "--ray-address / RAY_ADDRESS, else starts a local instance")
    e.add_argument("--ray-address", default=None, metavar="ADDRESS")
    e.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from OUTPUT.partial (committed rows are kept)")
    e.add_argument("--strict", action="store_true",
                   help="a malformed input line is fatal (exit 2, nothing written)")
    e.add_argument("--quiet", action="store_true", help="no progress and no summary table")
    e.add_argument("--log-every", type=float, default=10.0, metavar="SECONDS",
                   help="seconds between progress lines when stderr is not a terminal")
    p.set_defaults(run=run_score)


def _fail(msg: str) -> int:
    print(f"unireward: {msg}", file=sys.stderr)
    return 2


def _job(args: argparse.Namespace) -> ScoringJob:
    from ..tasks.base import ScoreOptions

    fields = FieldMap.from_preset(args.preset, args.field, args.task)
    options = {"profile": args.profile, "format_weight": args.format_weight,
               "math_timeout": args.math_timeout}
    ScoreOptions(**options)  # bad values raise ConfigurationError here, not in every row
    if args.workers < 1 or args.chunk_size < 1:
        raise ConfigurationError("--workers and --chunk-size must be at least 1")
    spec = None
    if args.reward_model_url:
        spec = RewardModelSpec(args.reward_model_url, args.reward_model_backend,
                               args.reward_model_retries)
        spec.client().close()  # checks the options (no request is sent)
    elif args.reward_model_fallback:
        raise ConfigurationError("--reward-model-fallback needs --reward-model-url")
    return ScoringJob(fields, options, spec, args.reward_model_fallback,
                      args.normalize_by_problem_id, output_kind(args.output))


def _fingerprint(args: argparse.Namespace, job: ScoringJob, reader: InputReader) -> dict[str, Any]:
    files = [[os.path.abspath(p), os.path.getsize(p), int(os.path.getmtime(p))] for p in reader.paths]
    return {"input": files, "fields": {k: list(v) for k, v in job.fields.columns.items()},
            "task": job.fields.default_task, "options": job.options,
            "reward_model": None if job.reward_model is None else job.reward_model.base_url}


def _group_key(job: ScoringJob) -> Any:
    def key(line: str) -> Any:
        try:
            row = json.loads(line)
        except ValueError:
            return None
        return job.fields.lookup(row, "problem_id") if isinstance(row, dict) else None

    return key


def _skip(lines: Iterator[tuple[str, str]], n: int) -> Iterator[tuple[str, str]]:
    for item in lines:
        if n > 0:
            n -= 1
            continue
        yield item


def run_score(args: argparse.Namespace) -> int:
    try:
        job = _job(args)
        reader = InputReader(args.input)
    except UniRewardError as exc:
        return _fail(str(exc))
    if os.path.abspath(args.output) in {os.path.abspath(p) for p in reader.paths}:
        return _fail("the output must not be the input")
    sink = OutputSink(args.output, _fingerprint(args, job, reader))
    summary = Summary()
    try:
        state = sink.resume_state() if args.resume else None
        if state is not None:
            with open(sink.progress, encoding="utf-8") as fh:
                summary = Summary.from_json(json.load(fh).get("summary") or {})
    except (UniRewardError, OSError) as exc:
        return _fail(str(exc))
    done = state[0] if state else 0
    if args.resume and not args.quiet:
        print(f"unireward: resuming after {done:,} committed rows" if state else
              "unireward: nothing to resume; starting from the first row", file=sys.stderr)
    if args.engine == "ray" and job.reward_model is not None and job.normalize_by_problem_id:
        print("unireward: on Ray, reward-model scores are normalised per problem within each "
              "Ray batch", file=sys.stderr)

    progress = Progress(enabled=not args.quiet, every=args.log_every, start_rows=done)
    start = time.monotonic()
    scored = 0
    try:
        sink.open(state)
        results: Iterator[tuple[list[str], ChunkResult]]
        if args.engine == "ray":
            results = run_ray(reader.paths, reader.parquet, job, workers=args.workers,
                              batch_size=args.chunk_size, address=args.ray_address, skip=done)
        else:
            key = _group_key(job) if job.reward_model is not None else None
            chunks = chunked(_skip(iter(reader), done), args.chunk_size, key)
            results = run_local(chunks, job, args.workers)
        for wheres, res in results:
            for i, msg in res.input_errors:
                print(f"unireward: {wheres[i]}: {msg}", file=sys.stderr)
            if res.input_errors and args.strict:
                raise _StrictStop
            if res.failure is not None:
                raise InputError(res.failure)
            summary.extend(res.summary)
            sink.commit(res.data, len(res.summary), {"summary": summary.to_json()})
            scored += len(res.summary)
            progress.update(done + scored, reader.fraction() if args.engine == "local" else None)
        sink.finish()
    except _StrictStop:
        sink.discard()
        progress.close(done + scored)
        return _fail("stopped at a malformed input line (--strict); nothing written")
    except Exception as exc:  # input, disk, reward model or cluster trouble: resumable
        sink.close()
        progress.close(done + scored)
        what = str(exc) if isinstance(exc, UniRewardError) else f"{type(exc).__name__}: {exc}"
        return _fail(f"{what}\nunireward: {sink.rows:,} rows are committed in {sink.partial}; "
                     "run again with --resume to continue")
    except KeyboardInterrupt:
        sink.close()
        progress.close(done + scored)
        print(f"\nunireward: interrupted; {sink.rows:,} rows committed, --resume continues",
              file=sys.stderr)
        return 130
    progress.close(done + scored)
    if not args.quiet:
        seconds = time.monotonic() - start
        print(summary.table())
        print(f"{summary.rows_total:,} rows ({scored:,} scored now) in {seconds:.1f} s "
              f"({scored / max(seconds, 1e-9):,.0f} rows/s) -> {args.output}")
    return 1 if summary.errors else 0
