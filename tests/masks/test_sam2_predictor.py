"""A real, randomly initialised SAM2 (no checkpoint download) on tiny synthetic inputs."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sam2")
torch = pytest.importorskip("torch")

from unireward.errors import ConfigurationError  # noqa: E402
from unireward.masks import Sam2MaskPredictor  # noqa: E402

ANSWER = {"boxes": [200, 200, 700, 700], "positive_points": [[400, 400], [450, 500], [500, 450]],
          "negative_points": [[50, 50], [950, 950], [50, 950]], "time": 0.5}


@pytest.fixture(scope="module")
def predictor() -> Sam2MaskPredictor:
    torch.manual_seed(0)
    return Sam2MaskPredictor(allow_random_init=True, device="cpu")


def test_checkpoint_is_required_unless_random_init_is_asked_for() -> None:
    with pytest.raises(ConfigurationError, match="checkpoint"):
        Sam2MaskPredictor()
    with pytest.raises(ConfigurationError, match="not found"):
        Sam2MaskPredictor(checkpoint="/nonexistent/sam2.pt")


@pytest.mark.integration
@pytest.mark.slow
def test_image_and_video_masks(predictor: Sam2MaskPredictor) -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (64, 96, 3), dtype=np.uint8)
    m = predictor.predict_image(image, ANSWER, use_video_predictor=False)
    assert m.shape == (64, 96) and m.dtype == bool
    frames = rng.integers(0, 255, (3, 64, 96, 3), dtype=np.uint8)
    masks = predictor.predict_video(frames, ANSWER, fps=2.0)  # keyframe round(0.5 * 2) = 1
    assert masks.shape == (3, 64, 96) and masks.dtype == bool
    one = predictor.predict_image(image, ANSWER)  # the video predictor on a 1-frame video
    assert one.shape == (64, 96)


@pytest.mark.gpu
def test_cuda_predictor() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    p = Sam2MaskPredictor(allow_random_init=True, device="cuda")
    frames = np.zeros((2, 64, 64, 3), dtype=np.uint8)
    assert p.predict_video(frames, ANSWER, fps=1.0).shape == (2, 64, 64)
