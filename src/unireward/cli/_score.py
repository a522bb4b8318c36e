"""``unireward score``: score a rollout dump, keeping every row and its order."""

from __future__ import annotations

import argparse
import difflib
import math
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

from ..errors import ConfigurationError, InputError, UniRewardError
from ._engines import (
    FIRST_ERRORS,
    Chunk,
    ChunkResult,
    RewardModelSpec,
    ScoringJob,
    chunked,
    run_local,
    run_ray,
)
from ._io import FORMATS, InputReader, OutputSink, output_kind, parse_row, printable
from ._presets import PRESETS, FieldMap
from ._summary import Progress, Summary

__all__ = ["FloatRange", "IntRange", "add_field_arguments", "add_score_parser", "check_task",
           "field_map", "run_score"]

CHUNK = 2000
#: the longest --math-timeout accepted (seconds)
MAX_MATH_TIMEOUT = 600.0
#: unreadable lines named on stderr as they are met
MAX_SHOWN = 10

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

exit codes: 0 every row scored, 1 some rows have status "error" (the first few are named),
2 usage or input error, 130 interrupted (Ctrl-C or SIGTERM; --resume continues)
"""


class _StrictStop(Exception):
    pass


class FloatRange:
    """An argparse type: a finite float in ``[lo, hi]`` (``lo`` excluded when ``open_lo``).

    >>> FloatRange(0, 60, open_lo=True)("2.5")
    2.5
    >>> FloatRange(0, 60, open_lo=True)("inf")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 'inf' is not a finite number in (0, 60]
    """

    def __init__(self, lo: float, hi: float, *, open_lo: bool = False) -> None:
        self.lo, self.hi, self.open_lo = lo, hi, open_lo

    def __call__(self, text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        low_ok = value > self.lo if self.open_lo else value >= self.lo
        if not (math.isfinite(value) and low_ok and value <= self.hi):
            span = f"{'(' if self.open_lo else '['}{self.lo:g}, {self.hi:g}]"
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number in {span}")
        return value


class IntRange:
    """An argparse type: an integer at least ``lo``.

    >>> IntRange(1)("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: '0' is not an integer >= 1
    """

    def __init__(self, lo: int) -> None:
        self.lo = lo

    def __call__(self, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = self.lo - 1
        if value < self.lo:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer >= {self.lo}")
        return value


def add_field_arguments(p: argparse.ArgumentParser) -> None:
    """--preset, --field, --task and --format (shared by ``score``, ``validate``, ``report``)."""
    p.add_argument("--preset", choices=list(PRESETS), default="auto",
                   help="where the fields live: auto (unireward and OneThinker names), onethinker, "
                   "easyr1, verl, trl (default: auto)")
    p.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="NAME=COLUMN",
        help="read a field (completion, ground_truth, task, data_type, problem_id, "
        "prompt) from COLUMN; dotted paths reach nested fields (reward_model.ground_truth), "
        "commas list fallbacks; repeatable",
    )
    p.add_argument("--task", default=None, metavar="TASK",
                   help="task for rows that name none (checked at start-up)")
    p.add_argument("--format", default=None, choices=list(FORMATS), dest="format",
                   help="the format of a file whose name does not end in .jsonl, .jsonl.gz or "
                   ".parquet (.json and .ndjson count as JSONL)")


def add_score_parser(sub: Any) -> None:
    p = sub.add_parser(
        "score", help="score a rollout dump (JSONL, JSONL.gz, Parquet)",
        description="Score every row of a dump. Each output row is the input row plus reward, "
        "accuracy, format, structure, status and reason, in input order; rows that cannot be "
        "scored get status 'error' and the reason. Formats follow the file names (.jsonl, "
        ".jsonl.gz, .parquet; --format for other names).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", help="a JSONL / JSONL.gz / Parquet file, or a folder of shards")
    p.add_argument(
        "-o", "--output", required=True, help="the scored dump (.jsonl, .jsonl.gz, .parquet)"
    )
    add_field_arguments(p)
    g = p.add_argument_group("scoring")
    g.add_argument("--profile", default="onethinker", choices=["onethinker", "strict"])
    g.add_argument("--format-weight", type=FloatRange(0, 1), default=0.1, metavar="W",
                   help="weight of the format reward, in [0, 1] (default 0.1)")
    g.add_argument(
        "--math-timeout",
        type=FloatRange(0, MAX_MATH_TIMEOUT, open_lo=True),
        default=5.0,
        metavar="SECONDS",
        help=f"deadline per math item, in (0, {MAX_MATH_TIMEOUT:g}] seconds (default 5)",
    )
    r = p.add_argument_group("reward model (open-ended and captioning answers)")
    r.add_argument("--reward-model-url", default=None, metavar="URL",
                   help="a POLAR reward model server (default: rule-based ROUGE scoring)")
    r.add_argument("--reward-model-backend", default="vllm", choices=["vllm", "lmdeploy", "sglang"])
    r.add_argument("--reward-model-fallback", default=None, choices=["rouge"],
                   help="score rows by ROUGE (status 'fallback') when the server fails; "
                   "without it a failing server stops the run (resumable)")
    r.add_argument("--reward-model-retries", type=IntRange(0), default=7, metavar="N")
    r.add_argument(
        "--no-normalize-by-problem-id",
        dest="normalize_by_problem_id",
        action="store_false",
        help="clip reward-model scores instead of normalising per problem",
    )
    e = p.add_argument_group("execution")
    e.add_argument("--workers", type=IntRange(1), default=os.cpu_count() or 1,
                   help="worker processes (default: all cores); Ray: CPUs of a local instance")
    e.add_argument("--chunk-size", type=IntRange(1), default=CHUNK, metavar="ROWS",
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
    e.add_argument("--log-every", type=FloatRange(0, 86400), default=10.0, metavar="SECONDS",
                   help="seconds between progress lines when stderr is not a terminal")
    p.set_defaults(run=run_score)


def _fail(msg: str) -> int:
    print(f"unireward: {msg}", file=sys.stderr)
    return 2


def check_task(name: str | None) -> str | None:
    """The canonical name of ``--task`` (None stays None); an unknown name is a
    ConfigurationError with the closest known names.

    >>> check_task("Multiple_Choice")
    'multiple choice'
    >>> check_task("multple choice")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    unireward.errors.ConfigurationError: --task: unknown task 'multple choice';
    did you mean 'multiple choice'?
    """
    from ..errors import UnknownTaskError
    from ..registry import canonical_task, get_scorer, registered_tasks

    if name is None:
        return None
    try:
        return get_scorer(name).name
    except UnknownTaskError:
        known = registered_tasks()
        close = difflib.get_close_matches(canonical_task(name), known, n=3, cutoff=0.6)
        hint = (f"did you mean {' or '.join(repr(c) for c in close)}?" if close
                else f"tasks: {', '.join(known)}")
        raise ConfigurationError(f"--task: unknown task {name!r}; {hint}") from None


def field_map(args: argparse.Namespace) -> FieldMap:
    """The FieldMap of ``--preset``, ``--field`` and ``--task`` (checked)."""
    return FieldMap.from_preset(args.preset, args.field, check_task(args.task))


def _job(args: argparse.Namespace) -> ScoringJob:
    from ..tasks.base import ScoreOptions

    fields = field_map(args)
    options = {"profile": args.profile, "format_weight": args.format_weight,
               "math_timeout": args.math_timeout}
    ScoreOptions(**options)  # bad values raise ConfigurationError here, not in every row
    spec = None
    if args.reward_model_url:
        spec = RewardModelSpec(args.reward_model_url, args.reward_model_backend,
                               args.reward_model_retries)
        spec.client().close()  # checks the options (no request is sent)
    elif args.reward_model_fallback:
        raise ConfigurationError("--reward-model-fallback needs --reward-model-url")
    return ScoringJob(fields, options, spec, args.reward_model_fallback,
                      args.normalize_by_problem_id, output_kind(args.output, args.format))


def _fingerprint(args: argparse.Namespace, job: ScoringJob, reader: InputReader) -> dict[str, Any]:
    files = [
        [os.path.abspath(p), os.path.getsize(p), int(os.path.getmtime(p))] for p in reader.paths
    ]
    return {"input": files, "fields": {k: list(v) for k, v in job.fields.columns.items()},
            "task": job.fields.default_task, "options": job.options,
            "reward_model": None if job.reward_model is None else job.reward_model.base_url}


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _clash(reader: InputReader, output: str) -> str | None:
    """Why writing ``output`` would touch the input (None when it would not)."""
    for mine in (output, output + ".partial", output + ".progress"):
        for path in reader.paths:
            if _same_file(path, mine):
                what = "the output" if mine == output else f"the output's working file {mine}"
                return f"the input {path} is {what}; choose another output"
    return None


def _group_key(job: ScoringJob) -> Any:
    def key(line: str) -> Any:
        try:
            row = parse_row(line)
        except ValueError:
            return None
        value = job.fields.lookup(row, "problem_id")
        return value if isinstance(value, (str, int, float, bool)) else None

    return key


def _skip(lines: Iterator[tuple[str, str]], n: int) -> Iterator[tuple[str, str]]:
    for item in lines:
        if n > 0:
            n -= 1
            continue
        yield item


class _ReadError(Exception):
    """The input cannot be read any further (resuming would stop at the same place)."""


def _reading(reader: InputReader) -> Iterator[tuple[str, str]]:
    try:
        yield from reader
    except UniRewardError as exc:
        raise _ReadError(str(exc)) from exc


def _report_errors(summary: Summary, first: list[list[str]], output: str) -> None:
    shown = first[:FIRST_ERRORS]
    print(f"unireward: {summary.errors:,} of {summary.rows_total:,} rows have status \"error\"; "
          f"the first {len(shown)}:", file=sys.stderr)
    for where, reason in shown:
        print(f"  {where}: {printable(reason)}", file=sys.stderr)
    print(f"unireward: all of them are in {output}: the rows with \"status\": \"error\" and "
          "their \"reason\"", file=sys.stderr)


def run_score(args: argparse.Namespace) -> int:
    try:
        job = _job(args)
        reader = InputReader(args.input, args.format)
    except UniRewardError as exc:
        return _fail(str(exc))
    clash = _clash(reader, args.output)
    if clash is not None:
        return _fail(clash)
    sink = OutputSink(args.output, _fingerprint(args, job, reader), job.out_kind)
    try:
        state, summary, first = _resume_state(sink, args.resume)
    except (UniRewardError, OSError) as exc:
        return _fail(str(exc))
    done = state[0] if state else 0
    _announce(args, job, state, done)
    try:
        sink.open(state)
    except (UniRewardError, OSError) as exc:
        sink.close()
        return _fail(f"cannot write {sink.partial}: {exc}")
    return _ScoreRun(args, job, reader, sink, summary, first, done).execute()


def _resume_state(sink: OutputSink,
                  resume: bool) -> tuple[tuple[int, int] | None, Summary, list[list[str]]]:
    """Where an interrupted run stopped (None: start afresh), its summary and first errors."""
    state = sink.resume_state() if resume else None
    if state is None:
        return None, Summary(), []
    saved = sink.read_progress()
    summary = Summary.from_json(saved.get("summary") or {})
    first = [[str(w), str(r)] for w, r in saved.get("first_errors") or []]
    return state, summary, first


def _announce(args: argparse.Namespace, job: ScoringJob, state: tuple[int, int] | None,
              done: int) -> None:
    """Say on stderr what resuming found, and how Ray normalises reward-model scores."""
    if args.resume and not args.quiet:
        print(f"unireward: resuming after {done:,} committed rows" if state else
              "unireward: nothing to resume; starting from the first row", file=sys.stderr)
    if args.engine == "ray" and job.reward_model is not None and job.normalize_by_problem_id:
        print("unireward: on Ray, reward-model scores are normalised per problem within each "
              "Ray batch", file=sys.stderr)


class _ScoreRun:
    """A run once its output is open: the engine's scored chunks go to the sink in order,
    with progress, and every way of stopping early leaves a resumable partial output."""

    def __init__(self, args: argparse.Namespace, job: ScoringJob, reader: InputReader,
                 sink: OutputSink, summary: Summary, first: list[list[str]], done: int) -> None:
        self.args, self.job, self.reader, self.sink = args, job, reader, sink
        self.summary, self.first, self.done = summary, first, done
        self.progress = Progress(enabled=not args.quiet, every=args.log_every, start_rows=done)
        self.start = time.monotonic()
        self.scored = 0
        self.shown_input_errors = 0

    def execute(self) -> int:
        sink = self.sink
        results: Iterator[tuple[Chunk, ChunkResult]] = iter(())
        try:
            results = self._results()
            for chunk, res in results:
                self._take(chunk, res)
            sink.finish()
        except _StrictStop:
            self._stop(results, discard=True)
            return _fail("stopped at a malformed input line (--strict); nothing written")
        except _ReadError as exc:  # resuming would stop here again
            self._stop(results)
            return _fail(
                f"{exc}\nunireward: the {sink.rows:,} rows before it are in {sink.partial}"
            )
        except Exception as exc:  # disk, reward model or cluster trouble: resumable
            self._stop(results)
            what = str(exc) if isinstance(exc, UniRewardError) else _one_line(exc)
            return _fail(
                f"{what}\nunireward: {sink.rows:,} rows are committed in {sink.partial}; "
                "once the cause is fixed, run again with --resume to continue"
            )
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (see unireward.cli.main)
            self._stop(results)
            print(
                f"\nunireward: interrupted; {sink.rows:,} rows are committed in {sink.partial}; "
                "run again with --resume to continue",
                file=sys.stderr,
            )
            return 130
        return self._finish()

    def _results(self) -> Iterator[tuple[Chunk, ChunkResult]]:
        """The chosen engine's scored chunks, after the rows already committed."""
        args, job, reader = self.args, self.job, self.reader
        if args.engine == "ray":
            return run_ray(reader.paths, reader.parquet, job, workers=args.workers,
                           batch_size=args.chunk_size, address=args.ray_address, skip=self.done,
                           fmt=reader.format)
        key = _group_key(job) if job.reward_model is not None else None
        chunks = chunked(_skip(_reading(reader), self.done), args.chunk_size, key,
                         position=lambda: reader.position)
        return run_local(chunks, job, args.workers)

    def _take(self, chunk: Chunk, res: ChunkResult) -> None:
        """Commit one scored chunk (or stop: --strict and an unreadable line, a failure)."""
        self._show_input_errors(chunk, res)
        if res.input_errors and self.args.strict:
            raise _StrictStop
        if res.failure is not None:
            raise InputError(res.failure)
        self.summary.extend(res.summary)
        room = FIRST_ERRORS - len(self.first)
        self.first.extend([chunk.wheres[i], reason] for i, reason in res.errors[:room])
        self.sink.commit(res.data, len(res.summary),
                         {"summary": self.summary.to_json(), "first_errors": self.first})
        self.scored += len(res.summary)
        self.progress.update(self.done + self.scored, chunk.end)

    def _show_input_errors(self, chunk: Chunk, res: ChunkResult) -> None:
        """Name unreadable lines on stderr: the first few (all of them with --strict)."""
        for i, msg in res.input_errors:
            self.shown_input_errors += 1
            if self.shown_input_errors <= MAX_SHOWN or self.args.strict:
                print(f"unireward: {chunk.wheres[i]}: {printable(msg)}", file=sys.stderr)
            elif self.shown_input_errors == MAX_SHOWN + 1:
                print("unireward: more unreadable lines follow (not listed)", file=sys.stderr)

    def _stop(self, results: Iterator[Any], *, discard: bool = False) -> None:
        """End the engine, then drop (``discard``) or keep the partial output."""
        _close(results)
        if discard:
            self.sink.discard()
        else:
            self.sink.close()
        self.progress.close(self.done + self.scored, complete=False)

    def _finish(self) -> int:
        """The summary table and the exit status of a run that scored every row."""
        args, summary, scored = self.args, self.summary, self.scored
        self.progress.close(self.done + scored)
        if not args.quiet:
            seconds = time.monotonic() - self.start
            print(summary.table())
            blank = (f"; {self.reader.blank_lines:,} blank lines skipped"
                     if self.reader.blank_lines else "")
            print(f"{summary.rows_total:,} rows ({scored:,} scored now{blank}) in {seconds:.1f} s "
                  f"({scored / max(seconds, 1e-9):,.0f} rows/s) -> {args.output}")
        if summary.errors:
            _report_errors(summary, self.first, args.output)
            return 1
        return 0


def _one_line(exc: BaseException) -> str:
    """An unexpected error in a line or two (a cluster's error carries the remote traceback:
    its first and last lines say what and why)."""
    lines = [x for x in str(exc).splitlines() if x.strip()] or [""]
    text = lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1].strip()}"
    return f"{type(exc).__name__}: {printable(text, 500)}"


def _close(results: Iterator[Any]) -> None:
    """End the engine now (its workers with it) rather than when it is collected."""
    close = getattr(results, "close", None)
    if close is not None:
        close()
