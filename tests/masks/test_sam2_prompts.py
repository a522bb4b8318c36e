"""The prompts handed to the real SAM2 predictors are the reference's (reward-spec.md
section 6): grid coordinates to pixels (``x * W / 1000``, ``y * H / 1000``, rounded,
clipped), the box re-ordered and added first, then the points (positive 1, negative 0) with
the box; for a video the prompt frame is ``round(time * fps)`` and the masks are propagated
forward, then backward.

The methods of the real predictor objects are wrapped: each call is recorded (arguments
bound to the real signature, defaults included) and then runs the real method, so SAM2
behaves exactly as it does without the recorder. The frame is 64 x 48 (W != H), so a swap
of x and y changes every number below.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import numpy as np
import pytest

from ._sam2_helpers import require  # noqa: E402

require("sam2")
torch = require("torch")

from unireward.masks import Sam2MaskPredictor  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:cannot import name '_C':UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]

H, W = 48, 64
ANSWER = {
    "boxes": [200, 150, 750, 800],
    "positive_points": [[400, 400], [450, 500], [500, 450]],
    "negative_points": [[50, 50], [950, 950], [50, 950]],
    "time": 0.5,
}
# the same box given corner-swapped: the prompt re-orders it
ANSWER_SWAPPED_BOX = dict(ANSWER, boxes=[750, 800, 200, 150])

# round(x * 64 / 1000) and round(y * 48 / 1000), clipped to the frame:
#   box x 200 -> 12.8 -> 13, 750 -> 48.0 -> 48; y 150 -> 7.2 -> 7, 800 -> 38.4 -> 38
BOX = [13.0, 7.0, 48.0, 38.0]
#   positive (400, 400) -> (25.6, 19.2); (450, 500) -> (28.8, 24.0); (500, 450) -> (32.0, 21.6)
#   negative (50, 50) -> (3.2, 2.4); (950, 950) -> (60.8, 45.6); (50, 950) -> (3.2, 45.6)
POINTS = [[26.0, 19.0], [29.0, 24.0], [32.0, 22.0], [3.0, 2.0], [61.0, 46.0], [3.0, 46.0]]
LABELS = [1, 1, 1, 0, 0, 0]


def frames(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    out = rng.integers(0, 60, (n, H, W, 3), dtype=np.uint8)
    out[:, 10:35, 15:45] = 220
    return out


def _snapshot(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, dict):  # SAM2's inference state: not compared, too big to copy
        return "<state>"
    return copy.deepcopy(value)


class Recorder:
    """Wraps methods of one real object; records ``(name, bound arguments, result)``."""

    def __init__(self, obj: Any, names: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[list[Any]] = []  # [name, bound arguments, result], in call order
        for name in names:
            real = getattr(obj, name)
            monkeypatch.setattr(obj, name, self._wrap(name, real))

    def _wrap(self, name: str, real: Any) -> Any:
        sig = inspect.signature(real)

        def spy(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            call = [name, {k: _snapshot(v) for k, v in bound.arguments.items()}, None]
            self.calls.append(call)  # before the real call: nested calls come after it
            call[2] = real(*args, **kwargs)
            return call[2]

        return spy

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]

    def of(self, name: str) -> list[dict[str, Any]]:
        return [c[1] for c in self.calls if c[0] == name]


def as_list(x: Any) -> Any:
    return None if x is None else np.asarray(x).tolist()


@pytest.fixture(scope="module")
def predictor() -> Sam2MaskPredictor:
    torch.manual_seed(0)
    return Sam2MaskPredictor(allow_random_init=True, device="cpu")


def check_video_prompts(rec: Recorder, keyframe: int) -> None:
    adds = rec.of("add_new_points_or_box")
    assert len(adds) == 2
    first, second = adds
    # 1. the box alone
    assert (first["frame_idx"], first["obj_id"]) == (keyframe, 1)
    assert first["points"] is None and first["labels"] is None
    assert as_list(first["box"]) == BOX
    # 2. the points with their labels, and the box again
    assert (second["frame_idx"], second["obj_id"]) == (keyframe, 1)
    assert as_list(second["points"]) == POINTS
    assert as_list(second["labels"]) == LABELS
    assert as_list(second["box"]) == BOX
    for call in adds:  # pixel coordinates, normalised by SAM2 itself; one fresh prompt set
        assert call["normalize_coords"] is True and call["clear_old_points"] is True
    # 3. forward from the key frame, then backward
    props = rec.of("propagate_in_video")
    assert [(p["start_frame_idx"], p["reverse"], p["max_frame_num_to_track"]) for p in props] == [
        (keyframe, False, None), (keyframe, True, None)]
    # the state is reset before prompting (a state may be reused for several objects) and after
    assert rec.names() == [
        "init_state",
        "reset_state",
        "add_new_points_or_box",
        "add_new_points_or_box",
        "propagate_in_video",
        "propagate_in_video",
        "reset_state",
    ]


VIDEO_METHODS = ["init_state", "add_new_points_or_box", "propagate_in_video", "reset_state"]


def test_video_prompts(predictor: Sam2MaskPredictor, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder(predictor.video_predictor, VIDEO_METHODS, monkeypatch)
    # key frame round(0.7 * 2) = round(1.4) = 1 (a key frame that is neither end of the video)
    p = predictor.predict_video(frames(3), dict(ANSWER, time=0.7), fps=2.0)
    check_video_prompts(rec, keyframe=1)
    assert p.keyframe == 1 and p.frames_done == (1, 2, 1, 0)
    assert rec.of("init_state")[0]["offload_video_to_cpu"] is False


def test_image_as_a_one_frame_video(
    predictor: Sam2MaskPredictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = Recorder(predictor.video_predictor, VIDEO_METHODS, monkeypatch)
    p = predictor.predict_image(frames(1)[0], ANSWER_SWAPPED_BOX)
    check_video_prompts(rec, keyframe=0)
    assert p.frames_done == (0,)


def test_image_predictor_prompts(
    predictor: Sam2MaskPredictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = frames(1)[0]
    plain = predictor.predict_image(image, ANSWER, use_video_predictor=False).masks
    rec = Recorder(
        predictor.image_predictor, ["set_image", "predict", "reset_predictor"], monkeypatch
    )
    spied = predictor.predict_image(image, ANSWER_SWAPPED_BOX, use_video_predictor=False).masks
    # the recorder keeps SAM2's behaviour (and the corner-swapped box is the same prompt)
    np.testing.assert_array_equal(plain, spied)
    names = rec.names()
    assert names[0] == "set_image" and names[-1] == "reset_predictor"
    assert [n for n in names if n != "reset_predictor"] == ["set_image", "predict", "predict"]
    np.testing.assert_array_equal(rec.of("set_image")[0]["image"], image)
    box_only, with_points = rec.of("predict")  # batched decoder calls: one prompt set here
    assert as_list(box_only["box"]) == [BOX]
    assert box_only["point_coords"] is None and box_only["point_labels"] is None
    assert box_only["mask_input"] is None and box_only["multimask_output"] is False
    assert as_list(with_points["point_coords"]) == [POINTS]
    assert as_list(with_points["point_labels"]) == [LABELS]
    assert as_list(with_points["box"]) == [BOX]
    assert with_points["multimask_output"] is False
    # the box-only step's low-resolution mask is the mask prompt of the second step
    low_res = next(c[2][2] for c in rec.calls if c[0] == "predict")
    np.testing.assert_array_equal(
        with_points["mask_input"], low_res.reshape(1, *low_res.shape)
    )  # (N, 1, h, w)
    for call in (box_only, with_points):
        assert call["normalize_coords"] is True and call["return_logits"] is False
