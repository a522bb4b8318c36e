"""Evaluating a set of segmentation answers against true masks: gIoU / cIoU for images,
J, F and J&F for videos.

Each answer goes through a mask predictor (:class:`~unireward.masks.Sam2MaskPredictor`
for the benchmark numbers, or :class:`BoxMaskPredictor`, the answer's box filled, as a
baseline that needs no model); the masks are then compared with
:mod:`unireward.geometry.masks`. An answer that cannot be used (malformed JSON, wrong
structure, a NaN coordinate) gets an empty mask and counts in the averages; its status
and reason are kept in the report. A true mask that cannot be used raises
:class:`~unireward.errors.GroundTruthError` naming its index.

>>> truth = np.zeros((10, 20), bool); truth[0:5, 0:10] = True
>>> answer = {"boxes": [0, 0, 450, 400], "positive_points": [[100, 100]] * 3,
...           "negative_points": [[900, 900]] * 3}  # pixels x 0..9, y 0..4: the truth
>>> r = evaluate_image_segmentation([answer, "oops"], [truth, truth], predictor=BoxMaskPredictor())
>>> r.ious.tolist(), r.as_dict(), r.statuses[1].value
([1.0, 0.0], {'gIoU': 0.5, 'cIoU': 0.5, 'n': 2, 'unusable': 1}, 'malformed_json')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..errors import ConfigurationError, GroundTruthError, InputError
from ..geometry.masks import (
    BOUNDARY_TOLERANCE,
    JFMeans,
    MaskSetScores,
    as_mask,
    decode_rle,
    mask_set_scores,
    video_mask_scores,
)
from ..result import Status
from .predictor import MaskPrediction
from .prompts import keyframe_index, parse_segmentation_answer, prompt_from_answer

__all__ = [
    "BoxMaskPredictor",
    "ImageSegmentationReport",
    "MaskPredictor",
    "VideoSegmentationReport",
    "evaluate_image_segmentation",
    "evaluate_video_segmentation",
    "load_mask",
]


class MaskPredictor(Protocol):
    """What the evaluation helpers need from a predictor."""

    needs_pixels: bool

    def predict_image(self, image: np.ndarray, answer: Any) -> MaskPrediction: ...

    def predict_video(self, video: Any, answer: Any, *, fps: float) -> MaskPrediction: ...


class BoxMaskPredictor:
    """A baseline predictor without a model: the answer's box, filled.

    The box is mapped to pixels like a SAM2 prompt (:func:`prompt_from_answer`) and
    covers the pixels ``x1..x2`` and ``y1..y2`` inclusive; the points are ignored. In a
    video every frame gets the box (the key frame is still reported).

    >>> answer = {"boxes": [100, 250, 300, 500], "positive_points": [[0, 0]] * 3,
    ...           "negative_points": [[0, 0]] * 3}
    >>> p = BoxMaskPredictor().predict_image(np.zeros((4, 10, 3), np.uint8), answer)
    >>> p.masks.astype(int)
    array([[0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
           [0, 1, 1, 1, 0, 0, 0, 0, 0, 0],
           [0, 1, 1, 1, 0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]])
    """

    needs_pixels = False

    @staticmethod
    def _box_mask(g: Any, h: int, w: int) -> np.ndarray:
        x1, y1, x2, y2 = (int(v) for v in prompt_from_answer(g, w, h).box)
        m = np.zeros((h, w), dtype=bool)
        m[y1 : y2 + 1, x1 : x2 + 1] = True
        return m

    def predict_image(self, image: Any, answer: Any) -> MaskPrediction:
        """The filled box on an image of ``image``'s height and width."""
        h, w = np.shape(image)[:2]
        g, status, reason = parse_segmentation_answer(answer)
        if g is None:
            return MaskPrediction(np.zeros((h, w), dtype=bool), status, reason)
        return MaskPrediction(self._box_mask(g, h, w), Status.OK, None)

    def predict_video(self, video: Any, answer: Any, *, fps: float) -> MaskPrediction:
        """The filled box on every frame of a ``(T, H, W[, 3])`` video."""
        t, h, w = np.shape(video)[:3]
        keyframe_index(0.0, fps, 1)  # checks fps
        g, status, reason = parse_segmentation_answer(answer, video=True)
        if g is None:
            return MaskPrediction(np.zeros((t, h, w), dtype=bool), status, reason)
        k = keyframe_index(g.time or 0.0, fps, t)
        masks = np.broadcast_to(self._box_mask(g, h, w), (t, h, w)).copy()
        return MaskPrediction(masks, Status.OK, None, k, tuple(range(t)))


def load_mask(mask: Any, what: str = "mask") -> np.ndarray:
    """A true mask as a bool array: an array (non-zero is foreground) or a COCO RLE dict
    (``pycocotools``). A list of RLE dicts stacks into ``(T, H, W)``.

    Raises:
        unireward.errors.GroundTruthError: an RLE that does not decode, frames of different
            sizes, or fewer than two axes.

    >>> load_mask({"size": [1, 3], "counts": [1, 2]}).tolist()
    [[False, True, True]]
    """
    try:
        if isinstance(mask, Mapping):
            return decode_rle(mask)
        if isinstance(mask, (list, tuple)) and mask and all(isinstance(m, Mapping) for m in mask):
            frames = [decode_rle(m) for m in mask]
            if len({f.shape for f in frames}) != 1:
                raise ValueError(f"frames of different sizes: {sorted({f.shape for f in frames})}")
            return np.stack(frames)
        return as_mask(mask, what)
    except ValueError as exc:
        raise GroundTruthError(f"{what}: {exc}") from exc


@dataclass(frozen=True)
class ImageSegmentationReport:
    """gIoU / cIoU of an image set, with the per-image details.

    Attributes:
        intersections: ``(N,)`` intersection areas in pixels.
        unions: ``(N,)`` union areas in pixels.
        statuses: per answer: OK, or why it was not usable (its mask is then empty).
        reasons: per answer: None, or the explanation.
    """

    intersections: np.ndarray
    unions: np.ndarray
    statuses: tuple[Status, ...]
    reasons: tuple[str | None, ...]

    @property
    def scores(self) -> MaskSetScores:
        """The pixel counts as :class:`~unireward.geometry.masks.MaskSetScores`."""
        return MaskSetScores(self.intersections, self.unions)

    @property
    def ious(self) -> np.ndarray:
        """``(N,)`` per-image IoUs."""
        return self.scores.ious

    @property
    def giou(self) -> float:
        """Mean per-image IoU."""
        return self.scores.giou

    @property
    def ciou(self) -> float:
        """Sum of intersections / sum of unions."""
        return self.scores.ciou

    @property
    def n_unusable(self) -> int:
        """How many answers could not be used."""
        return sum(s is not Status.OK for s in self.statuses)

    def as_dict(self) -> dict[str, float | int]:
        """``{"gIoU", "cIoU", "n", "unusable"}``."""
        return {
            "gIoU": self.giou,
            "cIoU": self.ciou,
            "n": len(self.statuses),
            "unusable": self.n_unusable,
        }


@dataclass(frozen=True)
class VideoSegmentationReport(JFMeans):
    """J, F and J&F of a video set: each measure is averaged over a video's frames, then
    over the videos; ``J&F = (J + F) / 2``.

    Attributes:
        j: ``(N,)`` per-video mean mask IoU.
        f: ``(N,)`` per-video mean boundary F.
        keyframes: per video: the prompt frame (None for an unusable answer).
        statuses: per answer: OK, or why it was not usable (its masks are then empty).
        reasons: per answer: None, or the explanation.
    """

    j: np.ndarray
    f: np.ndarray
    keyframes: tuple[int | None, ...]
    statuses: tuple[Status, ...]
    reasons: tuple[str | None, ...]

    @property
    def n_unusable(self) -> int:
        """How many answers could not be used."""
        return sum(s is not Status.OK for s in self.statuses)

    def as_dict(self) -> dict[str, float | int]:
        """``{"J", "F", "J&F", "n", "unusable"}``."""
        return {"J": self.j_mean, "F": self.f_mean, "J&F": self.j_and_f,
                "n": len(self.statuses), "unusable": self.n_unusable}


def _inputs(answers: Sequence[Any], truths: Sequence[Any], media: Sequence[Any] | None,
            predictor: Any, kind: str) -> None:
    if len(answers) != len(truths):
        raise ConfigurationError(f"{len(answers)} answers for {len(truths)} true masks")
    if not answers:
        raise InputError(f"no {kind}s to evaluate")
    if media is None and getattr(predictor, "needs_pixels", True):
        raise ConfigurationError(f"{type(predictor).__name__} needs the {kind}s (pass {kind}s=...)")
    if media is not None and len(media) != len(answers):
        raise ConfigurationError(f"{len(media)} {kind}s for {len(answers)} answers")


def evaluate_image_segmentation(
    answers: Sequence[Any],
    gt_masks: Sequence[Any],
    *,
    predictor: MaskPredictor,
    images: Sequence[np.ndarray] | None = None,
) -> ImageSegmentationReport:
    """gIoU and cIoU of segmentation answers on images.

    Args:
        answers: one answer per image (dict, JSON text or completion with answer tags).
        gt_masks: one true ``(H, W)`` mask per image (array or COCO RLE dict).
        predictor: turns an answer into a mask (``predict_image(image, answer)``).
        images: ``(H, W, 3)`` uint8 images; only predictors with
            ``needs_pixels = False`` can do without them.

    Raises:
        unireward.errors.GroundTruthError: a true mask that cannot be used, or whose size
            differs from its image.
        unireward.errors.ConfigurationError: inputs of different lengths, or no images for
            a predictor that needs them.
    """
    _inputs(answers, gt_masks, images, predictor, "image")
    inters, unions, statuses, reasons = [], [], [], []
    for i, (answer, truth) in enumerate(zip(answers, gt_masks, strict=True)):
        t = load_mask(truth, f"gt_masks[{i}]")
        if t.ndim != 2:
            raise GroundTruthError(f"gt_masks[{i}] must be one (H, W) mask, got shape {t.shape}")
        image = images[i] if images is not None else np.empty((*t.shape, 0), dtype=np.uint8)
        if np.shape(image)[:2] != t.shape:
            raise GroundTruthError(
                f"gt_masks[{i}] has shape {t.shape} but its image is {np.shape(image)[:2]}"
            )
        pred = predictor.predict_image(image, answer)
        s = mask_set_scores([pred.masks], [t])
        inters.append(int(s.intersections[0]))
        unions.append(int(s.unions[0]))
        statuses.append(pred.status)
        reasons.append(pred.reason)
    return ImageSegmentationReport(np.array(inters, np.int64), np.array(unions, np.int64),
                                   tuple(statuses), tuple(reasons))


def evaluate_video_segmentation(
    answers: Sequence[Any],
    gt_masks: Sequence[Any],
    *,
    predictor: MaskPredictor,
    fps: float | Sequence[float],
    videos: Sequence[Any] | None = None,
    tolerance: float = BOUNDARY_TOLERANCE,
) -> VideoSegmentationReport:
    """J, F and J&F of segmentation answers on videos.

    Args:
        answers: one answer per video, each with ``"time"`` (seconds).
        gt_masks: one true ``(T, H, W)`` mask stack per video (an array or a list of
            per-frame COCO RLE dicts).
        predictor: turns an answer into masks (``predict_video(video, answer, fps=...)``).
        fps: the frame rate of the videos (one for all, or one per video).
        videos: ``(T, H, W, 3)`` uint8 frames or JPEG folders; only predictors with
            ``needs_pixels = False`` can do without them.
        tolerance: boundary tolerance as a fraction of the image diagonal.

    Raises:
        unireward.errors.GroundTruthError: a true mask stack that cannot be used, or whose
            shape differs from the predicted masks'.
    """
    _inputs(answers, gt_masks, videos, predictor, "video")
    rates = (
        [float(x) for x in fps]
        if isinstance(fps, (Sequence, np.ndarray))
        else [float(fps)] * len(answers)
    )
    if len(rates) != len(answers):
        raise ConfigurationError(f"{len(rates)} frame rates for {len(answers)} videos")
    js, fs, keys, statuses, reasons = [], [], [], [], []
    for i, (answer, truth) in enumerate(zip(answers, gt_masks, strict=True)):
        t = load_mask(truth, f"gt_masks[{i}]")
        if t.ndim != 3:
            raise GroundTruthError(f"gt_masks[{i}] must be (T, H, W) masks, got shape {t.shape}")
        video = videos[i] if videos is not None else np.empty((*t.shape, 0), dtype=np.uint8)
        pred = predictor.predict_video(video, answer, fps=rates[i])
        if pred.masks.shape != t.shape:
            raise GroundTruthError(
                f"gt_masks[{i}] has shape {t.shape} but the video gives {pred.masks.shape}"
            )
        v = video_mask_scores(pred.masks, t, tolerance)
        js.append(v.j_mean)
        fs.append(v.f_mean)
        keys.append(pred.keyframe)
        statuses.append(pred.status)
        reasons.append(pred.reason)
    return VideoSegmentationReport(
        np.array(js), np.array(fs), tuple(keys), tuple(statuses), tuple(reasons)
    )
