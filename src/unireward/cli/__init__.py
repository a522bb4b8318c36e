"""The ``unireward`` command line: ``score``, ``validate``, ``report`` and ``serve``.

Exit codes: 0 every row scored, 1 some rows errored, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._report import add_report_parser
from ._score import add_score_parser
from ._serve import add_serve_parser
from ._validate import add_validate_parser

__all__ = ["main"]

EPILOG = """examples:
  unireward score examples/rollouts.jsonl -o scored.jsonl
  unireward score dump.jsonl.gz -o scored.jsonl.gz --workers 2 --field completion=response
  unireward validate examples/rollouts.jsonl
  unireward report scored.jsonl -o report.html
  unireward serve --port 8000
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unireward",
        description="Rewards for RL of multimodal reasoning models.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from .._version import __version__

    parser.add_argument("--version", action="version", version=f"unireward {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    add_score_parser(sub)
    add_validate_parser(sub)
    add_report_parser(sub)
    add_serve_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
