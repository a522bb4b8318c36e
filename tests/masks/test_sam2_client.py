"""Sam2Client failure handling against a real HTTP server on 127.0.0.1 (a small Starlette
app that fails on purpose), without SAM2: retries on 5xx and dropped connections, no
retry on 4xx or malformed answers, the points fallback with its status, concurrency,
pickling."""

from __future__ import annotations

import asyncio
import json
import pickle
import threading
from typing import Any

import pytest

from ._sam2_helpers import answer, completion, require, serve

require("starlette")
require("uvicorn")

from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from unireward import score, score_batch  # noqa: E402
from unireward.errors import (  # noqa: E402
    ConfigurationError,
    GroundTruthError,
    RemoteProtocolError,
    RemoteStatusError,
)
from unireward.masks import Sam2Client  # noqa: E402
from unireward.result import Status  # noqa: E402

TRUTH = {"mask": "m.png", "image": "i.png", "boxes": [200, 150, 750, 800],
         "positive_points": [[400, 400], [450, 500], [500, 450]],
         "negative_points": [[50, 50], [950, 950], [50, 950]]}


class Behaviour:
    """What the fake service does next, and what it saw."""

    def __init__(self) -> None:
        self.plan: list[str] = []
        self.bodies: list[dict[str, Any]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()


def make_app(b: Behaviour) -> Starlette:
    async def segmentation(request: Request) -> Response:
        body = json.loads(await request.body())
        with b.lock:
            b.bodies.append(body)
            step = b.plan.pop(0) if b.plan else "ok"
            b.in_flight += 1
            b.most_in_flight = max(b.most_in_flight, b.in_flight)
        try:
            await asyncio.sleep(0.2 if step == "slow" else 0)
            n = len(body["items"])
            if step == "500":
                return JSONResponse({"error": "boom"}, status_code=500)
            if step == "400":
                return JSONResponse({"error": "bad"}, status_code=400)
            if step == "short":
                n -= 1
            if step == "nan":
                return Response(
                    '{"outcomes": [{"accuracy": NaN, "structure": 0.5, "status": "ok"}]}',
                    media_type="application/json",
                )
            if step == "status":
                return JSONResponse(
                    {"outcomes": [{"accuracy": 1, "structure": 0.5, "status": "great"}] * n}
                )
            rows = [
                {
                    "accuracy": 0.25,
                    "structure": 0.5,
                    "status": "ok",
                    "reason": None,
                    "details": {"mask_iou": 0.25},
                }
            ] * n
            return JSONResponse({"outcomes": rows})
        finally:
            with b.lock:
                b.in_flight -= 1

    return Starlette(routes=[Route("/segmentation", segmentation, methods=["POST"])])


@pytest.fixture(scope="module")
def service():
    b = Behaviour()
    with serve(make_app(b)) as url:
        yield b, url


def rows(n: int) -> list[dict[str, Any]]:
    return [{"completion": completion(answer([200, 150, 750, 800])), "ground_truth": TRUTH,
             "task": "segmentation", "data_type": "image"} for _ in range(n)]


def client(url: str, **kw: Any) -> Sam2Client:
    kw.setdefault("backoff", 0.0)
    kw.setdefault("backoff_max", 0.0)
    return Sam2Client(base_url=url, **kw)


def test_items_sent_and_outcomes_composed(service) -> None:
    b, url = service
    b.plan[:] = []
    b.bodies.clear()
    with client(url, batch_size=2) as c:
        rs = score_batch(rows(3), extra={"mask_model": c}, profile="strict")
    assert [r.accuracy for r in rs] == [0.25] * 3 and rs[0].total == pytest.approx(
        0.9 * 0.25 + 0.1 + 0.5
    )
    assert rs[0].details == {"mask_iou": 0.25}
    assert sorted(len(x["items"]) for x in b.bodies) == [1, 2]  # two batches, sent concurrently
    item = b.bodies[-1]["items"][0]
    assert (
        item["answer"] == json.dumps(answer([200, 150, 750, 800])) and item["ground_truth"] == TRUTH
    )
    assert item["data_type"] == "image" and all(
        x["options"] == {"profile": "strict"} for x in b.bodies
    )


def test_retries_then_success_and_no_retry_on_4xx(service) -> None:
    b, url = service
    b.plan[:] = ["500", "500", "ok"]
    with client(url, max_retries=3) as c:
        r = score(completion(answer([0, 0, 10, 10])), TRUTH, "segmentation", data_type="image",
                  extra={"mask_model": c})
        assert r.accuracy == 0.25 and (c.stats.requests, c.stats.retries) == (3, 2)
    b.plan[:] = ["400", "ok"]
    with client(url, max_retries=3) as c, pytest.raises(RemoteStatusError, match="HTTP 400") as err:
        score_batch(rows(1), extra={"mask_model": c})
    assert err.value.request.attempts == 1 and err.value.status_code == 400
    b.plan[:] = []


@pytest.mark.parametrize("step", ["short", "nan", "status"])
def test_malformed_answers_are_protocol_errors(service, step: str) -> None:
    b, url = service
    b.plan[:] = [step]
    with client(url, max_retries=2) as c, pytest.raises(RemoteProtocolError):
        score_batch(rows(2), extra={"mask_model": c})
    assert c.stats.retries == 0


def test_points_fallback_is_visible(service) -> None:
    b, url = service
    b.plan[:] = ["500"] * 3
    with client(url, max_retries=1, batch_size=2, max_concurrency=1, fallback="points") as c:
        rs = score_batch(rows(3), extra={"mask_model": c})
        assert c.stats.fallback_samples == 2 and c.stats.failed_batches == 1
    plain = score(rows(1)[0]["completion"], TRUTH, "segmentation", data_type="image")
    assert [r.status for r in rs] == [Status.FALLBACK, Status.FALLBACK, Status.OK]
    assert rs[0].accuracy == plain.accuracy and "point-kernel reward used instead" in rs[0].reason
    assert rs[2].accuracy == 0.25
    b.plan[:] = []


def test_unreachable_service_and_concurrency(service) -> None:
    from ._sam2_helpers import free_port

    dead = client(f"http://127.0.0.1:{free_port()}", max_retries=1)
    with pytest.raises(Exception) as err:
        score_batch(rows(1), extra={"mask_model": dead})
    assert type(err.value).__name__ == "RemoteConnectionError" and dead.stats.requests == 2
    b, url = service
    b.plan[:] = ["slow"] * 4
    b.most_in_flight = 0
    with client(url, batch_size=1, max_concurrency=4) as c:
        rs = score_batch(rows(4), extra={"mask_model": c})
    assert all(r.accuracy == 0.25 for r in rs) and b.most_in_flight >= 2


def test_pickles_and_checks_its_input() -> None:
    c = Sam2Client(base_url="127.0.0.1:9", batch_size=3, fallback="points")
    d = pickle.loads(pickle.dumps(c))
    assert (d.base_url, d.batch_size, d.fallback, d.stats.requests) == (
        "http://127.0.0.1:9",
        3,
        "points",
        0,
    )
    with pytest.raises(ConfigurationError, match="fallback"):
        Sam2Client(base_url="http://x", fallback="rouge")
    with pytest.raises(ConfigurationError, match="batch_size"):
        Sam2Client(base_url="http://x", batch_size=0)
    import numpy as np

    with pytest.raises(GroundTruthError, match="plain JSON"):
        c.prepare_ground_truth({"mask": np.zeros((2, 2)), "image": "a.png"}, "image")
