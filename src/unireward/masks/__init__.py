"""Segmentation evaluation: masks from segmentation answers with SAM2, and mask metrics.

The prompt mapping, the evaluation helpers and the box baseline are pure NumPy;
:class:`Sam2MaskPredictor` needs ``pip install 'unireward[sam2]'`` (torch and sam2 are
imported when one is built, so this package imports without them). The mask metrics
live in :mod:`unireward.geometry.masks` and are re-exported here.

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
from .evaluate import (
    BoxMaskPredictor,
    ImageSegmentationReport,
    MaskPredictor,
    VideoSegmentationReport,
    evaluate_image_segmentation,
    evaluate_video_segmentation,
    load_mask,
)
from .predictor import DEFAULT_CONFIG, MaskPrediction, Sam2MaskPredictor
from .prompts import (
    GRID,
    GridAnswer,
    SamPrompt,
    grid_to_pixels,
    keyframe_index,
    parse_segmentation_answer,
    prompt_from_answer,
)

__all__ = [
    "BOUNDARY_TOLERANCE",
    "DEFAULT_CONFIG",
    "GRID",
    "BoxMaskPredictor",
    "GridAnswer",
    "ImageSegmentationReport",
    "MaskPrediction",
    "MaskPredictor",
    "MaskSetScores",
    "Sam2MaskPredictor",
    "SamPrompt",
    "VideoMaskScores",
    "VideoSegmentationReport",
    "boundary_f",
    "boundary_map",
    "ciou",
    "decode_rle",
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
