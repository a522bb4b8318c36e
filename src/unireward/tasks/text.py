"""Text answers: OCR (1 - word error rate) and open-ended / captioning (ROUGE-1/2/L F1 mean).

ROUGE is computed as the ``rouge-score`` package computes it (its tokenizer and Porter
stemmer; F1 of unigram, bigram and longest-common-subsequence overlap), with a linear-time
bit-parallel LCS instead of the quadratic Python table, so long answers stay cheap.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from typing import Any, ClassVar

from ..result import Status, TaskOutcome
from .base import ItemScorer

__all__ = [
    "CaptioningScorer",
    "OCRScorer",
    "OpenEndedScorer",
    "rouge_accuracy",
    "rouge_f1",
    "word_error_rate",
]

#: Longest answer (characters) graded by ROUGE or WER; longer ones get accuracy 0 with a
#: ``parse_error`` status (no realistic answer comes close; the limit bounds the work).
MAX_TEXT_CHARS = 1_000_000


class _CachedStemmer:
    """The Porter stemmer ``rouge-score`` uses, with a cache (stemming dominates the cost)."""

    def __init__(self) -> None:
        from nltk.stem import porter

        self._stem = lru_cache(maxsize=200_000)(porter.PorterStemmer().stem)

    def stem(self, word: str) -> str:
        return self._stem(word)


@lru_cache(maxsize=1)
def _stemmer() -> _CachedStemmer:
    return _CachedStemmer()


def _tokens(text: str) -> list[str]:
    from rouge_score import tokenize

    return tokenize.tokenize(text, _stemmer())


def _f1(overlap: int, n_pred: int, n_ref: int) -> float:
    precision = overlap / max(n_pred, 1)
    recall = overlap / max(n_ref, 1)
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def _ngram_f1(ref: list[str], pred: list[str], n: int) -> float:
    ref_ngrams = Counter(zip(*(ref[i:] for i in range(n)), strict=False))
    pred_ngrams = Counter(zip(*(pred[i:] for i in range(n)), strict=False))
    overlap = sum(min(c, pred_ngrams[g]) for g, c in ref_ngrams.items())
    return _f1(overlap, sum(pred_ngrams.values()), sum(ref_ngrams.values()))


def _lcs_f1(ref: list[str], pred: list[str]) -> float:
    if not ref or not pred:
        return 0.0
    from rapidfuzz.distance import LCSseq

    lcs = LCSseq.similarity(ref, pred)
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def rouge_f1(prediction: str, reference: str) -> tuple[float, float, float]:
    """ROUGE-1, ROUGE-2 and ROUGE-L F1 with stemming, as ``rouge-score`` computes them.

    >>> rouge_f1("the cat sat", "the cat sat")
    (1.0, 1.0, 1.0)
    >>> rouge_f1("", "the cat")
    (0.0, 0.0, 0.0)
    """
    ref, pred = _tokens(reference), _tokens(prediction)
    return _ngram_f1(ref, pred, 1), _ngram_f1(ref, pred, 2), _lcs_f1(ref, pred)


def rouge_accuracy(prediction: str, reference: str) -> float:
    """The open-ended accuracy: mean of ROUGE-1/2/L F1, clipped to [0, 1].

    >>> round(rouge_accuracy("The man is cooking pasta",
    ...                      "The man is cooking pasta in a kitchen."), 6)
    0.755245
    """
    r1, r2, rl = rouge_f1(prediction, reference)
    return min(1.0, max(0.0, (r1 + r2 + rl) / 3))


def _too_long(answer: str) -> TaskOutcome | None:
    if len(answer) > MAX_TEXT_CHARS:
        return TaskOutcome(
            0.0, 0.5, Status.PARSE_ERROR, f"answer longer than {MAX_TEXT_CHARS} characters"
        )
    return None


class OpenEndedScorer(ItemScorer):
    """Open-ended answers: mean ROUGE-1/2/L F1 (a reward model can replace it in batches)."""

    name = "open-ended"
    aliases: ClassVar[tuple[str, ...]] = ("open ended", "free-form", "open-ended qa")
    check_spec = "unireward.testing._tasks:RougeSpec"
    uses_reward_model = True

    def grade(self, answer: str, truth: Any) -> TaskOutcome:
        return _too_long(answer) or TaskOutcome(rouge_accuracy(answer, truth), 0.5)


class CaptioningScorer(OpenEndedScorer):
    """Captions, scored like open-ended answers (the reference has no branch and gives 0:
    a deliberate improvement)."""

    name = "captioning"
    aliases = ("caption",)


def word_error_rate(truth: str, answer: str) -> float:
    """Word error rate as the reference computes it: both texts split with ``str.split()``
    (any Unicode whitespace: spaces, newlines, tabs, U+3000, ...), the word-level
    Levenshtein distance divided by ``max(1, number of truth words)``.

    An empty truth gives the number of answer words (0 only when the answer is empty too).

    >>> word_error_rate("Main 24 Figure", "Main\\n24\\nFigure")
    0.0
    >>> word_error_rate("Hello World", "hello World")
    0.5
    >>> word_error_rate("", "two words"), word_error_rate("", "")
    (2.0, 0.0)
    """
    from rapidfuzz.distance import Levenshtein

    ref, hyp = truth.split(), answer.split()
    # words -> small integer ids, so the C edit distance compares exact words
    ids: dict[str, int] = {}
    ref_ids = [ids.setdefault(w, len(ids)) for w in ref]
    hyp_ids = [ids.setdefault(w, len(ids)) for w in hyp]
    return Levenshtein.distance(ref_ids, hyp_ids) / max(1, len(ref))


class OCRScorer(ItemScorer):
    """OCR: ``1 - WER`` (word level, case-sensitive, see :func:`word_error_rate`), clipped
    to [0, 1].

    >>> from unireward import ScoreOptions
    >>> s, o = OCRScorer(), ScoreOptions()
    >>> s.score("Hello world", "Hello World", data_type=None, options=ScoreOptions()).accuracy
    0.5
    >>> s.score("Main\\n24\\tFigure", "Main 24 Figure", data_type=None, options=o).accuracy
    1.0
    """

    name = "ocr"
    check_spec = "unireward.testing._tasks:TextSpec"

    def grade(self, answer: str, truth: Any) -> TaskOutcome:
        refused = _too_long(answer)
        if refused is not None:
            return refused
        return TaskOutcome(min(1.0, max(0.0, 1.0 - word_error_rate(truth, answer))), 0.5)


SCORERS = (OpenEndedScorer, CaptioningScorer, OCRScorer)
