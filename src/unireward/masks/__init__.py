"""Segmentation with SAM2: masks from segmentation answers, mask metrics, the mask reward.

The prompt mapping, the evaluation helpers and the box baseline are pure NumPy;
:class:`Sam2MaskPredictor` needs ``pip install 'unireward[sam2]'`` (torch and sam2 are
imported when one is built, so this package imports without them). The mask metrics
live in :mod:`unireward.geometry.masks` and are re-exported here.

The mask reward (:class:`Sam2MaskReward`, or :class:`Sam2Client` for a SAM2 service built
by :func:`build_sam2_app`) scores segmentation records by the masks their prompts produce:
``score_batch(records, extra={"mask_model": reward})``.

>>> from unireward.masks import keyframe_index, mask_iou
>>> keyframe_index(1.3, 10, 50), float(mask_iou(np.eye(2), np.ones((2, 2))))
(13, 0.5)
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (used by the doctest)

from ..geometry.masks import (
    BOUNDARY_TOLERANCE,
    MaskSetScores,
    VideoMaskScores,
    boundary_f,
    boundary_map,
    ciou,
    decode_rle,
    giou,
    j_and_f,
    mask_iou,
    mask_set_scores,
    video_mask_scores,
)
from .client import Sam2Client, Sam2ClientConfig
from .evaluate import (
    BoxMaskPredictor,
    ImageSegmentationReport,
    MaskPredictor,
    VideoSegmentationReport,
    evaluate_image_segmentation,
    evaluate_video_segmentation,
    load_mask,
)
from .predictor import DEFAULT_CONFIG, ImageEmbedding, MaskPrediction, Sam2MaskPredictor
from .prompts import (
    GRID,
    GridAnswer,
    SamPrompt,
    grid_to_pixels,
    keyframe_index,
    parse_segmentation_answer,
    prompt_from_answer,
)
from .reward import MaskRewardStats, Sam2MaskReward
from .service import build_sam2_app
from .truth import decode_true_mask

__all__ = [
    "BOUNDARY_TOLERANCE",
    "DEFAULT_CONFIG",
    "GRID",
    "BoxMaskPredictor",
    "GridAnswer",
    "ImageEmbedding",
    "ImageSegmentationReport",
    "MaskPrediction",
    "MaskPredictor",
    "MaskRewardStats",
    "MaskSetScores",
    "Sam2Client",
    "Sam2ClientConfig",
    "Sam2MaskPredictor",
    "Sam2MaskReward",
    "SamPrompt",
    "VideoMaskScores",
    "VideoSegmentationReport",
    "boundary_f",
    "boundary_map",
    "build_sam2_app",
    "ciou",
    "decode_rle",
    "decode_true_mask",
    "evaluate_image_segmentation",
    "evaluate_video_segmentation",
    "giou",
    "grid_to_pixels",
    "j_and_f",
    "keyframe_index",
    "load_mask",
    "mask_iou",
    "mask_set_scores",
    "parse_segmentation_answer",
    "prompt_from_answer",
    "video_mask_scores",
]
