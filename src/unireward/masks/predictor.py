"""Masks from segmentation answers with SAM 2.1 (``pip install 'unireward[sam2]'``).

This module imports without torch or sam2; they are imported when a predictor is built.

How an answer becomes masks (the evaluation protocol of the reference):

1. the answer's box and points are mapped from the 0-1000 grid to pixels
   (:func:`unireward.masks.prompt_from_answer`);
2. the box is added first, then the 3 positive (label 1) and 3 negative (label 0) points
   together with the box, so that the box-only mask is the mask prompt of the second step;
3. for a video, the prompt goes on frame ``round(time * fps)`` (clipped to the video) and
   the mask is propagated forward to the last frame, then backward to the first.

Images go through the video predictor as one-frame videos by default (the reference
evaluation does so); ``use_video_predictor=False`` uses SAM2's image predictor with the
same two steps. Both predictors share one model.

>>> MaskPrediction(np.zeros((2, 3), bool), Status.OK, None).masks.shape
(2, 3)
"""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigurationError, InputError, missing_extra
from ..result import Status
from .prompts import SamPrompt, keyframe_index, parse_segmentation_answer, prompt_from_answer

__all__ = ["DEFAULT_CONFIG", "ImageEmbedding", "MaskPrediction", "Sam2MaskPredictor"]

#: The SAM 2.1 hiera-tiny config (names need the ``configs/sam2.1/`` prefix).
DEFAULT_CONFIG = "configs/sam2.1/sam2.1_hiera_t.yaml"

#: JPEG settings for frames handed to SAM2's video loader (it reads JPEG folders only).
_JPEG = {"quality": 100, "subsampling": 0}


@dataclass(frozen=True)
class MaskPrediction:
    """Masks predicted from one answer.

    Attributes:
        masks: bool ``(H, W)`` for an image, ``(T, H, W)`` for a video. All False when the
            answer could not be used.
        status: :attr:`Status.OK`, or why the answer could not be used (SAM2 then did not run).
        reason: a short explanation when ``status`` is not OK.
        keyframe: the prompt frame (videos and images run as one-frame videos).
        frames_done: the frame indices in the order SAM2 produced them (forward from the
            key frame, then backward; the key frame shows up in both passes).
    """

    masks: np.ndarray
    status: Status
    reason: str | None
    keyframe: int | None = None
    frames_done: tuple[int, ...] = field(default=())


@dataclass(frozen=True)
class ImageEmbedding:
    """SAM2's embedding of one image (what the prompt decoder needs), on the model's device.

    Attributes:
        features: ``{"image_embed": tensor, "high_res_feats": [tensor, tensor]}``.
        hw: the image's ``(height, width)``.
    """

    features: dict[str, Any]
    hw: tuple[int, int]

    @property
    def nbytes(self) -> int:
        """Bytes held by the tensors."""
        t = [self.features["image_embed"], *self.features["high_res_feats"]]
        return int(sum(x.numel() * x.element_size() for x in t))


def _torch() -> Any:
    try:
        import sam2  # noqa: F401  (initialises Hydra's config search path)
        import torch
    except ImportError as exc:
        raise missing_extra("sam2", "sam2") from exc
    return torch


def _check_image(image: Any) -> np.ndarray:
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise InputError(f"an image must have shape (H, W, 3), got shape {a.shape}")
    if a.dtype != np.uint8:
        raise InputError(f"an image must be uint8 RGB, got dtype {a.dtype}")
    return a


def _jpeg_frames(folder: Path) -> list[Path]:
    """The frames SAM2 reads from a folder: ``<int>.jpg`` (or .jpeg), in numeric order."""
    frames = [p for p in folder.iterdir() if p.suffix in (".jpg", ".jpeg", ".JPG", ".JPEG")]
    if not frames:
        raise InputError(f"no JPEG frames in {folder}")
    try:
        return sorted(frames, key=lambda p: int(p.stem))
    except ValueError as exc:
        raise InputError(f"frames in {folder} must be named <frame number>.jpg: {exc}") from exc


