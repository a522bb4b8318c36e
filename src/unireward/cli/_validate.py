"""``unireward validate``: check a dump's fields and ground truths without scoring."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

from ..errors import UniRewardError

__all__ = ["add_validate_parser", "run_validate"]

EPILOG = """examples:
  unireward validate examples/rollouts.jsonl
  unireward validate dump.jsonl.gz --preset verl --task "spatial grounding"
  unireward validate dump.parquet --field ground_truth=reward_model.ground_truth

Each row needs a completion (a string), a ground truth and a known task; the ground truth
is parsed by the task's own scorer (a box, an interval, a number, ...). Nothing is scored.
Every invalid row is listed (stderr) unless --max-errors caps the list. Scoring does not
stop at a bad ground truth: its rows get accuracy 0 and status ground_truth_error.
exit codes: 0 every row valid, 1 some rows invalid, 2 usage or input error, 130 interrupted
"""


def add_validate_parser(sub: Any) -> None:
    from ._score import IntRange, add_field_arguments

    p = sub.add_parser(
        "validate", help="check a dump's fields and ground truths without scoring",
        description="Check every row of a dump: fields present, task known, ground truth usable.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", help="a JSONL / JSONL.gz / Parquet file, or a folder of shards")
    add_field_arguments(p)
    p.add_argument("--max-errors", type=IntRange(0), default=None, metavar="N",
                   help="print at most N problems (all are counted; default: print every one)")
    p.set_defaults(run=run_validate)


def check_row(row: dict[str, Any], fields: Any) -> str | None:
    """Why a row cannot be scored, or None when it can."""
    from ..api import normalize_record
    from ..completion import unwrap_ground_truth
    from ..registry import get_scorer

    try:
        rec, missing = fields.record(row)
    except Exception as exc:
        return f"unusable row ({type(exc).__name__}: {exc})"
    if missing is not None:
        return missing
    try:
        rec = normalize_record(rec)
        dt = rec.get("data_type")
        scorer = get_scorer(rec["task"])
        scorer.prepare_ground_truth(unwrap_ground_truth(rec["ground_truth"]),
                                    None if dt is None else str(dt))
    except UniRewardError as exc:
        return f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a hostile value (deeply nested, ...) is a finding, not a crash
        return f"unusable row ({type(exc).__name__}: {exc})"
    return None


def run_validate(args: argparse.Namespace) -> int:
    from ._io import printable, read_rows
    from ._score import field_map

    try:
        fields = field_map(args)
        n = bad = 0
        per_task: Counter[str] = Counter()
        bad_task: Counter[str] = Counter()
        for where, row, err in read_rows(args.input, args.format):
            n += 1
            task = "(unreadable)"
            if row is not None:
                task = fields.task_label(row, canonical=True)
                problem = check_row(row, fields)
                err = None if problem is None else f"{where}: {problem}"
            per_task[task] += 1
            if err is not None:
                bad += 1
                bad_task[task] += 1
                if args.max_errors is None or bad <= args.max_errors:
                    print(printable(err, 500), file=sys.stderr)
    except UniRewardError as exc:
        print(f"unireward: {exc}", file=sys.stderr)
        return 2
    if args.max_errors is not None and bad > args.max_errors:
        print(f"... and {bad - args.max_errors} more", file=sys.stderr)
    for task in sorted(per_task):
        print(f"{task:<30}{per_task[task]:>9,} rows{bad_task[task]:>9,} invalid")
    print(f"{n:,} rows, {bad:,} invalid")
    return 1 if bad else 0
