"""The clients against a real HTTP server on 127.0.0.1 (see ``polar_server.py``)."""

from __future__ import annotations

import asyncio
import time

import pytest

from unireward.errors import (
    RemoteConnectionError,
    RemoteProtocolError,
    RemoteStatusError,
    RemoteTimeoutError,
)
from unireward.remote import AsyncPolarClient, PolarClient

from .polar_server import PolarServer, default_score

pytestmark = pytest.mark.integration


def spec_string(prompt: str, reference: str, output: str) -> str:
    return prompt + "\n" + reference + "<|reward|>" + prompt + "\n" + output + "[UNUSED_TOKEN_130]"


def client(server: PolarServer, **kwargs: object) -> PolarClient:
    kwargs.setdefault("backoff", 0.001)
    return PolarClient(base_url=server.url, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("backend", "shape"),
                         [("vllm", "rows"), ("lmdeploy", "scalar"), ("lmdeploy", "flat"),
                          ("sglang", "rows")])
def test_happy_path_every_backend(backend: str, shape: str) -> None:
    prompts = ["Describe the video.", "What is shown?", "Q"]
    refs = ["A man cooks.", "A cat.", ""]
    outs = ["A man is cooking.", "", "x" * 50]
    with PolarServer(pooling_shape=shape) as srv, client(srv, backend=backend) as rm:
        scores = rm.score_pairs(prompts, refs, outs)
    expected_texts = [spec_string(p, r, o) for p, r, o in zip(prompts, refs, outs, strict=True)]
    assert srv.texts_received == expected_texts
    assert scores == [default_score(t) for t in expected_texts]
    assert srv.requests[0]["path"] == ("/classify" if backend == "sglang" else "/pooling")
    assert srv.requests[0]["body"]["model"] == "internlm/POLAR-7B"


def test_batching_counts_requests_and_keeps_order(server: PolarServer) -> None:
    texts = [f"text number {i}" for i in range(130)]
    with client(server) as rm:
        assert rm.score_texts(texts) == [default_score(t) for t in texts]  # batch 64 default
        assert [len(r["body"]["input"]) for r in server.requests] == [64, 64, 2]
        server.requests.clear()
        rm.batch_size = 50
        rm.score_texts(texts)
    assert [len(r["body"]["input"]) for r in server.requests] == [50, 50, 30]
    assert server.texts_received == texts


def test_connections_are_reused(server: PolarServer) -> None:
    with client(server, batch_size=1) as rm:
        rm.score_texts([str(i) for i in range(5)])
    # one TCP connection carried all five requests (keep-alive pool)
    ports = {r["client_port"] for r in server.requests}
    assert len(server.requests) == 5 and len(ports) == 1


def test_500s_then_success_are_retried(server: PolarServer) -> None:
    server.queue(["500", "503", "502"])
    with client(server, max_retries=3) as rm:
        assert rm.score_texts(["hello"]) == [default_score("hello")]
        assert rm.stats.requests == 4 and rm.stats.retries == 3
    assert len(server.requests) == 4


def test_persistent_500_raises_status_error(server: PolarServer) -> None:
    server.queue(["500"] * 10)
    with client(server, max_retries=2) as rm, pytest.raises(RemoteStatusError) as info:
        rm.score_texts(["a", "b"])
    assert info.value.status_code == 500
    assert info.value.request.attempts == 3 and info.value.request.n_texts == 2
    assert info.value.request.url == server.url + "/pooling"
    assert len(server.requests) == 3


@pytest.mark.parametrize("status", ["400", "404", "422"])
def test_4xx_is_not_retried(server: PolarServer, status: str) -> None:
    server.queue([status] * 5)
    with client(server, max_retries=5) as rm, pytest.raises(RemoteStatusError) as info:
        rm.score_texts(["a"])
    assert info.value.status_code == int(status)
    assert len(server.requests) == 1


def test_slow_answer_times_out_and_is_retried(server: PolarServer) -> None:
    server.queue(["slow:1.0", "slow:1.0"])
    with (
        client(server, timeout=0.2, max_retries=1) as rm,
        pytest.raises(RemoteTimeoutError) as info,
    ):
        rm.score_texts(["a"])
    assert info.value.request.attempts == 2
    assert isinstance(info.value, TimeoutError)
    server.queue(["slow:1.0"])
    with client(server, timeout=0.2, max_retries=1) as rm:
        assert rm.score_texts(["a"]) == [default_score("a")]


def test_dropped_connection(server: PolarServer) -> None:
    server.queue(["drop"] * 3)
    with client(server, max_retries=2) as rm, pytest.raises(RemoteConnectionError):
        rm.score_texts(["a"])
    assert len(server.requests) == 3
    server.queue(["drop"])
    with client(server, max_retries=2) as rm:
        assert rm.score_texts(["a"]) == [default_score("a")]


def test_refused_connection() -> None:
    srv = PolarServer()
    url = srv.url
    srv.stop()  # the port is closed now
    with PolarClient(base_url=url, max_retries=1, backoff=0.001) as rm:
        with pytest.raises(RemoteConnectionError) as info:
            rm.score_texts(["a"])
    assert info.value.request.attempts == 2


@pytest.mark.parametrize(("fault", "message"),
                         [("bad_json", "invalid JSON"), ("short", "sent 3 texts but got 2"),
                          ("nan", "not finite"), ("not_a_list", "'data' list")])
def test_malformed_answers_raise_protocol_error(server: PolarServer, fault: str,
                                                message: str) -> None:
    server.queue([fault])
    with client(server, max_retries=3) as rm, pytest.raises(RemoteProtocolError, match=message):
        rm.score_texts(["a", "b", "c"])
    assert len(server.requests) == 1


def test_environment_proxy_is_ignored_by_default(server: PolarServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    dead = PolarServer()
    dead_url = dead.url
    dead.stop()
    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(var, dead_url)
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    with client(server) as rm:
        assert rm.score_texts(["a"]) == [default_score("a")]
    with client(server, trust_env=True, max_retries=0) as rm, pytest.raises(RemoteConnectionError):
        rm.score_texts(["a"])


def test_async_concurrency_limit_is_respected(slow_server: PolarServer) -> None:
    texts = [f"t{i}" for i in range(10)]

    async def main() -> list[float]:
        async with AsyncPolarClient(base_url=slow_server.url, batch_size=1,
                                    max_concurrency=3) as rm:
            return await rm.score_texts(texts)

    start = time.perf_counter()
    scores = asyncio.run(main())
    elapsed = time.perf_counter() - start
    assert scores == [default_score(t) for t in texts]
    assert slow_server.max_in_flight == 3
    assert elapsed < 10 * 0.2  # not one at a time (4 waves of 0.2 s)


def test_async_faults_retry_and_raise(server: PolarServer) -> None:
    server.queue(["503", "drop"])

    async def ok() -> list[float]:
        async with AsyncPolarClient(base_url=server.url, backoff=0.001, max_retries=2) as rm:
            return await rm.score_texts(["a"])

    assert asyncio.run(ok()) == [default_score("a")]
    assert len(server.requests) == 3

    server.queue(["slow:1.0"] * 2)

    async def slow() -> None:
        async with AsyncPolarClient(base_url=server.url, backoff=0.001, max_retries=1,
                                    timeout=0.2) as rm:
            await rm.score_texts(["a"])

    with pytest.raises(RemoteTimeoutError):
        asyncio.run(slow())