@contextlib.contextmanager
def _frame_folder(video: Any) -> Iterator[tuple[str, int]]:
    """A JPEG folder for SAM2's loader and the number of frames: a given folder as is, or
    ``(T, H, W, 3)`` uint8 frames written to a temporary folder."""
    if isinstance(video, (str, os.PathLike)):
        folder = Path(video)
        if not folder.is_dir():
            raise InputError(f"not a folder of JPEG frames: {folder}")
        yield str(folder), len(_jpeg_frames(folder))
        return
    frames = np.asarray(video)
    if frames.ndim != 4 or frames.shape[3] != 3 or min(frames.shape[:3]) < 1:
        raise InputError(f"video frames must have shape (T, H, W, 3), got shape {frames.shape}")
    if frames.dtype != np.uint8:
        raise InputError(f"video frames must be uint8 RGB, got dtype {frames.dtype}")
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="unireward-sam2-") as tmp:
        for i, frame in enumerate(frames):
            Image.fromarray(frame).save(os.path.join(tmp, f"{i:05d}.jpg"), "JPEG",
                                        quality=_JPEG["quality"], subsampling=_JPEG["subsampling"])
        yield tmp, len(frames)


class Sam2MaskPredictor:
    """SAM 2.1 masks from segmentation answers, for images and videos.

    Args:
        config: a SAM2 config name, e.g. ``"configs/sam2.1/sam2.1_hiera_t.yaml"``.
        checkpoint: a local checkpoint file (nothing is downloaded).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ... or ``"auto"`` (CUDA when available).
        allow_random_init: build a randomly initialised model when ``checkpoint`` is None
            (for tests only: its masks mean nothing).
        bf16: run under bfloat16 autocast on CUDA (ignored on CPU).
        offload_video_to_cpu: keep the video frames in CPU memory (long videos on a GPU).
        offload_state_to_cpu: keep SAM2's tracking state in CPU memory.
        hydra_overrides: extra Hydra overrides of the config, e.g.
            ``["++model.image_size=256"]`` (a smaller input size: faster, coarser masks).

    Raises:
        unireward.errors.ConfigurationError: no checkpoint (and no ``allow_random_init``),
            a checkpoint file that does not exist or does not load, an unknown config, or
            CUDA asked for but not available.
        unireward.errors.MissingExtraError: torch or sam2 is not installed.

    A predictor runs one call at a time; use one per thread.
    """

    #: This predictor looks at the pixels (evaluation helpers must pass the images).
    needs_pixels = True

    def __init__(
        self,
        config: str = DEFAULT_CONFIG,
        checkpoint: str | os.PathLike[str] | None = None,
        *,
        device: str = "auto",
        allow_random_init: bool = False,
        bf16: bool = False,
        offload_video_to_cpu: bool = False,
        offload_state_to_cpu: bool = False,
        hydra_overrides: Sequence[str] = (),
    ) -> None:
        if checkpoint is None and not allow_random_init:
            raise ConfigurationError(
                "Sam2MaskPredictor needs checkpoint= (a local SAM 2.1 checkpoint file); "
                "allow_random_init=True builds an untrained model, for tests only"
            )
        if checkpoint is not None and not Path(checkpoint).is_file():
            raise ConfigurationError(f"SAM2 checkpoint not found: {os.fspath(checkpoint)}")
        torch = _torch()
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if str(device).startswith("cuda") and not torch.cuda.is_available():
            raise ConfigurationError(f"device={device!r} but CUDA is not available")
        from hydra.errors import HydraException
        from sam2.build_sam import build_sam2_video_predictor
        from sam2.sam2_image_predictor import SAM2ImagePredictor

        ckpt = None if checkpoint is None else os.fspath(checkpoint)
        try:
            model = build_sam2_video_predictor(
                config, ckpt_path=ckpt, device=device, hydra_overrides_extra=list(hydra_overrides)
            )
        except HydraException as exc:
            raise ConfigurationError(f"cannot build SAM2 from config {config!r}: {exc}") from exc
        except (
            pickle.UnpicklingError,
            EOFError,
            RuntimeError,
            KeyError,
            OSError,
            ValueError,
        ) as exc:
            if ckpt is None:
                raise
            raise ConfigurationError(f"cannot load SAM2 checkpoint {ckpt!r}: {exc!r}") from exc
        self.config = config
        self.checkpoint = ckpt
        self.device = str(device)
        self.bf16 = bool(bf16)
        self.offload_video_to_cpu = bool(offload_video_to_cpu)
        self.offload_state_to_cpu = bool(offload_state_to_cpu)
        self.video_predictor = model
        self.image_predictor = SAM2ImagePredictor(model)  # same weights, SAM2's image path
        # the image predictor assumes the 1024-pixel input; follow the config's size
        size = int(model.image_size)
        self.image_predictor._bb_feat_sizes = [
            (size // 4, size // 4),
            (size // 8, size // 8),
            (size // 16, size // 16),
        ]

    def __repr__(self) -> str:
        return (f"Sam2MaskPredictor(config={self.config!r}, checkpoint={self.checkpoint!r}, "
                f"device={self.device!r})")

    def _context(self) -> contextlib.ExitStack:
        torch = _torch()
        stack = contextlib.ExitStack()
        stack.enter_context(torch.inference_mode())
        if self.bf16 and self.device.startswith("cuda"):
            stack.enter_context(torch.autocast("cuda", dtype=torch.bfloat16))
        return stack

    # -- prompts already in pixels ---------------------------------------------------

    def image_masks(self, image: np.ndarray, prompt: SamPrompt) -> np.ndarray:
        """A bool ``(H, W)`` mask from SAM2's image predictor: the box alone first, then
        the points with the box and the first mask as mask prompt."""
        return self.decode(self.embed_image(image), [prompt])[0]

    def embed_image(self, image: np.ndarray) -> ImageEmbedding:
        """SAM2's image embedding of one ``(H, W, 3)`` uint8 image (the encoder pass)."""
        img = _check_image(image)
        p = self.image_predictor
        with self._context():
            p.set_image(img)
            emb = ImageEmbedding(p._features, (int(img.shape[0]), int(img.shape[1])))
            p.reset_predictor()
        return emb

    def decode(self, embedding: ImageEmbedding, prompts: Sequence[SamPrompt]) -> np.ndarray:
        """Bool ``(N, H, W)`` masks of N prompts on one embedded image, in two batched
        decoder calls: the boxes alone, then the points with the boxes and the first
        call's low-resolution logits as mask prompts."""
        n = len(prompts)
        h, w = embedding.hw
        if n == 0:
            return np.zeros((0, h, w), dtype=bool)
        p = self.image_predictor
        boxes = np.stack([q.box for q in prompts])
        points = np.stack([q.points for q in prompts])
        labels = np.stack([q.labels for q in prompts])
        with self._context():
            # the predictor's own state, as set_image leaves it, from the cached embedding
            p._features, p._orig_hw, p._is_image_set, p._is_batch = (
                embedding.features,
                [embedding.hw],
                True,
                False,
            )
            try:
                _, _, low = p.predict(box=boxes, multimask_output=False)
                low = low.reshape(n, 1, *low.shape[-2:])
                masks, _, _ = p.predict(
                    point_coords=points, point_labels=labels, box=boxes, mask_input=low,
                    multimask_output=False,
                )
            finally:
                p.reset_predictor()
        return np.asarray(masks).reshape(n, h, w) > 0

    def video_masks(
        self, video: Any, prompt_for: Any, keyframe_for: Any
    ) -> tuple[np.ndarray, int, tuple[int, ...]]:
        """Bool ``(T, H, W)`` masks by two-way propagation from a key frame.

        Args:
            video: ``(T, H, W, 3)`` uint8 frames, or a folder of ``<int>.jpg`` frames.
            prompt_for: ``(width, height) -> SamPrompt``.
            keyframe_for: ``n_frames -> int``.

        Returns:
            The masks, the key frame and the frame indices in the order produced.
        """
        with self.video_state(video) as state:
            n, h, w = state["num_frames"], state["video_height"], state["video_width"]
            k = int(keyframe_for(n))
            masks, done = self.track(state, k, [prompt_for(w, h)])
        return masks[0], k, done

    @contextlib.contextmanager
    def video_state(self, video: Any) -> Iterator[dict[str, Any]]:
        """SAM2's inference state of a video (frames loaded once; reuse it for several
        :meth:`track` calls)."""
        v = self.video_predictor
        with _frame_folder(video) as (folder, _n), self._context():
            state = v.init_state(
                video_path=folder,
                offload_video_to_cpu=self.offload_video_to_cpu,
                offload_state_to_cpu=self.offload_state_to_cpu,
            )
            try:
                yield state
            finally:
                v.reset_state(state)

    def track(
        self, state: dict[str, Any], keyframe: int, prompts: Sequence[SamPrompt]
    ) -> tuple[np.ndarray, tuple[int, ...]]:
        """Masks of several objects prompted on one key frame, bool ``(N, T, H, W)``.

        Each prompt is one object (SAM2 tracks objects independently): the box first,
        then the points with the box; then forward propagation to the last frame and
        backward to the first. The state is reset first, so it can be reused.

        Returns:
            The masks and the frame indices in the order produced.
        """
        v = self.video_predictor
        n, h, w = state["num_frames"], state["video_height"], state["video_width"]
        out = np.zeros((len(prompts), n, h, w), dtype=bool)
        done: list[int] = []
        with self._context():
            v.reset_state(state)
            for obj, prompt in enumerate(prompts, start=1):
                v.add_new_points_or_box(state, frame_idx=keyframe, obj_id=obj, box=prompt.box)
                v.add_new_points_or_box(
                    state, frame_idx=keyframe, obj_id=obj, points=prompt.points,
                    labels=prompt.labels, box=prompt.box,
                )
            for reverse in (False, True):
                for idx, _ids, logits in v.propagate_in_video(
                    state, start_frame_idx=keyframe, reverse=reverse
                ):
                    out[:, idx] = (logits[:, 0] > 0).cpu().numpy()
                    done.append(int(idx))
        return out, tuple(done)

    # -- answers ---------------------------------------------------------------------

    def predict_image(
        self,
        image: np.ndarray,
        answer: Mapping[str, Any] | str,
        *,
        use_video_predictor: bool = True,
        raise_on_error: bool = False,
    ) -> MaskPrediction:
        """The mask of one ``(H, W, 3)`` uint8 image from a segmentation answer.

        Args:
            image: the RGB image.
            answer: the answer (dict, JSON text, or a completion with answer tags).
            use_video_predictor: run the image as a one-frame video (the reference
                protocol); False uses SAM2's image predictor.
            raise_on_error: raise :class:`~unireward.errors.InputError` for an unusable
                answer instead of returning an empty mask with a status.
        """
        img = _check_image(image)
        g, status, reason = parse_segmentation_answer(answer)
        if g is None:
            if raise_on_error:
                raise InputError(f"unusable segmentation answer: {reason}")
            return MaskPrediction(np.zeros(img.shape[:2], dtype=bool), status, reason)
        if not use_video_predictor:
            mask = self.image_masks(img, prompt_from_answer(g, img.shape[1], img.shape[0]))
            return MaskPrediction(mask, Status.OK, None)
        masks, k, done = self.video_masks(
            img[None], lambda w, h: prompt_from_answer(g, w, h), lambda n: 0
        )
        return MaskPrediction(masks[0], Status.OK, None, k, done)

    def predict_video(
        self,
        video: Any,
        answer: Mapping[str, Any] | str,
        *,
        fps: float,
        raise_on_error: bool = False,
    ) -> MaskPrediction:
        """Masks of every frame of a video from a segmentation answer with ``time``.

        Args:
            video: ``(T, H, W, 3)`` uint8 frames, or a folder of ``<int>.jpg`` frames (as
                SAM2's loader wants them).
            answer: the answer, with ``"time"`` in seconds.
            fps: frames per second of ``video`` (the key frame is ``round(time * fps)``).
            raise_on_error: raise for an unusable answer instead of returning empty masks.
        """
        g, status, reason = parse_segmentation_answer(answer, video=True)
        keyframe_index(0.0, fps, 1)  # checks fps before any work
        if g is None:
            if raise_on_error:
                raise InputError(f"unusable segmentation answer: {reason}")
            return MaskPrediction(self._empty_video(video), status, reason)
        t = float(g.time if g.time is not None else 0.0)
        masks, k, done = self.video_masks(
            video, lambda w, h: prompt_from_answer(g, w, h), lambda n: keyframe_index(t, fps, n)
        )
        return MaskPrediction(masks, Status.OK, None, k, done)

    @staticmethod
    def _empty_video(video: Any) -> np.ndarray:
        if isinstance(video, (str, os.PathLike)):
            frames = _jpeg_frames(Path(video))
            from PIL import Image

            with Image.open(frames[0]) as im:
                w, h = im.size
            return np.zeros((len(frames), h, w), dtype=bool)
        a = np.asarray(video)
        if a.ndim != 4:
            raise InputError(f"video frames must have shape (T, H, W, 3), got shape {a.shape}")
        return np.zeros(a.shape[:3], dtype=bool)
