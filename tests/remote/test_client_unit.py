"""Client behaviour that needs no server: options, wire format, parsing, error mapping.

``httpx.MockTransport`` stands in for the network here; everything that a real server can
show is tested against one in ``test_client_server.py``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import unireward.remote as remote
from unireward.errors import (
    ConfigurationError,
    RemoteConnectionError,
    RemoteProtocolError,
    RemoteRewardError,
    RemoteStatusError,
    RemoteTimeoutError,
)
from unireward.remote import AsyncPolarClient, PolarClient, PolarEncoder, RequestInfo

Handler = Callable[[httpx.Request], httpx.Response]


def make(handler: Handler, **kwargs: Any) -> PolarClient:
    kwargs.setdefault("base_url", "http://rm.test:8000")
    kwargs.setdefault("backoff", 0.0)
    return PolarClient(transport=httpx.MockTransport(handler), **kwargs)


def vllm_ok(request: httpx.Request) -> httpx.Response:
    texts = json.loads(request.content)["input"]
    return httpx.Response(200, json={"data": [{"data": [[9.0], [float(len(t))]]} for t in texts]})


class Counter:
    """A handler that answers from a script and counts calls."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        answer = self.answers.pop(0) if self.answers else None
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, int):
            return httpx.Response(answer, text="scripted")
        return vllm_ok(request)


# -- public surface -----------------------------------------------------------------------------

def test_public_surface() -> None:
    assert set(remote.__all__) == {
        "BACKENDS",
        "END_TOKEN",
        "REWARD_TOKEN",
        "AsyncPolarClient",
        "Backend",
        "BatchResult",
        "ClientConfig",
        "ClientStats",
        "PolarClient",
        "PolarConfig",
        "PolarEncoder",
        "RequestInfo",
        "areward_model_accuracies",
        "clip_unit",
        "normalize_by_group",
        "polar_template",
        "reward_model_accuracies",
        "scores_to_accuracies",
    }
    for name in remote.__all__:
        assert getattr(remote, name) is not None
    assert remote.BACKENDS == ("vllm", "lmdeploy", "sglang")


@pytest.mark.parametrize("cls", [PolarClient, AsyncPolarClient])
def test_constructor_is_keyword_only(cls: type) -> None:
    with pytest.raises(TypeError):
        cls("http://rm.test")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"backend": "tgi"},
        {"batch_size": 0},
        {"batch_size": 2.5},
        {"max_retries": -1},
        {"timeout": -1.0},
        {"timeout": float("inf")},
        {"backoff": float("nan")},
        {"base_url": ""},
        {"base_url": "ftp://rm.test"},
        {"base_url": "http://"},
        {"model": 3},
        {"encoder": "not an encoder"},
        {"encoder": PolarEncoder(), "tokenizer_path": "/some/where"},
    ],
)
@pytest.mark.parametrize("cls", [PolarClient, AsyncPolarClient])
def test_bad_options_raise_configuration_error(cls: type, kwargs: dict[str, Any]) -> None:
    kwargs = {"base_url": "http://rm.test"} | kwargs
    with pytest.raises(ConfigurationError):
        cls(**kwargs)


def test_bad_transport_and_concurrency() -> None:
    with pytest.raises(ConfigurationError):
        PolarClient(base_url="http://rm.test",
                    transport=httpx.AsyncHTTPTransport())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        AsyncPolarClient(base_url="http://rm.test",
                         transport=httpx.HTTPTransport())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        AsyncPolarClient(base_url="http://rm.test", max_concurrency=0)


@pytest.mark.parametrize(
    ("base_url", "backend", "url"),
    [
        ("127.0.0.1:8000", "vllm", "http://127.0.0.1:8000/pooling"),
        ("http://rm.test/", "lmdeploy", "http://rm.test/pooling"),
        ("https://rm.test/prefix", "sglang", "https://rm.test/prefix/classify"),
    ],
)
def test_endpoint(base_url: str, backend: str, url: str) -> None:
    with PolarClient(base_url=base_url, backend=backend) as rm:  # type: ignore[arg-type]
        assert rm.url == url
        assert backend in repr(rm)


