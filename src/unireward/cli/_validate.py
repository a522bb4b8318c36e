"""``unireward validate``: check a dump's fields and ground truths without scoring."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import UniRewardError

__all__ = ["add_validate_parser"]


def add_validate_parser(sub: Any) -> None:
    p = sub.add_parser(
        "validate",
        help="check a dump's fields and ground truths without scoring",
        epilog="examples:\n  unireward validate examples/rollouts.jsonl\n"
        "  unireward validate dump.jsonl.gz --preset verl",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input")
    from ._score import PRESETS

    p.add_argument("--preset", choices=sorted(PRESETS), default="auto")
    p.add_argument("--field", action="append", default=[], metavar="NAME=COLUMN")
    p.add_argument("--max-errors", type=int, default=20, help="errors to print (all are counted)")
    p.set_defaults(run=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    from ..api import normalize_record
    from ..completion import unwrap_ground_truth
    from ..registry import get_scorer
    from ._io import read_rows
    from ._score import _mapping, _record

    try:
        mapping = _mapping(args)
        rows = read_rows(args.input)
        n = bad = 0
        for lineno, row, err in rows:
            n += 1
            if err is None:
                try:
                    rec = normalize_record(_record(row, mapping))  # type: ignore[arg-type]
                    dt = rec.get("data_type")
                    scorer = get_scorer(rec["task"])
                    scorer.prepare_ground_truth(unwrap_ground_truth(rec["ground_truth"]), None if dt is None else str(dt))
                except UniRewardError as exc:
                    err = f"line {lineno}: {exc}"
            if err is not None:
                bad += 1
                if bad <= args.max_errors:
                    print(err, file=sys.stderr)
    except UniRewardError as exc:
        print(f"unireward: {exc}", file=sys.stderr)
        return 2
    print(f"{n} rows, {bad} invalid")
    return 1 if bad else 0
