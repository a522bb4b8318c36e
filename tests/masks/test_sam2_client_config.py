"""The SAM2 client's options (one frozen configuration, the POLAR clients' checks) and the
outcome helpers shared by the mask scorers; no server, no SAM2."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from typing import Any

import httpx
import pytest

from unireward.errors import ConfigurationError, RemoteProtocolError
from unireward.masks import Sam2Client, Sam2ClientConfig
from unireward.masks._outcomes import (
    complete,
    error_outcome,
    failure_reason,
    fallback_outcome,
    outcome_from_json,
    outcome_to_json,
)
from unireward.remote import ClientConfig, PolarConfig, RequestInfo
from unireward.result import Status, TaskOutcome

SHARED_BAD_VALUES: list[dict[str, Any]] = [
    {"base_url": ""}, {"base_url": "ftp://x.test"}, {"batch_size": 0}, {"batch_size": 1.5},
    {"max_retries": -1}, {"timeout": float("nan")}, {"backoff": -1}, {"backoff_max": "1"},
    {"headers": {"A": 1}}, {"max_concurrency": 0}, {"max_concurrency": True},
]


@pytest.mark.parametrize("options", SHARED_BAD_VALUES)
def test_the_shared_options_are_checked_as_for_polar(options: dict[str, Any]) -> None:
    kwargs = {"base_url": "http://x.test"} | options
    with pytest.raises(ConfigurationError) as polar:
        PolarConfig(**kwargs)
    with pytest.raises(ConfigurationError) as config:
        Sam2ClientConfig(**kwargs)
    with pytest.raises(ConfigurationError) as client:
        Sam2Client(**kwargs)
    assert str(polar.value) == str(config.value) == str(client.value)
    assert next(iter(options)) in str(client.value)


def test_fallback_is_checked() -> None:
    for make in (Sam2ClientConfig, Sam2Client):
        with pytest.raises(ConfigurationError, match="fallback must be None or 'points'"):
            make(base_url="http://x.test", fallback="rouge")


def test_the_keyword_defaults_are_the_configuration_defaults() -> None:
    params = inspect.signature(Sam2Client).parameters
    for field in dataclasses.fields(Sam2ClientConfig):
        default = None if field.default is dataclasses.MISSING else field.default
        assert params[field.name].default == default, field.name
    cfg = Sam2ClientConfig(base_url="http://x.test")
    assert isinstance(cfg, ClientConfig)
    # the service's own defaults, not the reward model's
    assert (cfg.timeout, cfg.max_retries, cfg.backoff, cfg.backoff_max, cfg.max_concurrency) == (
        120.0, 3, 0.5, 4.0, 4)


def test_a_ready_configuration_and_pickling() -> None:
    cfg = Sam2ClientConfig(base_url="127.0.0.1:9", batch_size=3, fallback="points",
                           headers={"Authorization": "Bearer t"}, timeout=httpx.Timeout(5.0))
    c = Sam2Client(config=cfg)
    assert c.config is cfg and c.url == "http://127.0.0.1:9/segmentation"
    assert (c.batch_size, c.fallback, c.max_concurrency, c.timeout) == (
        3, "points", 4, httpx.Timeout(5.0))
    d = pickle.loads(pickle.dumps(c))
    assert d.config == cfg and d.stats.requests == 0
    with pytest.raises(ConfigurationError, match="not both"):
        Sam2Client(config=cfg, fallback="points")
    with pytest.raises(ConfigurationError, match="config must be a Sam2ClientConfig"):
        Sam2Client(config=PolarConfig(base_url="http://x.test"))  # type: ignore[arg-type]
    c.close()
    d.close()


def test_a_client_pickled_with_its_keyword_options_still_loads() -> None:
    # the state earlier versions pickled: the constructor's keyword options
    old_state = {"base_url": "http://x.test", "batch_size": 5, "max_concurrency": 2,
                 "timeout": 60.0, "max_retries": 1, "backoff": 0.1, "backoff_max": 1.0,
                 "fallback": "points", "headers": {}, "trust_env": False}
    c = Sam2Client.__new__(Sam2Client)
    c.__setstate__(old_state)
    assert (c.batch_size, c.max_concurrency, c.fallback, c.max_retries) == (5, 2, "points", 1)
    assert c.url == "http://x.test/segmentation"
    c.close()


# -- outcome helpers ---------------------------------------------------------------------

INFO = RequestInfo(method="POST", url="http://x.test/segmentation", backend="sam2", n_texts=1)


def test_an_outcome_survives_its_wire_format() -> None:
    o = TaskOutcome(0.25, 0.5, Status.FALLBACK, "why", {"mask_iou": 0.25})
    assert outcome_from_json(outcome_to_json(o), 0, INFO) == o
    row = {"accuracy": 1, "structure": 0, "status": "ok", "reason": None, "details": None}
    assert outcome_from_json(row, 0, INFO) == TaskOutcome(1.0, 0.0)


@pytest.mark.parametrize(("row", "message"), [
    ([1, 2], "outcome 3 is not an object"),
    ({"accuracy": float("nan"), "structure": 0.5, "status": "ok"}, "accuracy must be a finite"),
    ({"accuracy": 0.5, "structure": float("inf"), "status": "ok"}, "structure must be a finite"),
    ({"accuracy": True, "structure": 0.5, "status": "ok"}, "accuracy must be a finite"),
    ({"accuracy": 0.5, "structure": 0.5, "status": "great"}, "bad status"),
    ({"accuracy": 0.5, "structure": 0.5, "status": ["ok"]}, "bad status"),
    ({"accuracy": 0.5, "structure": 0.5, "status": "ok", "reason": 3}, "bad status, reason"),
    ({"accuracy": 0.5, "structure": 0.5, "status": "ok", "details": []}, "or details"),
])
def test_a_bad_outcome_is_a_protocol_error(row: Any, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=message) as info:
        outcome_from_json(row, 3, INFO)
    assert info.value.request == INFO


def test_failures_and_fallbacks() -> None:
    err = error_outcome(ValueError("x" * 1000))
    assert err.status is Status.ERROR and (err.accuracy, err.structure) == (0.0, 0.0)
    assert err.reason is not None and err.reason.startswith("ValueError: xxx")
    assert len(err.reason) == 500
    assert failure_reason(KeyError("k"), "failed ({}), sorry") == "failed (KeyError: 'k'), sorry"
    base = TaskOutcome(0.7, 0.5, Status.OK, None, {"d": 1})
    assert fallback_outcome(base, "r") == TaskOutcome(0.7, 0.5, Status.FALLBACK, "r", {"d": 1})
    assert fallback_outcome(None, "r") == TaskOutcome(0.0, 0.0, Status.FALLBACK, "r")


def test_complete_refuses_a_missing_outcome() -> None:
    a, b = TaskOutcome(1.0, 0.5), TaskOutcome(0.0, 0.0)
    assert complete([a, b]) == [a, b]
    with pytest.raises(AssertionError, match=r"items \[1\]"):
        complete([a, None])