# -- wire format --------------------------------------------------------------------------------

@pytest.mark.parametrize(("backend", "key", "path"),
                         [("vllm", "input", "/pooling"), ("lmdeploy", "input", "/pooling"),
                          ("sglang", "text", "/classify")])
def test_request_format(backend: str, key: str, path: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        texts = json.loads(request.content)[key]
        if backend == "sglang":
            return httpx.Response(200, json=[{"embedding": [1.0]} for _ in texts])
        return httpx.Response(200, json={"data": [{"data": 1.0} for _ in texts]})

    with make(handler, backend=backend, model="my-rm", headers={"X-Token": "t"}) as rm:
        assert rm.score_texts(["a", "b"]) == [1.0, 1.0]
    (request,) = seen
    assert request.method == "POST" and request.url.path == path
    assert json.loads(request.content) == {"model": "my-rm", key: ["a", "b"]}
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-token"] == "t"


def test_score_pairs_sends_the_polar_encoding() -> None:
    seen: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content)["input"])
        return vllm_ok(request)

    with make(handler) as rm:
        rm.score_pairs(["Q1", "Q2"], ["R1", "R2"], ["O1", ""])
    assert seen == [["Q1\nR1<|reward|>Q1\nO1[UNUSED_TOKEN_130]",
                     "Q2\nR2<|reward|>Q2\n[UNUSED_TOKEN_130]"]]


def test_batching_and_order() -> None:
    counter = Counter()
    texts = ["x" * i for i in range(1, 8)]
    with make(counter, batch_size=3) as rm:
        assert rm.score_texts(texts) == [float(i) for i in range(1, 8)]
        assert [len(json.loads(c.content)["input"]) for c in counter.calls] == [3, 3, 1]
        assert rm.score_texts([]) == []
        assert len(counter.calls) == 3
        assert rm.stats.requests == 3 and rm.stats.texts_scored == 7


def test_a_single_string_is_refused() -> None:
    with make(vllm_ok) as rm, pytest.raises(ConfigurationError):
        rm.score_texts("abc")
    with make(vllm_ok) as rm, pytest.raises(ConfigurationError):
        rm.score_texts(["a", 3])  # type: ignore[list-item]


# -- response parsing ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("backend", "body", "scores"),
    [
        ("vllm", {"data": [{"data": [[0.1], [2.5]]}, {"data": [[-1.0, 7.0]]}]}, [2.5, -1.0]),
        ("vllm", {"data": [{"data": [0.3, 1.5]}, {"data": [4]}]}, [1.5, 4.0]),
        ("lmdeploy", {"data": [{"data": 0.75}, {"data": -3}]}, [0.75, -3.0]),
        ("sglang", [{"embedding": [0.5, 9.0]}, {"embedding": 2}], [0.5, 2.0]),
    ],
)
def test_parses_every_documented_shape(backend: str, body: Any, scores: list[float]) -> None:
    with make(lambda r: httpx.Response(200, json=body), backend=backend) as rm:
        assert rm.score_texts(["a", "b"]) == scores


BAD_BODIES = [
    ("vllm", {"data": [{"data": [[1.0]]}]}, "got 1 scores"),
    ("vllm", {"data": [{"data": [[1.0]]}] * 3}, "got 3 scores"),
    ("vllm", [{"data": 1.0}, {"data": 1.0}], "'data' list"),
    ("vllm", {"data": "x"}, "'data' list"),
    ("vllm", {"data": [{"data": []}, {"data": 1.0}]}, "empty 'data'"),
    ("vllm", {"data": [{"data": [[]]}, {"data": 1.0}]}, "empty last row"),
    ("vllm", {"data": [{"data": "1.0"}, {"data": 1.0}]}, "expected a number"),
    ("vllm", {"data": [{"data": True}, {"data": 1.0}]}, "expected a number"),
    ("vllm", {"data": [{"score": 1.0}, {"data": 1.0}]}, "expected an object"),
    ("vllm", {"data": [{"data": [[None]]}, {"data": 1.0}]}, "expected a number"),
    ("sglang", {"data": []}, "JSON list"),
    ("sglang", [{"embedding": []}, {"embedding": [1.0]}], "empty 'embedding'"),
    ("sglang", [{"data": [1.0]}, {"embedding": [1.0]}], "expected an object"),
    ("sglang", [1.0, 2.0], "expected an object"),
]


