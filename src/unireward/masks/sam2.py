"""SAM2 mask prediction from segmentation answers (``unireward[sam2]``).

>>> # Sam2MaskPredictor(config="configs/sam2.1/sam2.1_hiera_t.yaml", checkpoint="sam2.1_hiera_tiny.pt")
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np

from ..errors import ConfigurationError, missing_extra
from .prompts import keyframe_index, prompt_from_answer

__all__ = ["Sam2MaskPredictor"]


def _require() -> Any:
    try:
        import sam2  # noqa: F401
        import torch
    except ImportError as exc:
        raise missing_extra("sam2", "sam2") from exc
    return torch


class Sam2MaskPredictor:
    """Masks from segmentation answers with SAM 2.1.

    Args:
        config: a SAM2 config name (``"configs/sam2.1/sam2.1_hiera_t.yaml"``).
        checkpoint: a local checkpoint path. Missing: an error, unless
            ``allow_random_init=True`` (a randomly initialised model, for tests).
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.

    Images are scored with the video predictor as one-frame videos (as in the reference
    evaluation) unless ``predict_image(..., use_video_predictor=False)``.
    """

    def __init__(
        self,
        config: str = "configs/sam2.1/sam2.1_hiera_t.yaml",
        checkpoint: str | None = None,
        *,
        device: str = "auto",
        allow_random_init: bool = False,
    ) -> None:
        torch = _require()
        if checkpoint is None and not allow_random_init:
            raise ConfigurationError(
                "Sam2MaskPredictor needs checkpoint= (a local SAM2 checkpoint file); "
                "pass allow_random_init=True only for tests"
            )
        if checkpoint is not None and not os.path.isfile(checkpoint):
            raise ConfigurationError(f"SAM2 checkpoint not found: {checkpoint}")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        from sam2.build_sam import build_sam2, build_sam2_video_predictor
        from sam2.sam2_image_predictor import SAM2ImagePredictor

        self.device = device
        self.video = build_sam2_video_predictor(config, ckpt_path=checkpoint, device=device)
        self.image = SAM2ImagePredictor(build_sam2(config, ckpt_path=checkpoint, device=device))

    def predict_image(self, image: np.ndarray, answer: dict[str, Any], *, use_video_predictor: bool = True) -> np.ndarray:
        """A bool ``(H, W)`` mask for one ``(H, W, 3)`` uint8 image."""
        img = np.asarray(image)
        if img.ndim != 3 or img.shape[2] != 3:
            raise ConfigurationError(f"image must be (H, W, 3), got {img.shape}")
        if use_video_predictor:
            return self.predict_video(img[None], answer, fps=1.0, keyframe=0)[0]
        prompt = prompt_from_answer(answer, img.shape[1], img.shape[0])
        torch = _require()
        with torch.inference_mode():
            self.image.set_image(img)
            masks, _, _ = self.image.predict(point_coords=prompt.points, point_labels=prompt.labels,
                                             box=prompt.box, multimask_output=False)
        return np.asarray(masks[0]) > 0.5

    def predict_video(self, frames: np.ndarray, answer: dict[str, Any], *, fps: float, keyframe: int | None = None) -> np.ndarray:
        """Bool ``(T, H, W)`` masks for ``(T, H, W, 3)`` uint8 frames: prompt on the keyframe
        (``round(time * fps)``), then propagate forward and backward."""
        torch = _require()
        arr = np.asarray(frames)
        if arr.ndim != 4 or arr.shape[3] != 3:
            raise ConfigurationError(f"frames must be (T, H, W, 3), got {arr.shape}")
        n, h, w = arr.shape[:3]
        if keyframe is None:
            if "time" not in answer:
                raise ConfigurationError("a video answer needs 'time' (seconds) for the keyframe")
            keyframe = keyframe_index(answer["time"], fps, n)
        prompt = prompt_from_answer(answer, w, h)
        from PIL import Image

        out = np.zeros((n, h, w), dtype=bool)
        with tempfile.TemporaryDirectory() as folder:
            for i, frame in enumerate(arr):
                Image.fromarray(frame.astype(np.uint8)).save(os.path.join(folder, f"{i:05d}.jpg"), quality=95)
            with torch.inference_mode():
                state = self.video.init_state(video_path=folder)
                self.video.add_new_points_or_box(state, frame_idx=keyframe, obj_id=1, box=prompt.box)
                self.video.add_new_points_or_box(state, frame_idx=keyframe, obj_id=1, points=prompt.points,
                                                 labels=prompt.labels, box=prompt.box)
                for reverse in (False, True):
                    for idx, _ids, logits in self.video.propagate_in_video(state, start_frame_idx=keyframe, reverse=reverse):
                        out[idx] = (logits[0, 0] > 0.0).cpu().numpy()
                self.video.reset_state(state)
        return out
