"""The SAM2 service's HTTP layer without SAM2: body limits, request checks, error answers.

The predictor here is never asked for a mask: every ground truth below lacks one and the
service runs with ``missing_mask="points"``, so items are scored by the point kernels (the
built-in rule) and nothing stands in for SAM2's output. The service with a real SAM2 is
tested in ``test_sam2_service.py``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from ._sam2_helpers import require

require("starlette")
require("httpx")

from starlette.testclient import TestClient  # noqa: E402

from unireward import score  # noqa: E402
from unireward.masks import build_sam2_app  # noqa: E402

TRUTH = {"boxes": [200, 150, 750, 800], "positive_points": [[400, 400], [450, 500], [500, 450]],
         "negative_points": [[50, 50], [950, 950], [50, 950]]}
ANSWER = json.dumps(TRUTH)
COMPLETION = f"<think>look</think><answer>{ANSWER}</answer>"


class NeverCalled:
    """A predictor for items that never reach SAM2 (any call fails the test)."""

    config = "none.yaml"
    device = "cpu"

    def embed_image(self, image: Any) -> Any:
        raise AssertionError("SAM2 was called")

    decode = track = embed_image

    @contextlib.contextmanager
    def video_state(self, video: Any) -> Iterator[Any]:
        raise AssertionError("SAM2 was called")
        yield


@pytest.fixture(scope="module")
def http() -> Iterator[TestClient]:
    app = build_sam2_app(predictor=NeverCalled(), missing_mask="points", max_body_mb=0.5)
    with TestClient(app) as client:
        yield client


def test_health(http: TestClient) -> None:
    r = http.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["config"], body["device"]) == ("ok", "none.yaml", "cpu")
    assert body["stats"]["encoder_passes"] == 0


def test_segmentation_items_scored_and_a_bad_truth_is_its_own_error(http: TestClient) -> None:
    items = [{"answer": ANSWER, "ground_truth": TRUTH, "data_type": "image"},
             {"answer": ANSWER, "ground_truth": {"image": "a.png"}, "data_type": "image"}]
    r = http.post("/segmentation", json={"items": items, "options": {"profile": "strict"}})
    assert r.status_code == 200
    first, second = r.json()["outcomes"]
    # the answer is the truth itself: the point-kernel reward is 1
    assert (first["accuracy"], first["status"], first["reason"]) == (1.0, "ok", None)
    assert second["status"] == "error" and second["accuracy"] == 0.0
    assert second["reason"].startswith("GroundTruthError: segmentation ground truth has no mask")


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"items": "x"}, 400, "'items' must be a list"),
    ({"items": [{"answer": 3}]}, 400, "items[0] must be an object with 'answer'"),
    ({"items": [], "options": {"bogus": 1}}, 400, "unknown option(s) ['bogus']"),
    ({"items": [], "options": [1]}, 400, "'options' must be an object"),
    ({"records": {}}, 400, "must be a list"),
    ([1], 400, "the body must be a JSON object"),
])
def test_bad_segmentation_requests(http: TestClient, body: Any, status: int,
                                   message: str) -> None:
    path = "/score" if isinstance(body, dict) and "records" in body else "/segmentation"
    r = http.post(path, json=body)
    assert r.status_code == status
    assert message in r.json()["error"]


def test_bodies_not_json_or_too_big(http: TestClient) -> None:
    r = http.post("/segmentation", content=b"{not json")
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    r = http.post("/segmentation", content=b" " * 600_000)
    assert r.status_code == 413 and r.json()["error"] == "request body over 0.5 MB"


def test_score_and_extra_refused(http: TestClient) -> None:
    records = [{"completion": COMPLETION, "ground_truth": TRUTH, "task": "segmentation",
                "data_type": "image"},
               {"completion": "<think>a</think><answer>B</answer>", "ground_truth": "B",
                "task": "multiple choice"}]
    r = http.post("/score", json={"records": records})
    assert r.status_code == 200
    seg, choice = r.json()["results"]
    local = score(COMPLETION, TRUTH, "segmentation", data_type="image")
    assert seg["reward"] == pytest.approx(float(local)) and seg["task"] == "segmentation"
    assert choice["accuracy"] == 1.0
    r = http.post("/score", json={"records": [], "options": {"extra": {}}})
    assert r.status_code == 400 and r.json()["error"].startswith("unknown option(s) ['extra']")


def test_get_reward(http: TestClient) -> None:
    r = http.post("/get_reward", json={"query": [COMPLETION], "labels": [json.dumps(TRUTH)]})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"rewards", "scores", "extra_logs", "status", "reason"}
    assert set(body["extra_logs"]) == {"accuracy", "format", "structure", "error"}
    assert len(body["rewards"]) == 1 and body["extra_logs"]["format"] == [1.0]
    r = http.post("/get_reward", json={"query": [COMPLETION], "labels": []})
    assert r.status_code == 400 and "one entry per sample" in r.json()["error"]
    r = http.post("/get_reward", json={"query": "x", "labels": []})
    assert r.status_code == 400 and "must be lists" in r.json()["error"]
