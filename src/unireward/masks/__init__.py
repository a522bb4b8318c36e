"""Segmentation evaluation: SAM2 masks from segmentation answers, and mask metrics.

The predictor needs ``unireward[sam2]`` (imported lazily); the metrics are pure numpy.
"""

from __future__ import annotations

from .metrics import boundary_f, ciou, decode_rle, giou, j_and_f, mask_iou
from .prompts import SamPrompt, keyframe_index, prompt_from_answer

__all__ = [
    "Sam2MaskPredictor",
    "SamPrompt",
    "boundary_f",
    "ciou",
    "decode_rle",
    "giou",
    "j_and_f",
    "keyframe_index",
    "mask_iou",
    "prompt_from_answer",
]


def __getattr__(name: str):  # the predictor imports torch: load it on first use
    if name == "Sam2MaskPredictor":
        from .sam2 import Sam2MaskPredictor

        return Sam2MaskPredictor
    raise AttributeError(name)
