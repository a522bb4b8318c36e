"""Decoding answers and ground truths as strict JSON, and short renderings for reasons."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["decode_json", "decode_prefix", "load_json", "short_repr"]

_decoder = json.JSONDecoder()
_decode = _decoder.decode
#: ``(value, end)`` of the JSON value at the start of a text (no whitespace skipped):
#: ``json.loads`` of a text it takes whole (``end == len(text)``), without the two
#: whitespace scans (about 7% of a grounding batch); JSONDecodeError otherwise.
decode_prefix = _decoder.raw_decode


def load_json(text: str) -> tuple[Any, str | None]:
    """``(value, None)`` for strict JSON (``json.loads``), else ``(None, reason)``.

    Duplicate keys keep the last value; ``NaN``, ``Infinity`` and ``1e309`` are numbers.

    >>> load_json('{"a": 1, "a": 2}')
    ({'a': 2}, None)
    >>> load_json("{'a': 1}")[1]
    'not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)'
    """
    try:  # the value alone when it takes the whole text (no surrounding whitespace)
        obj, end = decode_prefix(text)
        if end == len(text):
            return obj, None
    except (ValueError, RecursionError):
        pass
    return decode_json(text)


def decode_json(text: str) -> tuple[Any, str | None]:
    """:func:`load_json` without its shortcut: ``json.loads`` itself, the error as text
    (for callers that have already tried :data:`decode_prefix`)."""
    try:
        return _decode(text), None
    except (ValueError, RecursionError) as exc:
        return None, f"not valid JSON: {exc}"[:200]


def short_repr(x: Any, limit: int = 60) -> str:
    """A JSON-ish rendering of ``x`` cut to ``limit`` characters.

    >>> short_repr({"boxes": list(range(40))})
    '{"boxes": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, ...'
    """
    try:
        text = json.dumps(x, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."
