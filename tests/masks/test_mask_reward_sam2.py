"""The mask reward with a real, randomly initialised SAM 2.1 hiera-tiny (input size 128 to
keep CPU time modest). Its masks mean nothing; what is checked is the wiring: the prompts
SAM2 receives, how often the encoder runs, that the reward is the IoU / J&F of the masks
SAM2 produced, key frames and propagation directions, and that every truth form agrees.
Calls are recorded by wrappers that call the real SAM2 methods."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ._sam2_helpers import (
    IMAGE_SIZE,
    GeneratorRecorder,
    H,
    Recorder,
    W,
    answer,
    completion,
    frames,
    image,
    rect_mask,
    require,
)

require("sam2")
torch = require("torch")

from unireward import score, score_batch  # noqa: E402
from unireward.errors import GroundTruthError  # noqa: E402
from unireward.geometry.masks import mask_iou, video_mask_scores  # noqa: E402
from unireward.masks import Sam2MaskPredictor, Sam2MaskReward, prompt_from_answer  # noqa: E402
from unireward.result import Status  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:cannot import name '_C':UserWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]

BOXES = [[200 + 15 * j, 150, 750 - 10 * j, 800] for j in range(8)]


def rle(mask: np.ndarray) -> dict:
    from pycocotools import mask as mu

    r = mu.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": list(r["size"]), "counts": r["counts"].decode("ascii")}


@pytest.fixture(scope="module")
def predictor() -> Sam2MaskPredictor:
    torch.manual_seed(0)
    return Sam2MaskPredictor(allow_random_init=True, device="cpu",
                             hydra_overrides=[f"++model.image_size={IMAGE_SIZE}"])


def image_records(truth: dict, answers: list, data_type: str = "image") -> list[dict]:
    return [{"completion": completion(a), "ground_truth": truth, "task": "segmentation",
             "data_type": data_type} for a in answers]


def test_eight_rollouts_one_encoder_pass_batched_decoder_and_recorded_prompts(
    predictor: Sam2MaskPredictor,
) -> None:
    reward = Sam2MaskReward(predictor)
    img, truth_mask = image(), rect_mask()
    truth = {"mask": rle(truth_mask), "image": img}
    answers = [answer(b) for b in BOXES]
    ip = predictor.image_predictor
    with (
        Recorder(ip, "set_image") as enc,
        Recorder(ip, "predict") as dec,
        Recorder(predictor, "decode") as batches,
    ):
        results = score_batch(image_records(truth, answers), extra={"mask_model": reward})
    # one encoder pass for the 8 rollouts, two batched decoder calls of 8 prompts
    assert len(enc.calls) == 1
    assert len(dec.calls) == 2 and len(batches.calls) == 1
    first, second = (kw for _, kw in dec.calls)
    expected = [prompt_from_answer(a, W, H) for a in answers]
    np.testing.assert_array_equal(first["box"], np.stack([p.box for p in expected]))
    np.testing.assert_array_equal(second["box"], np.stack([p.box for p in expected]))
    np.testing.assert_array_equal(second["point_coords"], np.stack([p.points for p in expected]))
    np.testing.assert_array_equal(second["point_labels"], np.stack([p.labels for p in expected]))
    # by hand, the first answer on 64 x 48: x 200 -> 12.8 -> 13, 750 -> 48;
    # y 150 -> 7.2 -> 7, 800 -> 38.4 -> 38
    assert first["box"][0].tolist() == [13.0, 7.0, 48.0, 38.0]
    assert second["point_coords"][0].tolist() == [
        [26, 19],
        [29, 24],
        [32, 22],
        [3, 2],
        [61, 46],
        [3, 46],
    ]
    assert second["point_labels"][0].tolist() == [1, 1, 1, 0, 0, 0]
    # the second call's mask prompt is the first call's low-resolution output
    np.testing.assert_array_equal(
        second["mask_input"], dec.results[0][2].reshape(8, 1, *dec.results[0][2].shape[-2:])
    )
    # the accuracy is the IoU of the masks SAM2 produced, computed by geometry.masks
    masks = batches.results[0]
    assert masks.shape == (8, H, W) and masks.dtype == bool
    for r, m in zip(results, masks, strict=True):
        assert r.status is Status.OK
        assert r.accuracy == float(mask_iou(m, truth_mask)) == r.details["mask_iou"]
        assert r.total == pytest.approx(0.9 * r.accuracy + 0.1 + 0.5)
    # batching changes nothing: one rollout at a time through the plain predictor
    for a, m in zip(answers[:2], masks[:2], strict=True):
        np.testing.assert_array_equal(predictor.image_masks(img, prompt_from_answer(a, W, H)), m)
    s = reward.stats
    assert (s.encoder_passes, s.cache_hits, s.decoder_calls, s.prompts_decoded, s.cached) == (
        1,
        0,
        2,
        8,
        1,
    )
    # the next step's rollouts of the same image: the cached embedding, no encoder pass
    with Recorder(ip, "set_image") as enc2:
        again = score_batch(image_records(truth, answers[:3]), extra={"mask_model": reward})
    assert enc2.calls == [] and reward.stats.cache_hits == 1
    assert [r.accuracy for r in again] == [r.accuracy for r in results[:3]]


def test_unusable_answers_get_no_sam2_call_and_a_status(predictor: Sam2MaskPredictor) -> None:
    reward = Sam2MaskReward(predictor)
    truth = {
        "mask": np.zeros((H, W), bool),
        "image": image(3),
    }  # an empty truth: IoU(empty, empty) would be 1
    bad = ["not json", {"boxes": [1, 2, 3, 4]}, answer([0, 0, float("nan"), 10])]
    with Recorder(predictor, "decode") as dec:
        rs = score_batch(
            image_records(truth, bad)
            + [
                {
                    "completion": "no tags at all",
                    "ground_truth": truth,
                    "task": "segmentation",
                    "data_type": "image",
                }
            ],
            extra={"mask_model": reward},
        )
    assert dec.calls == []
    assert [r.status for r in rs] == [
        Status.MALFORMED_JSON,
        Status.SCHEMA_ERROR,
        Status.NON_FINITE,
        Status.MALFORMED_JSON,
    ]
    assert all(r.accuracy == 0.0 for r in rs) and all(r.reason for r in rs)
    assert rs[2].structure == 0.5  # as the point-kernel scorer: NaN is a number there
    assert rs[0].details == {"mask_iou": 0.0}


def test_truth_forms_agree_and_mix_mode(predictor: Sam2MaskPredictor, tmp_path: Path) -> None:
    from PIL import Image

    img, m = image(5), rect_mask()
    Image.fromarray(img).save(tmp_path / "img.png")
    Image.fromarray(m.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    pal = Image.fromarray(m.astype(np.uint8) * 2, mode="L").convert("P")
    pal.save(tmp_path / "palette.png")  # DAVIS-style: object 2, background 0
    polygon = [[15, 10, 45, 10, 45, 35, 15, 35]]  # pixel corners of rows 10..34, columns 15..44
    forms = [
        {"mask": rle(m), "image": "img.png"},
        {"mask": polygon, "image": str(tmp_path / "img.png")},
        {"mask": "mask.png", "image": "img.png"},
        {"mask": "palette.png", "object_id": 2, "image": "img.png"},
        {"mask": m, "image": img},
        {"mask": m, "image_id": "picture-5"},
    ]
    reward = Sam2MaskReward(
        predictor, media_root=tmp_path, media=lambda key: {"picture-5": img}[key]
    )
    a = answer(BOXES[2])
    rs = [
        score(completion(a), t, "segmentation", data_type="image", extra={"mask_model": reward})
        for t in forms
    ]
    assert all(r.status is Status.OK for r in rs), [r.reason for r in rs]
    accs = [r.accuracy for r in rs]
    assert len(set(accs)) == 1 and 0.0 < accs[0] < 1.0, accs
    # one embedding per media key: the file (relative or absolute path), the array, the id
    assert reward.stats.encoder_passes == 3
    # mix: w * mask IoU + (1 - w) * the built-in point-kernel accuracy
    points = {
        "boxes": [200, 150, 750, 800],
        "positive_points": [[400, 400], [450, 500], [500, 450]],
        "negative_points": [[50, 50], [950, 950], [50, 950]],
    }
    mix = Sam2MaskReward(predictor, mode="mix", mask_weight=0.7)
    t = dict(points, mask=m, image=img)
    r = score(completion(a), t, "segmentation", data_type="image", extra={"mask_model": mix})
    plain = score(completion(a), json.dumps(points), "segmentation", data_type="image")
    assert r.accuracy == pytest.approx(0.7 * accs[0] + 0.3 * plain.accuracy)
    assert r.details["mask_iou"] == accs[0]
    with pytest.raises(GroundTruthError, match="mode='mix' needs"):
        score(
            completion(a),
            {"mask": m, "image": img},
            "segmentation",
            data_type="image",
            extra={"mask_model": mix},
            errors="raise",
        )
    recorded = score(completion(a), {"mask": m, "image": img}, "segmentation", data_type="image",
                     extra={"mask_model": mix})  # the default records it
    assert recorded.status is Status.GROUND_TRUTH_ERROR and "mode='mix' needs" in recorded.reason


def test_bounded_cache_and_bad_media(predictor: Sam2MaskPredictor) -> None:
    reward = Sam2MaskReward(predictor, cache_size=2)
    for seed in range(3):
        score(
            completion(answer(BOXES[0])),
            {"mask": rect_mask(), "image": image(10 + seed)},
            "segmentation",
            data_type="image",
            extra={"mask_model": reward},
        )
    s = reward.stats
    assert (s.encoder_passes, s.cached) == (3, 2) and s.cached_bytes > 0
    score(completion(answer(BOXES[0])), {"mask": rect_mask(), "image": image(10)}, "segmentation",
          data_type="image", extra={"mask_model": reward})  # the oldest was dropped
    assert reward.stats.encoder_passes == 4
    # truths that cannot be used: per record with errors="record", the other records scored
    rows = image_records({"mask": rect_mask(), "image": image(11)}, [answer(BOXES[0])])
    rows += image_records({"mask": np.zeros((5, 5), bool), "image": image(11)}, [answer(BOXES[0])])
    rows += image_records({"mask": rect_mask(), "image_id": "nowhere"}, [answer(BOXES[0])])
    rs = score_batch(rows, errors="record", extra={"mask_model": reward})
    assert rs[0].status is Status.OK
    assert rs[1].status is Status.GROUND_TRUTH_ERROR and "shape (5, 5)" in rs[1].reason
    assert rs[2].status is Status.GROUND_TRUTH_ERROR and "resolver" in rs[2].reason


def test_image_as_a_one_frame_video(predictor: Sam2MaskPredictor) -> None:
    reward = Sam2MaskReward(predictor, image_protocol="video")
    img, truth_mask = image(7), rect_mask()
    answers = [answer(BOXES[0]), answer(BOXES[4])]
    vp = predictor.video_predictor
    with Recorder(vp, "init_state") as init, Recorder(predictor, "track") as track:
        rs = score_batch(
            image_records({"mask": truth_mask, "image": img}, answers), extra={"mask_model": reward}
        )
    assert len(init.calls) == 1 and [(c[0][1], len(c[0][2])) for c in track.calls] == [(0, 2)]
    for r, a in zip(rs, answers, strict=True):
        alone = predictor.predict_image(img, a)  # the evaluation protocol, one rollout
        assert r.accuracy == float(mask_iou(alone.masks, truth_mask)) == r.details["mask_iou"]


@pytest.mark.slow
def test_video_key_frames_directions_and_j_and_f(predictor: Sam2MaskPredictor) -> None:
    video = frames(3)
    truth_masks = np.stack([rect_mask(i) for i in range(3)])
    truth = {"masks": [rle(t) for t in truth_masks], "video": video, "fps": 2.0}
    # key frames round(t * 2): 0.5 -> 1 (twice: tracked together), 0 -> 0, 0.9 -> 2
    answers = [
        answer(BOXES[0], 0.5),
        answer(BOXES[3], 0.5),
        answer(BOXES[1], 0.0),
        answer(BOXES[2], 0.9),
    ]
    reward = Sam2MaskReward(predictor, video_metric="j&f")
    vp = predictor.video_predictor
    with Recorder(vp, "init_state") as init, GeneratorRecorder(vp, "propagate_in_video") as prop, \
            Recorder(vp, "add_new_points_or_box") as add, Recorder(predictor, "track") as track:
        rs = score_batch(image_records(truth, answers, "video"), extra={"mask_model": reward})
    assert len(init.calls) == 1  # the frames are loaded once for the four rollouts
    # one track per key frame, both rollouts of key frame 1 together
    assert [(c[0][1], len(c[0][2])) for c in track.calls] == [(0, 1), (1, 2), (2, 1)]
    # each track: forward from the key frame to the end, then backward to the start
    runs = [(kw["start_frame_idx"], kw["reverse"]) for _, kw in prop.calls]
    assert runs == [(0, False), (0, True), (1, False), (1, True), (2, False), (2, True)]
    assert prop.results == [[0, 1, 2], [], [1, 2], [1, 0], [2], [2, 1, 0]]
    # the prompts: box alone, then points with the box, on the key frame, per object
    boxes = [
        (kw["frame_idx"], kw["obj_id"], kw["box"].tolist(), kw.get("points")) for _, kw in add.calls
    ]
    p1 = prompt_from_answer(answers[0], W, H)
    assert boxes[2][:3] == (1, 1, p1.box.tolist()) and boxes[2][3] is None
    np.testing.assert_array_equal(add.calls[3][1]["points"], p1.points)
    assert add.calls[3][1]["labels"].tolist() == [1, 1, 1, 0, 0, 0]
    # J&F from the tracked masks, by geometry.masks
    masks = {
        0: track.results[1][0][0],
        1: track.results[1][0][1],
        2: track.results[0][0][0],
        3: track.results[2][0][0],
    }
    for i, r in enumerate(rs):
        s = video_mask_scores(masks[i], truth_masks)
        assert r.status is Status.OK and r.accuracy == s.j_and_f
        assert r.details["J"] == s.j_mean and r.details["keyframe"] == [1, 1, 0, 2][i]
    # tracked together == tracked alone (the evaluation predictor, one rollout)
    alone = predictor.predict_video(video, answers[1], fps=2.0)
    np.testing.assert_array_equal(alone.masks, masks[1])
    # J alone
    j_only = Sam2MaskReward(predictor, video_metric="j")
    r = score(
        completion(answers[2]),
        truth,
        "segmentation",
        data_type="video",
        extra={"mask_model": j_only},
    )
    assert r.accuracy == video_mask_scores(masks[2], truth_masks).j_mean
    # a video answer without time: no SAM2 call, schema error
    with Recorder(vp, "init_state") as init2:
        bad = score(
            completion(answer(BOXES[0])),
            truth,
            "segmentation",
            data_type="video",
            extra={"mask_model": reward},
        )
    assert init2.calls == [] and bad.status is Status.SCHEMA_ERROR and bad.accuracy == 0.0


@pytest.mark.gpu
def test_cuda_mask_reward() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    torch.manual_seed(0)
    gpu = Sam2MaskPredictor(allow_random_init=True, device="cuda", bf16=True)
    reward = Sam2MaskReward(gpu)
    truth = {"mask": rect_mask(), "image": image()}
    with Recorder(gpu.image_predictor, "set_image") as enc:
        rs = score_batch(
            image_records(truth, [answer(b) for b in BOXES]), extra={"mask_model": reward}
        )
    assert len(enc.calls) == 1 and all(r.status is Status.OK for r in rs)
    assert reward.stats.cached_bytes > 0
    assert gpu.image_predictor.model.device.type == "cuda"