@pytest.mark.parametrize(("backend", "body", "message"), BAD_BODIES)
def test_bad_shapes_raise_protocol_error_without_retry(backend: str, body: Any,
                                                      message: str) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json=body)

    with make(handler, backend=backend, max_retries=3) as rm:
        with pytest.raises(RemoteProtocolError, match=message) as info:
            rm.score_texts(["a", "b"])
    assert len(calls) == 1
    assert info.value.request == RequestInfo(method="POST", url=rm.url, backend=backend,
                                             n_texts=2, attempts=1)


@pytest.mark.parametrize("content", [b"not json", b'{"data": [', b"\xff\xfe", b"",
                                     b'{"data": [{"data": NaN}, {"data": 1}]}',
                                     b'{"data": [{"data": Infinity}, {"data": 1}]}'])
def test_invalid_json_or_non_finite_is_a_protocol_error(content: bytes) -> None:
    with make(lambda r: httpx.Response(200, content=content)) as rm:
        with pytest.raises(RemoteProtocolError):
            rm.score_texts(["a", "b"])


# -- errors, retries and their mapping -----------------------------------------------------------

# every exception httpx raises while sending, and what it must become (written out by hand)
TRANSPORT_ERRORS: list[tuple[type[httpx.RequestError], type[RemoteRewardError], bool]] = [
    (httpx.ConnectTimeout, RemoteTimeoutError, True),
    (httpx.ReadTimeout, RemoteTimeoutError, True),
    (httpx.WriteTimeout, RemoteTimeoutError, True),
    (httpx.PoolTimeout, RemoteTimeoutError, True),
    (httpx.TimeoutException, RemoteTimeoutError, True),
    (httpx.ConnectError, RemoteConnectionError, True),
    (httpx.ReadError, RemoteConnectionError, True),
    (httpx.WriteError, RemoteConnectionError, True),
    (httpx.CloseError, RemoteConnectionError, True),
    (httpx.NetworkError, RemoteConnectionError, True),
    (httpx.RemoteProtocolError, RemoteConnectionError, True),
    (httpx.LocalProtocolError, RemoteConnectionError, True),
    (httpx.ProtocolError, RemoteConnectionError, True),
    (httpx.ProxyError, RemoteConnectionError, True),
    (httpx.UnsupportedProtocol, RemoteConnectionError, True),
    (httpx.TransportError, RemoteConnectionError, True),
    (httpx.RequestError, RemoteConnectionError, True),
    (httpx.DecodingError, RemoteProtocolError, False),
    (httpx.TooManyRedirects, RemoteProtocolError, False),
]


def test_the_mapping_table_covers_every_httpx_request_error() -> None:
    raised_while_sending = {
        obj for obj in vars(httpx).values()
        if isinstance(obj, type) and issubclass(obj, httpx.RequestError)
    }
    assert raised_while_sending == {cls for cls, _, _ in TRANSPORT_ERRORS}


@pytest.mark.parametrize(("exc_type", "expected", "retried"), TRANSPORT_ERRORS)
def test_transport_errors_are_mapped(exc_type: type[httpx.RequestError],
                                     expected: type[RemoteRewardError], retried: bool) -> None:
    request = httpx.Request("POST", "http://rm.test:8000/pooling")
    counter = Counter(*[exc_type("boom", request=request)] * 10)
    with make(counter, max_retries=2) as rm:
        with pytest.raises(expected) as info:
            rm.score_texts(["a"])
    assert type(info.value) is expected
    assert isinstance(info.value.__cause__, exc_type)
    assert len(counter.calls) == (3 if retried else 1)
    assert info.value.request.attempts == len(counter.calls)
    assert info.value.request.n_texts == 1
    assert rm.stats.failed_batches == 1 and rm.stats.retries == len(counter.calls) - 1


