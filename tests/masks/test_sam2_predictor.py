"""A real, randomly initialised SAM 2.1 (hiera tiny, no checkpoint) on tiny synthetic
images and videos. Its masks mean nothing; shapes, dtypes, the key frame and the
propagation order do. Each image costs a few seconds of CPU: keep these tests few."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ._sam2_helpers import require  # noqa: E402

require("sam2")
torch = require("torch")

from unireward.errors import ConfigurationError, InputError  # noqa: E402
from unireward.masks import (  # noqa: E402
    Sam2MaskPredictor,
    evaluate_image_segmentation,
    evaluate_video_segmentation,
    mask_iou,
)
from unireward.result import Status  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore:cannot import name '_C':UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]

ANSWER = {
    "boxes": [200, 150, 750, 800],
    "positive_points": [[400, 400], [450, 500], [500, 450]],
    "negative_points": [[50, 50], [950, 950], [50, 950]],
    "time": 0.5,
}
H, W = 48, 64


def frames(n: int, seed: int = 0) -> np.ndarray:
    """A bright rectangle on a noisy background, moving one pixel per frame."""
    rng = np.random.default_rng(seed)
    out = rng.integers(0, 60, (n, H, W, 3), dtype=np.uint8)
    for i in range(n):
        out[i, 10:35, 15 + i : 45 + i] = 220
    return out


@pytest.fixture(scope="module")
def predictor() -> Sam2MaskPredictor:
    torch.manual_seed(0)
    return Sam2MaskPredictor(allow_random_init=True, device="cpu")


def test_bad_config_and_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="config"):
        Sam2MaskPredictor("configs/sam2.1/no_such_model.yaml", allow_random_init=True, device="cpu")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint" * 10)
    with pytest.raises(ConfigurationError, match="cannot load SAM2 checkpoint"):
        Sam2MaskPredictor(checkpoint=junk, device="cpu")


@pytest.mark.integration
@pytest.mark.slow
def test_image_predictor(predictor: Sam2MaskPredictor) -> None:
    p = predictor.predict_image(frames(1)[0], ANSWER, use_video_predictor=False)
    assert p.status is Status.OK and p.reason is None
    assert p.masks.shape == (H, W) and p.masks.dtype == bool


@pytest.mark.integration
@pytest.mark.slow
def test_video_two_way_propagation(predictor: Sam2MaskPredictor) -> None:
    video = frames(3)
    p = predictor.predict_video(video, ANSWER, fps=2.0)  # key frame round(0.5 * 2) = 1
    assert p.status is Status.OK
    assert p.masks.shape == (3, H, W) and p.masks.dtype == bool
    assert p.keyframe == 1
    # forward from the key frame to the end, then backward to the start
    assert p.frames_done == (1, 2, 1, 0)
    assert set(p.frames_done) == set(range(3))


@pytest.mark.integration
@pytest.mark.slow
def test_image_as_one_frame_video_and_evaluation(
    predictor: Sam2MaskPredictor, tmp_path: Path
) -> None:
    image = frames(1, seed=1)[0]
    truth = np.zeros((H, W), bool)
    truth[10:35, 15:45] = True
    r = evaluate_image_segmentation([ANSWER, "<answer>not json</answer>"], [truth, truth],
                                    predictor=predictor, images=[image, image])
    assert r.statuses == (Status.OK, Status.MALFORMED_JSON)
    assert 0.0 <= r.ious[0] <= 1.0 and r.ious[1] == 0.0  # an unusable answer: empty mask
    assert r.n_unusable == 1
    # the same image again, directly: a one-frame video prompted on frame 0, nothing to propagate
    p = predictor.predict_image(image, ANSWER)
    assert p.masks.shape == (H, W) and p.keyframe == 0 and p.frames_done == (0,)
    assert float(mask_iou(p.masks, truth)) == pytest.approx(r.ious[0])  # deterministic
    # a video answer without a usable time: no SAM2 run, empty masks of the video's shape
    bad = predictor.predict_video(
        frames(2), {k: v for k, v in ANSWER.items() if k != "time"}, fps=1.0
    )
    assert (
        bad.status is Status.SCHEMA_ERROR and bad.masks.shape == (2, H, W) and not bad.masks.any()
    )
    with pytest.raises(InputError, match="unusable segmentation answer: time"):
        predictor.predict_video(
            frames(2),
            {k: v for k, v in ANSWER.items() if k != "time"},
            fps=1.0,
            raise_on_error=True,
        )
    with pytest.raises(InputError, match=r"\(H, W, 3\)"):
        predictor.predict_image(np.zeros((H, W), np.uint8), ANSWER)


@pytest.mark.integration
@pytest.mark.slow
def test_video_from_a_jpeg_folder(predictor: Sam2MaskPredictor, tmp_path: Path) -> None:
    from PIL import Image

    Image.fromarray(frames(1)[0]).save(tmp_path / "0.jpg")
    truth = np.zeros((1, H, W), bool)
    r = evaluate_video_segmentation([dict(ANSWER, time=99.0)], [truth], predictor=predictor,
                                    fps=1.0, videos=[str(tmp_path)])
    assert r.keyframes == (0,)  # round(99 * 1) clipped to the only frame
    assert r.statuses == (Status.OK,) and 0.0 <= r.j_and_f <= 1.0


@pytest.mark.gpu
@pytest.mark.integration
@pytest.mark.slow
def test_cuda_predictor() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    torch.manual_seed(0)
    p = Sam2MaskPredictor(allow_random_init=True, device="cuda", bf16=True)
    v = p.predict_video(frames(3), ANSWER, fps=2.0)
    assert v.masks.shape == (3, H, W) and v.masks.dtype == bool and v.frames_done == (1, 2, 1, 0)
    assert p.predict_image(frames(1)[0], ANSWER, use_video_predictor=False).masks.shape == (H, W)
