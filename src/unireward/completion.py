"""Completion handling: tag normalisation, format reward, answer extraction, ground truth.

Every function here runs in linear time. The reference implementation uses regular
expressions (``\\s*(<|>|/)\\s*``, ``\\A\\s*<think>.*?</think>\\s*<answer>.*?</answer>\\s*\\Z``
and ``<answer>\\s*(.*?)\\s*</answer>``) that are quadratic on long whitespace runs and
unclosed or repeated tags; the functions below give exactly the same results with
``str.find``-style scans (the tests check equality with those regexes on random and
adversarial inputs).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

__all__ = [
    "ParsedCompletion",
    "extract_answer",
    "format_reward",
    "normalize_tags",
    "parse_completion",
    "scan_completion",
    "unwrap_ground_truth",
]

# The reference's r"\s*(<|>|/)\s*" retries its leading \s* from every position of a long
# whitespace run (quadratic); splitting at the tag characters and stripping is linear.
_WS = re.compile(r"\s*")  # used with .match at a position: linear in the run it consumes

_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"
_ANSWER_OPEN, _ANSWER_CLOSE = "<answer>", "</answer>"


def normalize_tags(text: str) -> str:
    """Delete whitespace on either side of every ``<``, ``>`` and ``/``.

    Same result as ``re.sub(r"\\s*(<|>|/)\\s*", r"\\1", text)`` in linear time. Note that this
    also changes answer text (a reference quirk, reproduced).

    >>> normalize_tags("< think >a</think> < / answer >")
    '<think>a</think></answer>'
    >>> normalize_tags("1 / 2 cup, a < b")
    '1/2 cup, a<b'
    """
    # Split at every tag character (str.split is far cheaper than a regex scan), strip each
    # piece on the sides that touch one, and put the characters back in between.
    pieces = text.replace(">", "<").replace("/", "<").split("<")
    last = len(pieces) - 1
    if not last:
        return text
    out: list[str] = []
    append = out.append
    pos = 0
    for i, piece in enumerate(pieces):
        pos += len(piece)
        if i == 0:
            append(piece.rstrip())
        elif i == last:
            append(piece.lstrip())
            break
        else:
            append(piece.strip())
        append(text[pos])  # the tag character that ended this piece
        pos += 1
    return "".join(out)


def format_reward(text: str) -> float:
    """1.0 when ``text`` fully matches the think/answer format, else 0.0.

    Same result as ``re.fullmatch(r"\\s*<think>.*?</think>\\s*<answer>.*?</answer>\\s*", text,
    re.DOTALL)`` (lazy matching lets two ``<answer>`` blocks or an answer nested in think
    pass: a reference quirk), in linear time. Apply it to the *normalised* completion.

    >>> format_reward("<think>x</think><answer>C</answer>")
    1.0
    >>> format_reward("<think>x</think><answer>C</answer> Done.")
    0.0
    >>> format_reward("<think>x</think><answer>A</answer><answer>C</answer>")
    1.0
    """
    t = text.lstrip()
    if not t.startswith(_THINK_OPEN):
        return 0.0
    u = t.rstrip()
    if not u.endswith(_ANSWER_CLOSE):
        return 0.0
    last_close = len(u) - len(_ANSWER_CLOSE)  # where the final </answer> starts
    p = u.find(_THINK_CLOSE, len(_THINK_OPEN))
    while p != -1 and p + len(_THINK_CLOSE) <= last_close:
        q = _WS.match(u, p + len(_THINK_CLOSE)).end()  # type: ignore[union-attr]
        if u.startswith(_ANSWER_OPEN, q) and q + len(_ANSWER_OPEN) <= last_close:
            return 1.0
        p = u.find(_THINK_CLOSE, p + 1)
    return 0.0


def extract_answer(text: str) -> str | None:
    """The stripped text of the first ``<answer>...</answer>`` block, or None if there is none.

    Same result as ``re.search(r"<answer>\\s*(.*?)\\s*</answer>", text, re.DOTALL)`` then
    ``.group(1).strip()``, in linear time.

    >>> extract_answer("<think>t</think><answer>  C </answer><answer>D</answer>")
    'C'
    >>> extract_answer("<answer>C") is None
    True
    """
    a = text.find(_ANSWER_OPEN)
    if a == -1:
        return None
    start = a + len(_ANSWER_OPEN)
    b = text.find(_ANSWER_CLOSE, start)
    if b == -1:
        return None
    return text[start:b].strip()


class ParsedCompletion(NamedTuple):
    """A completion after tag normalisation.

    Attributes:
        normalized: the completion with whitespace around ``<``, ``>``, ``/`` removed.
        format: the format reward (0.0 or 1.0).
        answer: the text that is graded: the first answer block, or the whole stripped
            completion when there is none or it is empty.
        has_answer_tags: whether a non-empty ``<answer>`` block was found.
        tagged_answer: the answer block's text ("" when there are no tags); this is what is
            sent to a reward model.
    """

    normalized: str
    format: float
    answer: str
    has_answer_tags: bool
    tagged_answer: str


def parse_completion(completion: str) -> ParsedCompletion:
    """Normalise, check the format and extract the answer of one completion.

    >>> p = parse_completion("<think>x</think>< answer >C</answer>")
    >>> p.format, p.answer, p.has_answer_tags
    (1.0, 'C', True)
    >>> parse_completion("The answer is C").answer
    'The answer is C'
    """
    norm = normalize_tags(completion)
    fmt = format_reward(norm)
    ans = extract_answer(norm)
    if ans:
        return ParsedCompletion(norm, fmt, ans, True, ans)
    return ParsedCompletion(norm, fmt, norm.strip(), False, ans or "")


def _scan_common(c: str) -> tuple[float, str, bool, str] | None:
    """The common shape in one pass: exactly four ``<`` in the text, each starting
    ``<think>``, ``</think>``, ``<answer>``, ``</answer>`` in that order. None otherwise.

    Normalisation deletes whitespace only, so with every ``<`` accounted for there is no
    other tag in the normalised text either: the format holds exactly when the text before
    ``<think>``, between ``</think>`` and ``<answer>`` and after ``</answer>`` is blank, and
    the answer is the normalised answer block. Stray ``>`` or ``/`` in the think block do
    not change either, so the think block is never normalised here.
    """
    parts = c.split("<", 5)  # at most 6 pieces, whatever the text holds
    if len(parts) != 5:
        return None
    head, think, mid, answer, tail = parts
    if not (
        think.startswith("think>")
        and mid.startswith("/think>")
        and answer.startswith("answer>")
        and tail.startswith("/answer>")
    ):
        return None
    ans = answer[7:]
    if ">" in ans or "/" in ans:
        ans = normalize_tags(ans)
    ans = ans.strip()
    if not ans:
        return None
    blank = not mid[7:].strip() and not head.strip() and not tail[8:].strip()
    return (1.0 if blank else 0.0), ans, True, ans


def scan_completion(completion: str) -> tuple[float, str, bool, str]:
    """``(format, answer, has_answer_tags, tagged_answer)`` of one completion: what scoring
    needs of :func:`parse_completion`, with the same values, without building the
    normalised text when the completion has the usual shape (the fast path of
    :func:`unireward.score_batch`).

    >>> scan_completion("<think>a / b</think> <answer> C </answer>")
    (1.0, 'C', True, 'C')
    >>> scan_completion("<think>x</think> <answer>< b ></answer>!")
    (0.0, '<b>', True, '<b>')
    """
    return _scan_common(completion) or _scan_full(completion)


def _scan_full(completion: str) -> tuple[float, str, bool, str]:
    p = parse_completion(completion)
    return p.format, p.answer, p.has_answer_tags, p.tagged_answer


def unwrap_ground_truth(ground_truth: Any) -> Any:
    """The usable ground truth: the inside of ``<answer>...</answer>`` for a string that has
    it, the stripped string otherwise; dicts and lists pass through unchanged. The ground
    truth is not tag-normalised.

    >>> unwrap_ground_truth("<answer> The man </answer>")
    'The man'
    >>> unwrap_ground_truth({"time": [1, 2]})
    {'time': [1, 2]}
    """
    if isinstance(ground_truth, str):
        inner = extract_answer(ground_truth)
        return inner if inner is not None else ground_truth.strip()
    return ground_truth
