"""The clients' options: one frozen configuration, checked once, the same for both clients."""

from __future__ import annotations

import dataclasses
import inspect
import json
from typing import Any

import httpx
import pytest

from unireward.errors import ConfigurationError, RemoteStatusError
from unireward.remote import AsyncPolarClient, ClientConfig, PolarClient, PolarConfig

CLIENTS = [PolarClient, AsyncPolarClient]

# each bad value, and the words the error must contain (written by hand)
BAD_VALUES: list[tuple[dict[str, Any], str]] = [
    ({"base_url": ""}, "base_url must be a non-empty str"),
    ({"base_url": None}, "base_url must be a non-empty str"),
    ({"base_url": "ftp://rm.test"}, "http(s) URL with a host"),
    ({"base_url": "http://"}, "base_url"),
    ({"backend": "tgi"}, "backend must be one of"),
    ({"model": 3}, "model must be a str"),
    ({"batch_size": 0}, "batch_size must be an int >= 1"),
    ({"batch_size": 2.5}, "batch_size must be an int >= 1"),
    ({"batch_size": True}, "batch_size must be an int >= 1"),
    ({"max_retries": -1}, "max_retries must be an int >= 0"),
    ({"max_retries": "3"}, "max_retries must be an int >= 0"),
    ({"timeout": -1.0}, "timeout must be a finite number of seconds"),
    ({"timeout": float("inf")}, "timeout must be a finite number of seconds"),
    ({"timeout": None}, "timeout must be a finite number of seconds"),
    ({"backoff": float("nan")}, "backoff must be a finite number of seconds"),
    ({"backoff_max": -0.5}, "backoff_max must be a finite number of seconds"),
    ({"headers": {"X-Token": 3}}, "headers must map str to str"),
    ({"headers": 5}, "headers must be a mapping"),
    ({"max_concurrency": 0}, "max_concurrency must be an int >= 1"),
]


def _client_kwargs(cls: type, options: dict[str, Any]) -> dict[str, Any]:
    kwargs = {"base_url": "http://rm.test"} | options
    if cls is PolarClient and "max_concurrency" in kwargs:  # its name for the pool size
        kwargs["max_connections"] = kwargs.pop("max_concurrency")
    return kwargs


@pytest.mark.parametrize(("options", "message"), BAD_VALUES)
def test_each_bad_value_is_refused_the_same_way_everywhere(options: dict[str, Any],
                                                           message: str) -> None:
    errors = []
    for make in [lambda: PolarConfig(**({"base_url": "http://rm.test"} | options)),
                 *[lambda cls=cls: cls(**_client_kwargs(cls, options)) for cls in CLIENTS]]:
        with pytest.raises(ConfigurationError) as info:
            make()
        assert message in str(info.value)
        errors.append(str(info.value))
    assert len(set(errors)) == 1  # one check, one message


@pytest.mark.parametrize("cls", CLIENTS)
def test_the_keyword_defaults_are_the_configuration_defaults(cls: type) -> None:
    params = inspect.signature(cls).parameters
    for field in dataclasses.fields(PolarConfig):
        name = "max_connections" if (cls is PolarClient and field.name == "max_concurrency") \
            else field.name
        default = None if field.default is dataclasses.MISSING else field.default
        assert params[name].default == default, name


def test_the_configuration_is_normalised_and_frozen() -> None:
    cfg = PolarConfig(base_url=" 127.0.0.1:8000/ ", batch_size=8, timeout=5,
                      headers={"Authorization": "Bearer t"})
    assert cfg.base_url == "http://127.0.0.1:8000"
    assert cfg.timeout == 5.0 and isinstance(cfg.timeout, float)
    assert cfg.httpx_timeout == httpx.Timeout(5.0)
    assert cfg.headers == (("Authorization", "Bearer t"),)
    assert cfg.header_dict() == {"Authorization": "Bearer t"}
    assert (
        cfg.concurrency(4) == 4 and dataclasses.replace(cfg, max_concurrency=2).concurrency(4) == 2
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.batch_size = 1  # type: ignore[misc]
    assert isinstance(cfg, ClientConfig)
    assert PolarConfig(base_url="http://a", batch_size=8) == PolarConfig(base_url="http://a/",
                                                                         batch_size=8)


@pytest.mark.parametrize("cls", CLIENTS)
def test_a_client_takes_a_ready_configuration(cls: type) -> None:
    cfg = PolarConfig(base_url="http://rm.test", backend="sglang", batch_size=3,
                      max_retries=1, max_concurrency=2, headers={"X-A": "b"})
    rm = cls(config=cfg)
    assert rm.config is cfg
    assert (rm.base_url, rm.backend, rm.batch_size, rm.max_retries, rm.max_concurrency) == (
        "http://rm.test", "sglang", 3, 1, 2)
    assert rm.url == "http://rm.test/classify"
    assert rm.timeout == httpx.Timeout(30.0)
    with pytest.raises(ConfigurationError, match=r"not both \(got \['batch_size'\]\)"):
        cls(config=cfg, batch_size=4)
    with pytest.raises(ConfigurationError, match="not both"):
        cls(config=cfg, base_url="http://other")
    with pytest.raises(ConfigurationError, match="config must be a PolarConfig"):
        cls(config={"base_url": "http://rm.test"})


def test_pool_sizes_when_not_given() -> None:
    assert PolarClient(base_url="http://rm.test").max_connections == 4
    assert AsyncPolarClient(base_url="http://rm.test").max_concurrency == 8
    assert PolarClient(base_url="http://rm.test", max_connections=2).max_concurrency == 2


@pytest.mark.parametrize("cls", CLIENTS)
def test_per_request_options_can_be_set_and_are_checked(cls: type) -> None:
    rm = cls(base_url="http://rm.test")
    rm.batch_size = 50
    rm.model = "other"
    assert rm.batch_size == 50 and rm.config.batch_size == 50 and rm.config.model == "other"
    with pytest.raises(ConfigurationError, match="batch_size must be an int >= 1"):
        rm.batch_size = 0
    assert rm.batch_size == 50
    with pytest.raises(AttributeError):
        rm.base_url = "http://elsewhere"  # fixed in the connection pool


def test_score_batches_and_count_fallback_are_public() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        texts = json.loads(request.content)["input"]
        if texts == ["c", "d"]:
            return httpx.Response(400, text="no")
        return httpx.Response(200, json={"data": [{"data": float(len(t))} for t in texts]})

    with PolarClient(base_url="http://rm.test", batch_size=2,
                     transport=httpx.MockTransport(handler)) as rm:
        first, second, third = rm.score_batches(["a", "bb", "c", "d", "eee"])
        assert first == [1.0, 2.0] and third == [3.0]
        assert isinstance(second, RemoteStatusError) and second.request.n_texts == 2
        assert len(rm.score_batches(["a", "bb", "c", "d", "eee"], stop_on_error=True)) == 2
        rm.count_fallback(2)
        assert rm.stats.fallback_samples == 2
        with pytest.raises(ConfigurationError):
            rm.count_fallback(-1)
