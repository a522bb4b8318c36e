"""Numerical answers (rounded equality) and regression (Mean Relative Accuracy)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import GroundTruthError
from ..result import Status, TaskOutcome
from .base import ScoreOptions, TaskScorer

__all__ = ["NumericalScorer", "RegressionScorer", "mean_relative_accuracy", "parse_number"]

#: Longest answer (characters) handed to ``float()``; a longer one is a parse error.
MAX_NUMBER_CHARS = 10_000

# MRA thresholds exactly as float32 values built like ``arange(0.5, 0.975, 0.05)`` in float32
# (start + i * step computed in double, then rounded to float32), and ``1 - threshold`` in float32.
_THRESHOLDS = np.array([0.5 + 0.05 * i for i in range(10)], dtype=np.float64).astype(np.float32)
_MARGINS = np.float32(1.0) - _THRESHOLDS
_EPS32 = np.float32(1e-8)


def parse_number(text: str) -> float | None:
    """Parse a number as the reference does: ``float(text.replace(",", ""))``.

    ``float`` is lenient (``1_000``, ``+5``, ``.5``, full-width digits parse); every comma is
    deleted first (``3,5`` is 35). Returns None when it does not parse.

    >>> parse_number("1,000"), parse_number("$3.14$"), parse_number("３")
    (1000.0, None, 3.0)
    """
    if len(text) > MAX_NUMBER_CHARS:
        return None
    try:
        return float(text.replace(",", ""))
    except (ValueError, TypeError, OverflowError):
        return None


def mean_relative_accuracy(prediction: Any, truth: Any) -> Any:
    """Mean Relative Accuracy over the thresholds 0.50, 0.55, ..., 0.95, in float32.

    ``e = |p - g| / (|g| + 1e-8)``; the score is the share of thresholds ``θ`` with
    ``e < 1 - θ``. Like the reference it is computed in float32, so a 10% error scores 0.9
    (as the float32 value 0.8999999761581421), where float64 arithmetic would give 0.8.
    Accepts scalars or arrays (element-wise); non-finite values score 0.

    >>> float(mean_relative_accuracy(125.0, 100.0))
    0.5
    >>> round(float(mean_relative_accuracy(110.0, 100.0)), 6)
    0.9
    >>> float(mean_relative_accuracy(5e-10, 0.0))
    1.0
    """
    p = np.asarray(prediction, dtype=np.float64).astype(np.float32)
    g = np.asarray(truth, dtype=np.float64).astype(np.float32)
    with np.errstate(all="ignore"):
        err = np.abs(p - g) / (np.abs(g) + _EPS32)
        hits = (err[..., None] < _MARGINS).sum(axis=-1).astype(np.float32)
    out = hits / np.float32(len(_MARGINS))
    return out if out.ndim else out.astype(np.float64).item()


def _truth_number(truth: Any, task: str) -> float:
    if isinstance(truth, bool):
        raise GroundTruthError(f"{task} ground truth must be a number, got a boolean")
    if isinstance(truth, (int, float)):
        value: float | None = float(truth)
    elif isinstance(truth, str):
        value = parse_number(truth)
    else:
        raise GroundTruthError(f"{task} ground truth must be a number, got {type(truth).__name__}")
    if value is None or not math.isfinite(value):
        raise GroundTruthError(f"{task} ground truth {truth!r} is not a finite number")
    return value


def _answer_number(answer: str) -> float | TaskOutcome:
    """The answer's number, or the outcome of an answer that is not a finite number."""
    p = parse_number(answer)
    if p is None:
        return TaskOutcome(0.0, 0.5, Status.PARSE_ERROR, f"answer is not a number: {answer[:80]!r}")
    if not math.isfinite(p):
        return TaskOutcome(0.0, 0.5, Status.NON_FINITE, f"answer is not finite: {answer[:80]!r}")
    return p


class _NumberScorer(TaskScorer):
    """A task whose answer is one number: the accuracy of a finite answer against the
    truth is :meth:`accuracy`; any other answer scores 0 with its status."""

    def prepare_ground_truth(self, ground_truth: Any, data_type: str | None) -> float:
        return _truth_number(ground_truth, self.name)

    def accuracy(self, answer: float, truth: float) -> float:
        raise NotImplementedError

    def score_many(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> list[TaskOutcome]:
        out = []
        for answer, truth in zip(answers, truths, strict=True):
            p = _answer_number(answer)
            out.append(
                p if isinstance(p, TaskOutcome) else TaskOutcome(self.accuracy(p, truth), 0.5)
            )
        return out


class NumericalScorer(_NumberScorer):
    """Accuracy 1 when ``round(p, 2) == round(g, 2)`` (Python's binary rounding), else 0.

    >>> s = NumericalScorer()
    >>> s.score("3.145", s.prepare_ground_truth("3.14", None), data_type=None,
    ...         options=ScoreOptions()).accuracy
    0.0
    """

    name = "numerical"
    aliases = ("numeric", "number")
    check_spec = "unireward.testing._tasks:NumericalSpec"

    def accuracy(self, answer: float, truth: float) -> float:
        return 1.0 if round(answer, 2) == round(float(truth), 2) else 0.0


class RegressionScorer(_NumberScorer):
    """Accuracy = Mean Relative Accuracy (float32, see :func:`mean_relative_accuracy`)."""

    name = "regression"
    check_spec = "unireward.testing._tasks:RegressionSpec"

    def accuracy(self, answer: float, truth: float) -> float:
        return float(mean_relative_accuracy(answer, truth))


SCORERS = (NumericalScorer, RegressionScorer)
