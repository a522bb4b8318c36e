"""True masks and the pixels they belong to, as a mask-reward ground truth carries them.

A mask-reward ground truth is a JSON object (or a dict) with the true mask and a way to
find the image or video:

* ``"mask"`` (an image): a COCO RLE ``{"size": [h, w], "counts": ...}``, a list of
  polygons in pixels ``[[x1, y1, x2, y2, ...], ...]`` (COCO's ``segmentation`` field), a
  path to a PNG (non-zero pixels are the object; with ``"object_id": k`` only the pixels
  equal to ``k``, as in DAVIS's palette PNGs), or an array.
* ``"masks"`` (a video): one of the above per frame.
* ``"image"`` / ``"video"``: an ``(H, W, 3)`` / ``(T, H, W, 3)`` uint8 array, a path (an
  image file; a folder of ``<frame number>.jpg`` frames or a list of frame files), or left
  out and found by ``"image_id"`` / ``"video_id"`` through a resolver callable.
* ``"fps"`` (a video): the frame rate, for the key frame ``round(time * fps)``.
* the usual segmentation fields (``boxes``, ``positive_points``, ``negative_points``,
  ``time``): needed when the point-kernel terms are mixed in.

Relative paths are taken from a media root. Everything here is pure NumPy, PIL and
pycocotools (polygons and RLEs).

>>> t = decode_true_mask([[0, 0, 3, 0, 3, 2, 0, 2]], size=(4, 5))
>>> t.astype(int).tolist()
[[1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import GroundTruthError
from ..geometry.masks import as_mask, decode_rle

__all__ = [
    "MaskTruth",
    "MediaRef",
    "decode_true_mask",
    "load_image",
    "load_video",
    "media_key",
    "media_ref",
    "media_shape",
    "prepare_mask_truth",
]

#: A resolver: an image or video id -> an array, a path, or a list of frame paths.
Resolver = Callable[[str], Any]


def _path(value: str | os.PathLike[str], root: str | os.PathLike[str] | None) -> Path:
    p = Path(os.fspath(value)).expanduser()
    if not p.is_absolute() and root is not None:
        p = Path(os.fspath(root)) / p
    return p


def _png(path: Path, object_id: int | None, what: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            mode = im.mode
            a = np.asarray(im)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise GroundTruthError(
            f"{what}: cannot read mask image {os.fspath(path)!r}: {exc}"
        ) from exc
    if a.ndim == 3:  # RGB(A): the object is where any colour channel is set (alpha ignored)
        a = np.asarray(a[..., :3].any(axis=-1) if object_id is None else a[..., 0])
        if object_id is not None and mode not in ("P", "L", "I", "I;16"):
            raise GroundTruthError(
                f"{what}: object_id needs a palette or grey-level PNG, got mode {mode}"
            )
    if object_id is None:
        return np.asarray(a) != 0
    return np.asarray(a) == object_id


def _polygons(value: Sequence[Any], size: tuple[int, int] | None, what: str) -> np.ndarray:
    if size is None:
        raise GroundTruthError(
            f"{what}: polygons need the image size (give 'size': [h, w] or the image)"
        )
    h, w = size
    polys: list[list[float]] = []
    for k, poly in enumerate(value):
        if not isinstance(poly, (list, tuple)) or len(poly) < 6 or len(poly) % 2:
            raise GroundTruthError(
                f"{what}: polygon {k} must be a flat list of at least 3 (x, y) pairs in pixels"
            )
        coords = []
        for v in poly:
            if type(v) not in (int, float) or not math.isfinite(v):
                raise GroundTruthError(
                    f"{what}: polygon {k} has a coordinate that is not a finite number: {v!r}"
                )
            coords.append(float(v))
        polys.append(coords)
    if not polys:
        return np.zeros((h, w), dtype=bool)
    try:
        from pycocotools import mask as mask_utils
    except ImportError as exc:
        from ..errors import missing_extra

        raise missing_extra("pycocotools", "masks") from exc
    rles = mask_utils.frPyObjects(polys, h, w)
    return np.asarray(mask_utils.decode(mask_utils.merge(rles)), dtype=bool).reshape(h, w)


def _is_polygon_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(p, (list, tuple)) for p in value)


def decode_true_mask(
    value: Any,
    *,
    size: tuple[int, int] | None = None,
    root: str | os.PathLike[str] | None = None,
    object_id: int | None = None,
    what: str = "mask",
) -> np.ndarray:
    """One true ``(H, W)`` bool mask from an RLE, polygons, a PNG path or an array.

    Args:
        value: the mask as a ground truth gives it (see the module docstring).
        size: ``(height, width)`` of the image (polygons need it; the others are checked
            against it when given).
        root: the folder relative PNG paths are taken from.
        object_id: with a PNG, the pixel value of the object (else any non-zero pixel).
        what: how to name the mask in error messages.

    Raises:
        unireward.errors.GroundTruthError: a mask that does not decode, or whose size is
            not ``size``.

    >>> decode_true_mask({"size": [1, 3], "counts": [1, 2]}).tolist()
    [[False, True, True]]
    >>> decode_true_mask({"size": [1, 3], "counts": [1, 2]}, size=(2, 3))
    Traceback (most recent call last):
    ...
    unireward.errors.GroundTruthError: mask: has shape (1, 3) but the image is (2, 3)
    """
    if isinstance(value, Mapping):
        try:
            m = decode_rle(value)
        except ValueError as exc:
            raise GroundTruthError(f"{what}: {exc}") from exc
    elif isinstance(value, (str, os.PathLike)):
        m = _png(_path(value, root), object_id, what)
    elif isinstance(value, np.ndarray):
        try:
            m = as_mask(value, what, ndim=2)
        except ValueError as exc:
            raise GroundTruthError(str(exc)) from exc
    elif _is_polygon_list(value):
        m = _polygons(value, size, what)
    else:
        raise GroundTruthError(
            f"{what}: expected a COCO RLE, a list of polygons, a PNG path or an array, "
            f"got {type(value).__name__}"
        )
    if size is not None and m.shape != tuple(size):
        raise GroundTruthError(f"{what}: has shape {m.shape} but the image is {tuple(size)}")
    return m


def _rgb(a: Any, what: str, ndim: int) -> np.ndarray:
    arr = np.asarray(a)
    want = "(H, W, 3)" if ndim == 3 else "(T, H, W, 3)"
    if arr.ndim != ndim or arr.shape[-1] != 3 or min(arr.shape) < 1:
        raise GroundTruthError(f"{what} must have shape {want}, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        raise GroundTruthError(f"{what} must be uint8 RGB, got dtype {arr.dtype}")
    return arr


def _read_rgb(path: Path, what: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise GroundTruthError(f"{what}: cannot read image {os.fspath(path)!r}: {exc}") from exc


def load_image(
    value: Any, root: str | os.PathLike[str] | None = None, what: str = "image"
) -> np.ndarray:
    """An ``(H, W, 3)`` uint8 RGB image from an array or an image file.

    >>> load_image(np.zeros((2, 3, 3), np.uint8)).shape
    (2, 3, 3)
    """
    if isinstance(value, (str, os.PathLike)):
        return _read_rgb(_path(value, root), what)
    return _rgb(value, what, 3)


def _frame_files(folder: Path, what: str) -> list[Path]:
    frames = [p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg")]
    try:
        frames.sort(key=lambda p: int(p.stem))
    except ValueError as exc:
        raise GroundTruthError(
            f"{what}: frames in {folder} must be named <frame number>.jpg"
        ) from exc
    if not frames:
        raise GroundTruthError(f"{what}: no JPEG frames in {folder}")
    return frames


def load_video(value: Any, root: str | os.PathLike[str] | None = None, what: str = "video") -> Any:
    """A video as SAM2 takes it: a folder of ``<frame number>.jpg`` frames (returned as a
    :class:`~pathlib.Path`), or ``(T, H, W, 3)`` uint8 frames (from an array or a list of
    frame files).
    """
    if isinstance(value, (str, os.PathLike)):
        p = _path(value, root)
        if not p.is_dir():
            raise GroundTruthError(f"{what}: not a folder of JPEG frames: {os.fspath(p)!r}")
        _frame_files(p, what)
        return p
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(v, (str, os.PathLike)) for v in value)
    ):
        frames = [_read_rgb(_path(v, root), f"{what} frame {i}") for i, v in enumerate(value)]
        if len({f.shape for f in frames}) != 1:
            raise GroundTruthError(f"{what}: frames of different sizes")
        return np.stack(frames)
    return _rgb(value, what, 4)


def media_key(value: Any, root: str | os.PathLike[str] | None = None) -> str:
    """A cache key for an image or video given inline: the resolved path, or a digest of
    the pixels for an array (never ``id()``, which Python reuses).

    >>> media_key(np.zeros((2, 2, 3), np.uint8)) == media_key(np.zeros((2, 2, 3), np.uint8))
    True
    """
    if isinstance(value, (str, os.PathLike)):
        return "path:" + os.fspath(_path(value, root).resolve())
    if isinstance(value, (list, tuple)):
        return "paths:" + "|".join(os.fspath(_path(v, root).resolve()) for v in value)
    a = np.ascontiguousarray(value)
    digest = hashlib.blake2b(a.tobytes(), digest_size=16)
    digest.update(repr((a.shape, a.dtype.str)).encode())
    return "array:" + digest.hexdigest()


@dataclass(frozen=True)
class MediaRef:
    """Where the pixels of one ground truth come from.

    Attributes:
        key: the cache key (the given id, the resolved path, or a digest of the array).
        value: the image/video as given (array or path), or None to ask the resolver.
        by_id: the id handed to the resolver (when ``value`` is None).
    """

    key: str
    value: Any = None
    by_id: str | None = None

    def resolve(self, resolver: Resolver | None, kind: str) -> Any:
        """The image or video as given, or as the resolver returns it for the id."""
        if self.value is not None:
            return self.value
        if resolver is None:
            raise GroundTruthError(
                f"{kind} {self.by_id!r} is given by id only: pass media=<a resolver callable>"
            )
        try:
            value = resolver(str(self.by_id))
        except Exception as exc:
            raise GroundTruthError(
                f"the resolver failed for {kind} {self.by_id!r}: {exc!r}"
            ) from exc
        if value is None:
            raise GroundTruthError(f"the resolver found no {kind} for id {self.by_id!r}")
        return value


def media_shape(value: Any, video: bool, root: str | os.PathLike[str] | None) -> tuple[int, ...]:
    """``(H, W)`` of an image or ``(T, H, W)`` of a video without decoding the pixels
    (image headers only)."""
    from PIL import Image, UnidentifiedImageError

    kind = "video" if video else "image"

    def header(path: Path, what: str) -> tuple[int, int]:
        try:
            with Image.open(path) as im:
                w, h = im.size
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise GroundTruthError(f"{what}: cannot read image {os.fspath(path)!r}: {exc}") from exc
        return h, w

    if not video:
        if isinstance(value, (str, os.PathLike)):
            return header(_path(value, root), kind)
        return _rgb(value, kind, 3).shape[:2]
    if isinstance(value, (str, os.PathLike)):
        p = _path(value, root)
        if not p.is_dir():
            raise GroundTruthError(f"{kind}: not a folder of JPEG frames: {os.fspath(p)!r}")
        frames = _frame_files(p, kind)
        return (len(frames), *header(frames[0], kind))
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(v, (str, os.PathLike)) for v in value)
    ):
        sizes = {header(_path(v, root), f"{kind} frame {i}") for i, v in enumerate(value)}
        if len(sizes) != 1:
            raise GroundTruthError(f"{kind}: frames of different sizes: {sorted(sizes)}")
        return (len(value), *sizes.pop())
    return _rgb(value, kind, 4).shape[:3]


@dataclass(frozen=True)
class MaskTruth:
    """A prepared mask-reward ground truth.

    Attributes:
        key: the media cache key.
        media: the image or video as given or resolved (array, path, frame paths).
        video: whether it is a video.
        mask: the true mask, bool ``(H, W)`` or ``(T, H, W)`` (the media's shape).
        fps: a video's frame rate.
        points: the prepared point-kernel truth (``SegmentationTruth``), or None when the
            ground truth has no box and points.
    """

    key: str
    media: Any
    video: bool
    mask: np.ndarray = field(repr=False)
    fps: float | None
    points: Any


def _size(obj: Mapping[str, Any]) -> tuple[int, int] | None:
    s = obj.get("size")
    if s is None:
        return None
    if (not isinstance(s, (list, tuple)) or len(s) != 2
            or any(type(v) is not int or v < 1 for v in s)):
        raise GroundTruthError(f"field 'size' must be [height, width] in pixels, got {s!r}")
    return (s[0], s[1])


def media_ref(obj: Mapping[str, Any], video: bool, root: str | os.PathLike[str] | None) -> MediaRef:
    """The media reference of a ground truth object (see the module docstring)."""
    kind = "video" if video else "image"
    value = obj.get(kind)
    given_id = obj.get(f"{kind}_id")
    if given_id is not None and not isinstance(given_id, (str, int)):
        raise GroundTruthError(
            f"field '{kind}_id' must be a string or an integer, got {type(given_id).__name__}"
        )
    if value is None and given_id is None:
        raise GroundTruthError(f"a mask ground truth needs '{kind}' or '{kind}_id'")
    if value is not None and not isinstance(value, (str, os.PathLike, np.ndarray, list, tuple)):
        raise GroundTruthError(
            f"field '{kind}' must be a path or an array, got {type(value).__name__}"
        )
    if given_id is not None:
        return MediaRef(f"id:{given_id}", value, str(given_id))
    return MediaRef(media_key(value, root), value, None)


def prepare_mask_truth(
    obj: Mapping[str, Any],
    video: bool,
    points: Any,
    root: str | os.PathLike[str] | None = None,
    resolver: Resolver | None = None,
) -> MaskTruth:
    """Check a mask ground truth object and decode its mask(s) at the media's size.

    The media is resolved (the resolver is called for an id) and its size read from the
    image headers; the pixels themselves are loaded only when SAM2 needs them.

    Raises:
        unireward.errors.GroundTruthError: a missing or malformed field, media that
            cannot be found or read, a mask that does not decode or has the wrong size.
    """
    key = "masks" if video else "mask"
    if key not in obj or obj[key] is None:
        raise GroundTruthError(
            f"a {'video' if video else 'image'} mask ground truth needs field {key!r}"
        )
    spec = obj[key]
    fps = None
    if video:
        if not isinstance(spec, (list, tuple, np.ndarray)):
            raise GroundTruthError("field 'masks' must list one mask per frame")
        raw = obj.get("fps")
        if (
            not isinstance(raw, (int, float))
            or isinstance(raw, bool)
            or not (math.isfinite(raw) and raw > 0)
        ):
            raise GroundTruthError(
                f"a video mask ground truth needs 'fps' (a number > 0), got {raw!r}"
            )
        fps = float(raw)
    oid = obj.get("object_id")
    if oid is not None and type(oid) is not int:
        raise GroundTruthError(f"field 'object_id' must be an integer, got {oid!r}")
    size = _size(obj)
    ref = media_ref(obj, video, root)
    kind = "video" if video else "image"
    media = ref.resolve(resolver, kind)
    shape = media_shape(media, video, root)
    hw = (int(shape[-2]), int(shape[-1]))
    if size is not None and size != hw:
        raise GroundTruthError(f"field 'size' is {list(size)} but the {kind} is {list(hw)}")
    if video:
        specs = list(spec)
        if len(specs) != shape[0]:
            raise GroundTruthError(
                f"masks: {len(specs)} frame masks for a video of {shape[0]} frames"
            )
        mask = np.stack([decode_true_mask(s, size=hw, root=root, object_id=oid, what=f"masks[{i}]")
                         for i, s in enumerate(specs)])
    else:
        mask = decode_true_mask(spec, size=hw, root=root, object_id=oid)
    return MaskTruth(ref.key, media, video, mask, fps, points)
