"""``unireward report``: the command-line door to :mod:`unireward.report`.

One scored dump gives a page of panels (summary, heterogeneity and prompt groups, over
training, completion lengths, grounding benchmarks, examples, errors); two dumps give a
side-by-side comparison. ``--summary-json`` writes every number as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["add_report_parser", "run_report"]


def add_report_parser(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="write a self-contained HTML report of a scored dump (or compare two)",
        description="Summarise a scored dump (the output of `unireward score`) as one HTML "
        "file: per-task summary with an all-tasks row, reward heterogeneity and prompt groups "
        "(zero-std, all-right, all-wrong groups; mean |advantage| under GRPO and EMA-GRPO), "
        "trends over training steps, completion lengths, grounding benchmarks, examples and "
        "errors. Two dumps are compared side by side.",
        epilog="examples:\n  unireward report scored.jsonl -o report.html\n"
        "  unireward report scored.parquet -o report.html --title 'step 1200' "
        "--summary-json summary.json\n"
        "  unireward report run_a.jsonl run_b.jsonl -o compare.html\n\n"
        "exit codes: 0 written, 2 usage or input error (e.g. the dump is not scored)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="SCORED",
        help="one scored JSONL / JSONL.gz / Parquet file or folder of shards; two to compare",
    )
    p.add_argument("-o", "--output", help="the HTML file to write")
    p.add_argument(
        "--summary-json", metavar="PATH", help="also write every number of the report as JSON"
    )
    p.add_argument(
        "--title", default=None, help="page title (default: 'unireward report' / 'comparison')"
    )
    from ._score import add_field_arguments

    add_field_arguments(p)
    p.set_defaults(run=run_report)


class _NotScored(Exception):
    pass


def _natural(path: str) -> list[Any]:
    """A sort key that orders numbers by value: ``2.jsonl`` before ``10.jsonl``.

    >>> sorted(["d/10.jsonl", "d/2.jsonl", "d/1.jsonl"], key=_natural)
    ['d/1.jsonl', 'd/2.jsonl', 'd/10.jsonl']
    """
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", os.path.basename(path))]


def _scored_rows(path: str) -> Iterable[dict[str, Any]]:
    """The rows of a dump; a folder's shards in natural order (verl names them by step)."""
    from ._io import input_paths

    for shard in sorted(input_paths(path), key=_natural):
        yield from _shard_rows(shard)


def _shard_rows(path: str) -> Iterable[dict[str, Any]]:
    from ._io import read_rows

    for _where, row, err in read_rows(path):
        if row is None:  # a line that is not a JSON object: an error row of its own
            yield {
                "_raw": err or "",
                "reward": 0.0,
                "accuracy": 0.0,
                "format": 0.0,
                "structure": 0.0,
                "status": "error",
                "reason": err,
            }
            continue
        if "reward" not in row:
            raise _NotScored(path)
        yield row


def _write(path: str, text: str) -> None:
    """Atomic write; a new folder is created, text a dump cannot encode (lone surrogates) is
    escaped."""
    from ._io import write_atomic

    write_atomic(path, text, errors="backslashreplace")


def run_report(args: argparse.Namespace) -> int:
    from ..errors import UniRewardError
    from ..report import build_report, render_comparison, render_report
    from ..report._html import compare_numbers
    from ._presets import FieldMap

    if len(args.inputs) > 2:
        print("unireward: report takes one scored dump, or two to compare", file=sys.stderr)
        return 2
    if not args.output and not args.summary_json:
        print(
            "unireward: nothing to write: give -o OUTPUT.html and/or --summary-json PATH",
            file=sys.stderr,
        )
        return 2
    title = args.title or ("unireward report" if len(args.inputs) == 1 else "unireward comparison")
    summaries = []
    try:
        fields = FieldMap.from_preset(args.preset, args.field, args.task)
        for path in args.inputs:
            data = build_report(_scored_rows(path), fields)
            summaries.append(data.summary(title, [path]))
    except _NotScored as exc:
        print(
            f"unireward: {exc} has rows without 'reward' (run `unireward score` first)",
            file=sys.stderr,
        )
        return 2
    except UniRewardError as exc:
        print(f"unireward: {exc}", file=sys.stderr)
        return 2
    for path, s in zip(args.inputs, summaries, strict=True):
        if not s["rows_read"]:
            print(f"unireward: {path} has no rows", file=sys.stderr)
            return 2
    if len(summaries) == 1:
        page, numbers = (lambda: render_report(summaries[0])), summaries[0]
    else:
        names = (os.path.basename(args.inputs[0]), os.path.basename(args.inputs[1]))
        if names[0] == names[1]:
            names = (args.inputs[0], args.inputs[1])
        page = lambda: render_comparison(  # noqa: E731
            summaries[0], summaries[1], names=names, title=title)
        numbers = {
            "a": summaries[0],
            "b": summaries[1],
            "compare": compare_numbers(summaries[0], summaries[1]),
        }
    try:
        if args.output:
            _write(args.output, page())
        if args.summary_json:
            _write(args.summary_json, json.dumps(numbers, indent=1, allow_nan=False, default=str))
    except (OSError, ValueError) as exc:
        print(f"unireward: cannot write the report: {exc}", file=sys.stderr)
        return 2
    rows = " and ".join(f"{s['rows_read']:,}" for s in summaries)
    print(f"{rows} rows -> {', '.join(p for p in (args.output, args.summary_json) if p)}")
    return 0
