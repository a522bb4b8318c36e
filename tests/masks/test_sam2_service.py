"""The SAM2 scoring service under uvicorn on 127.0.0.1, with a real randomly initialised
SAM2 (input size 128), and the client through ``score_batch`` and TRL's reward function."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from ._sam2_helpers import (
    IMAGE_SIZE,
    Recorder,
    answer,
    completion,
    image,
    rect_mask,
    require,
    serve,
)

require("sam2")
torch = require("torch")
require("starlette")
httpx = require("httpx")

from unireward import score_batch  # noqa: E402
from unireward.masks import Sam2Client, build_sam2_app  # noqa: E402
from unireward.result import Status  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    root = tmp_path_factory.mktemp("media")
    for seed in range(2):
        Image.fromarray(image(seed)).save(root / f"img{seed}.png")
    Image.fromarray(rect_mask().astype(np.uint8) * 255).save(root / "mask.png")
    return root


@pytest.fixture(scope="module")
def app(media: Path):
    torch.manual_seed(0)
    return build_sam2_app(allow_random_init=True, device="cpu", media_root=media,
                          hydra_overrides=[f"++model.image_size={IMAGE_SIZE}"], max_body_mb=0.05)


def records(n: int, image_name: str = "img0.png") -> list[dict]:
    truth = {"mask": "mask.png", "image": image_name}
    return [{"completion": completion(answer([200 + 20 * j, 150, 750, 800])), "ground_truth": truth,
             "task": "segmentation", "data_type": "image", "problem_id": "p"} for j in range(n)]


def test_client_scores_like_the_local_reward_and_the_server_routes(app) -> None:
    from unireward.masks import Sam2MaskReward

    local = Sam2MaskReward(app.state.predictor, media_root=app.state.reward.media_root)
    rows = records(6) + [
        {
            "completion": completion("oops"),
            "ground_truth": {"mask": "mask.png", "image": "img0.png"},
            "task": "segmentation",
            "data_type": "image",
        },
        {
            "completion": "<think>t</think><answer>B</answer>",
            "ground_truth": "B",
            "task": "multiple choice",
        },
        {
            "completion": completion(answer([0, 0, 500, 500])),
            "ground_truth": {"mask": "mask.png", "image": "missing.png"},
            "task": "segmentation",
            "data_type": "image",
        },
    ]
    expected = score_batch(rows, extra={"mask_model": local}, errors="record")
    with serve(app) as url:
        assert httpx.get(url + "/health").json()["status"] == "ok"
        with Sam2Client(base_url=url, batch_size=4, max_concurrency=2) as client, \
                Recorder(app.state.predictor.image_predictor, "set_image") as enc:
            got = score_batch(rows, extra={"mask_model": client}, errors="record")
            # 8 segmentation items in batches of 4; the multiple-choice record stays local
            assert (client.stats.requests, client.stats.texts_scored) == (2, 8)
        assert len(enc.calls) == 1  # img0 embedded once on the server, then cached
        for e, g in zip(expected[:8], got[:8], strict=True):
            assert (g.total, g.accuracy, g.structure, g.status, g.details) == (
                e.total,
                e.accuracy,
                e.structure,
                e.status,
                e.details,
            )
        assert got[6].status is Status.MALFORMED_JSON and got[7].total == 1.5
        # a truth the server cannot use: that item is an error (accuracy and structure 0), the
        # others are scored; locally the same truth fails at preparation (all components 0)
        assert got[8].status is Status.ERROR and "missing.png" in got[8].reason
        assert (got[8].accuracy, got[8].structure) == (0.0, 0.0) and expected[
            8
        ].status is Status.GROUND_TRUTH_ERROR
        # the reward server's /score and OpenRLHF's /get_reward
        body = httpx.post(url + "/score", json={"records": rows[:2]}).json()
        assert [r["accuracy"] for r in body["results"]] == [r.accuracy for r in expected[:2]]
        assert body["results"][0]["task"] == "segmentation"
        import json

        label = json.dumps(
            {"ground_truth": {"mask": "mask.png", "image": "img0.png"}, "data_type": "image"}
        )
        rw = httpx.post(
            url + "/get_reward",
            json={"query": ["Q:" + rows[0]["completion"]], "prompts": ["Q:"], "labels": [label]},
        ).json()
        assert rw["rewards"] == [expected[0].total] and rw["scores"] == [expected[0].accuracy]
        # bad requests: 400 with a reason, bodies over the limit 413
        r = httpx.post(url + "/segmentation", content=b"{not json")
        assert r.status_code == 400 and "JSON" in r.json()["error"]
        r = httpx.post(url + "/segmentation", json={"items": [{"answer": 1}]})
        assert r.status_code == 400 and "items[0]" in r.json()["error"]
        r = httpx.post(url + "/segmentation", json={"items": [], "options": {"format_weight": 2}})
        assert r.status_code == 400
        r = httpx.post(url + "/segmentation", content=b"x" * 60_000)
        assert r.status_code == 413


def test_trl_reward_function_with_the_client(app) -> None:
    from unireward.integrations.rewards import UniRewardFunction

    with serve(app) as url:
        client = Sam2Client(base_url=url)
        fn = UniRewardFunction("accuracy", extra={"mask_model": client})
        fn = pickle.loads(pickle.dumps(fn))  # TRL ships reward functions to workers
        rows = records(3, "img1.png")
        values = fn(prompts=["p"] * 3, completions=[r["completion"] for r in rows],
                    solution=[r["ground_truth"] for r in rows], problem_type=["segmentation"] * 3,
                    data_type=["image"] * 3)
        local = score_batch(rows, extra={"mask_model": client})
    assert values == [r.accuracy for r in local]
    assert all(isinstance(v, float) for v in values)