@pytest.mark.parametrize(("status", "retried"),
                         [(500, True), (502, True), (503, True), (599, True), (400, False),
                          (401, False), (404, False), (408, False), (422, False), (429, False),
                          (301, False), (204, False)])
def test_status_codes(status: int, retried: bool) -> None:
    counter = Counter(*[status] * 10)
    with make(counter, max_retries=3) as rm:
        with pytest.raises((RemoteStatusError, RemoteProtocolError)) as info:
            rm.score_texts(["a"])
    assert len(counter.calls) == (4 if retried else 1)
    if status != 204:  # 204 is a success status with no JSON body
        assert isinstance(info.value, RemoteStatusError)
        assert info.value.status_code == status
        assert f"HTTP {status}" in str(info.value)


def test_retry_then_success_and_stats() -> None:
    request = httpx.Request("POST", "http://rm.test:8000/pooling")
    counter = Counter(503, httpx.ConnectError("refused", request=request),
                      httpx.ReadTimeout("slow", request=request))
    with make(counter, max_retries=3) as rm:
        assert rm.score_texts(["ab"]) == [2.0]
        stats = rm.stats
        assert (stats.requests, stats.retries, stats.failed_batches, stats.texts_scored) == (
            4, 3, 0, 1)
        rm.reset_stats()
        assert rm.stats == remote.ClientStats()


def test_zero_retries_means_one_attempt() -> None:
    counter = Counter(500, 500)
    with make(counter, max_retries=0) as rm, pytest.raises(RemoteStatusError):
        rm.score_texts(["a"])
    assert len(counter.calls) == 1


def test_backoff_is_exponential_capped_and_jittered(monkeypatch: pytest.MonkeyPatch) -> None:
    import unireward.remote._base as base_module

    slept: list[float] = []
    monkeypatch.setattr(base_module.time, "sleep", slept.append)
    counter = Counter(*[500] * 7)
    with make(counter, max_retries=6, backoff=0.1, backoff_max=1.0) as rm:
        with pytest.raises(RemoteStatusError):
            rm.score_texts(["a"])
    caps = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert len(slept) == len(caps)
    for delay, cap in zip(slept, caps, strict=True):
        assert 0.5 * cap <= delay <= cap


def test_first_failing_batch_stops_the_sync_call() -> None:
    counter = Counter(None, 400, None)
    with make(counter, batch_size=1) as rm, pytest.raises(RemoteStatusError):
        rm.score_texts(["a", "b", "c"])
    assert len(counter.calls) == 2


# -- async twin ---------------------------------------------------------------------------------

def test_async_client_with_mock_transport() -> None:
    counter = Counter(503, None, None, None)

    async def main() -> tuple[list[float], remote.ClientStats]:
        async with AsyncPolarClient(base_url="http://rm.test", batch_size=2, backoff=0.0,
                                    transport=httpx.MockTransport(counter)) as rm:
            return await rm.score_pairs(["q"] * 5, ["r"] * 5, ["", "a", "ab", "abc", "x"]), \
                rm.stats

    scores, stats = asyncio.run(main())
    base = len("q\nr<|reward|>q\n[UNUSED_TOKEN_130]")
    assert scores == [float(base + k) for k in (0, 1, 2, 3, 1)]
    assert stats.requests == 4 and stats.retries == 1 and stats.texts_scored == 5


def test_async_errors_are_raised_in_batch_order() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        texts = json.loads(request.content)["input"]
        return httpx.Response(404 if texts == ["b"] else 400 if texts == ["c"] else 200,
                              json={"data": [{"data": 1.0}]})

    async def main() -> None:
        async with AsyncPolarClient(base_url="http://rm.test", batch_size=1,
                                    transport=httpx.MockTransport(handler)) as rm:
            await rm.score_texts(["a", "b", "c"])

    with pytest.raises(RemoteStatusError) as info:
        asyncio.run(main())
    assert info.value.status_code == 404


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = ("import sys, unireward.remote; "
            "heavy = [m for m in ('transformers', 'tokenizers', 'torch') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)
