"""The ``unireward`` command line: ``score``, ``validate``, ``report`` and ``serve``.

Exit codes: 0 success (every row scored / valid), 1 some rows errored or are invalid,
2 usage or input error, 130 interrupted (Ctrl-C or SIGTERM).

>>> main(["--version"])  # doctest: +ELLIPSIS
unireward ...
0
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

__all__ = ["build_parser", "entry", "main"]

EPILOG = """examples:
  unireward score examples/rollouts.jsonl -o scored.jsonl
  unireward score dump.jsonl.gz -o scored.parquet --preset verl --workers 8
  unireward score dump.jsonl -o scored.jsonl --resume
  unireward validate examples/rollouts.jsonl
  unireward report scored.jsonl -o report.html
  unireward serve --port 8000

`unireward COMMAND --help` shows each command's options and examples.
exit codes: 0 success, 1 some rows errored or are invalid, 2 usage or input error,
130 interrupted (Ctrl-C or SIGTERM)
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of all commands."""
    from .._version import __version__
    from ._report import add_report_parser
    from ._score import add_score_parser
    from ._serve import add_serve_parser
    from ._validate import add_validate_parser

    parser = argparse.ArgumentParser(
        prog="unireward",
        description="Rewards for RL of multimodal reasoning models: score rollout dumps, check "
        "them, report on them, or serve rewards over HTTP.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"unireward {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_score_parser(sub)
    add_validate_parser(sub)
    add_report_parser(sub)
    add_serve_parser(sub)
    return parser


def entry() -> None:
    """The ``unireward`` program: :func:`main`, then exit with its code.

    When a worker pool had to be abandoned (an unreadable input, an interrupt), the process
    ends at once after flushing its output, instead of waiting at exit on the pool's threads.
    """
    code = main()
    from . import _engines

    if _engines.POOL_ABANDONED:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        logging.shutdown()
        os._exit(code)
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 after --help / --version
        return exc.code if isinstance(exc.code, int) else 2
    # SIGTERM ends a command the way Ctrl-C does: workers stopped, committed rows kept.
    # (Only the main thread may set handlers; the old one is put back afterwards.)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        print("\nunireward: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
