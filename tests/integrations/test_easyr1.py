"""EasyR1 and OneThinker's EasyR1 fork: the reward file loaded and called the way they do.

EasyR1 is not published on the package index (and its package is also named ``verl``), so
its loader and its two reward managers are reproduced here step by step from
``verl/workers/reward/config.py`` and ``verl/workers/reward/function.py`` (upstream and the
fork): ``reward_function`` is split with ``rsplit(":", 1)`` (``NAME`` defaults to ``main``),
the file is loaded with ``spec_from_file_location("custom_reward_fn", PATH)`` and registered
in ``sys.modules``, the function is wrapped in ``functools.partial(fn, **kwargs)``, the
``overall`` value goes on the last response token and every key of every score dict is
appended to a metric list that is then averaged.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import numpy as np
import pytest
import yaml

import unireward
import unireward.integrations.easyr1 as easyr1_module
from unireward.errors import ConfigurationError

from ._support import doc_block

DELIBERATE = {"captioning", "open_ended_polar_path"}  # see reward-spec.md
PATH = easyr1_module.__file__


@pytest.fixture
def clean_modules() -> Iterator[None]:
    saved = sys.modules.get("custom_reward_fn")
    yield
    if saved is None:
        sys.modules.pop("custom_reward_fn", None)
    else:
        sys.modules["custom_reward_fn"] = saved


def easyr1_load(
    reward_function: str, reward_function_kwargs: dict[str, Any] | None = None
) -> Callable[..., Any]:
    """EasyR1's RewardConfig.post_init plus FunctionRewardManager.__init__."""
    if ":" not in reward_function:
        path, name = reward_function, "main"
    else:
        path, name = reward_function.rsplit(":", maxsplit=1)
    assert os.path.exists(path)
    path = os.path.abspath(path)
    spec = importlib.util.spec_from_file_location("custom_reward_fn", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["custom_reward_fn"] = module
    spec.loader.exec_module(module)
    assert hasattr(module, name), f"{path} has no {name}"
    return partial(getattr(module, name), **(reward_function_kwargs or {}))


def _manager_output(
    scores: list[dict[str, Any]], lengths: list[int]
) -> tuple[np.ndarray, dict[str, float]]:
    """The managers' tail: reward on the last response token, metrics averaged per key."""
    reward = np.zeros((len(lengths), max(lengths) + 2), dtype=np.float32)
    metrics: dict[str, list[Any]] = defaultdict(list)
    for i, s in enumerate(scores):
        reward[i, lengths[i] - 1] = s["overall"]
        for key, value in s.items():
            metrics[key].append(value)
    assert all(len(v) == len(scores) for v in metrics.values()), "a key is missing from some dicts"
    return reward, {k: float(np.mean(v)) for k, v in metrics.items()}


def run_batch_manager(
    fn: Callable[..., Any], inputs: list[dict[str, Any]]
) -> tuple[np.ndarray, dict[str, float]]:
    scores = fn(inputs)
    assert isinstance(scores, list) and len(scores) == len(inputs)
    return _manager_output(scores, [x["response_length"] for x in inputs])


def run_sequential_manager(
    fn: Callable[..., Any], inputs: list[dict[str, Any]]
) -> tuple[np.ndarray, dict[str, float]]:
    scores = [fn(x) for x in inputs]
    assert all(isinstance(s, dict) for s in scores)
    return _manager_output(scores, [x["response_length"] for x in inputs])


def upstream_input(completion: str, ground_truth: str) -> dict[str, Any]:
    return {
        "response": completion,
        "response_length": max(1, len(completion.split())),
        "ground_truth": ground_truth,
    }


def fork_input(row: dict[str, Any], i: int) -> dict[str, Any]:
    return {**upstream_input(row["completion"], row["ground_truth"]), "data_type": row["data_type"],
            "problem_type": row["problem_type"], "problem": f"question {i}", "problem_id": str(i)}


def test_module_loads_by_file_path_without_the_package_context(clean_modules: None) -> None:
    fn = easyr1_load(f"{PATH}:compute_score")
    assert sys.modules["custom_reward_fn"].__name__ == "custom_reward_fn"
    assert fn.func.__module__ == "custom_reward_fn"  # type: ignore[attr-defined]
    default = easyr1_load(PATH)  # NAME defaults to main
    assert default.func.__name__ == "compute_score"  # type: ignore[attr-defined]


def test_fork_batch_and_sequential_reproduce_the_reference(
    reference_rows: list[dict], clean_modules: None
) -> None:
    rows = [r for r in reference_rows if r["task"] not in DELIBERATE]
    inputs = [fork_input(r, i) for i, r in enumerate(rows)]
    want = [
        unireward.score(
            r["completion"], r["ground_truth"], r["problem_type"], data_type=r["data_type"]
        )
        for r in rows
    ]
    batch_fn = easyr1_load(f"{PATH}:compute_score")
    seq_fn = easyr1_load(f"{PATH}:compute_score")
    for run, fn in ((run_batch_manager, batch_fn), (run_sequential_manager, seq_fn)):
        reward, metrics = run(fn, inputs)
        for i, (row, w, x) in enumerate(zip(rows, want, inputs, strict=True)):
            assert reward[i, x["response_length"] - 1] == pytest.approx(w.total, abs=1e-6)
            assert reward[i].sum() == pytest.approx(row["expected_reward"], abs=1e-6), row["notes"]
        assert set(metrics) == set(easyr1_module.KEYS)
        assert metrics["unscored"] == 0.0
        assert metrics["accuracy"] == pytest.approx(
            np.mean([r["components"]["accuracy"] for r in rows]), abs=1e-6
        )


def test_upstream_inputs_take_the_task_from_the_kwargs(clean_modules: None) -> None:
    inputs = [upstream_input("<think>t</think><answer>A</answer>", "A"),
              upstream_input("<think>t</think><answer>B</answer>", "A")]
    fn = easyr1_load(
        f"{PATH}:compute_score", {"default_task": "multiple choice", "format_weight": 0.5}
    )
    reward, metrics = run_batch_manager(fn, inputs)
    # format_weight w: overall = (1 - w) * accuracy + w * format + structure
    assert reward.sum(axis=1).tolist() == [pytest.approx(0.5 + 0.5 + 0.5), pytest.approx(0.5 + 0.5)]
    assert metrics["unscored"] == 0.0
    strict = easyr1_load(
        f"{PATH}:compute_score", {"default_task": "numerical", "profile": "strict"}
    )
    [s] = strict([upstream_input("<think>t</think><answer>4</answer>", "4")])
    assert s["overall"] == unireward.score("<think>t</think><answer>4</answer>", "4", "numerical",
                                           profile="strict").total


def test_missing_or_unknown_task_is_recorded_never_a_silent_zero(
        clean_modules: None, caplog: pytest.LogCaptureFixture) -> None:
    good = {
        **upstream_input("<think>t</think><answer>4</answer>", "4"),
        "problem_type": "numerical",
    }
    inputs = [good, upstream_input("<think>t</think><answer>4</answer>", "4"),
              {**good, "problem_type": "no such task"}, {**good, "ground_truth": None}]
    fn = easyr1_load(f"{PATH}:compute_score")
    with caplog.at_level(logging.WARNING, logger="unireward.integrations"):
        scores = fn(inputs)
    assert [s["unscored"] for s in scores] == [0.0, 1.0, 1.0, 1.0]
    assert scores[0]["overall"] == 1.5
    assert all(
        list(s) == list(easyr1_module.KEYS) and all(type(v) is float for v in s.values())
        for s in scores
    )
    [warning] = [r for r in caplog.records if "could not be scored" in r.getMessage()]
    assert "3 of 4" in warning.getMessage()
    _, metrics = run_batch_manager(fn, inputs)
    assert metrics["unscored"] == 0.75


def test_bad_options_fail_before_scoring(clean_modules: None) -> None:
    x = upstream_input("<think>t</think><answer>A</answer>", "A")
    with pytest.raises(ConfigurationError, match="profile"):
        easyr1_load(
            f"{PATH}:compute_score", {"profile": "lenient", "default_task": "multiple choice"}
        )([x])
    with pytest.raises(ConfigurationError, match="no_such_option"):
        easyr1_load(f"{PATH}:compute_score", {"no_such_option": 1})([x])


def test_documented_yaml_is_the_tested_configuration(clean_modules: None) -> None:
    config = yaml.safe_load(doc_block("easyr1-yaml"))
    reward = config["worker"]["reward"]
    assert reward["reward_type"] in ("batch", "sequential")
    spec = reward["reward_function"].replace("/path/to/unireward/integrations/easyr1.py", PATH)
    fn = easyr1_load(spec, reward.get("reward_function_kwargs"))
    x = {
        **upstream_input("<think>t</think><answer>A</answer>", "A"),
        "problem_type": "multiple choice",
        "data_type": "image",
        "problem": "q",
        "problem_id": "1",
    }
    reward_tensor, metrics = run_batch_manager(fn, [x, x])
    assert reward_tensor.sum() == 3.0 and metrics["unscored"] == 0.0


def test_open_ended_answers_go_to_the_reward_model_per_problem(clean_modules: None) -> None:
    from remote.polar_server import PolarServer  # tests/ is on sys.path
    from unireward.remote import PolarClient

    answers = ["a man cooks pasta", "pasta", "a woman sings", "someone is cooking"]
    inputs = [
        {
            "response": f"<think>t</think><answer>{a}</answer>",
            "response_length": 3,
            "ground_truth": "the man is cooking pasta",
            "problem_type": "open-ended",
            "data_type": "video",
            "problem": "what happens?",
            "problem_id": "p1" if i < 2 else "p2",
        }
        for i, a in enumerate(answers)
    ]
    with PolarServer() as server:
        fn = easyr1_load(f"{PATH}:compute_score", {"reward_model_url": server.url})
        reward, metrics = run_batch_manager(fn, inputs)
        assert len(server.texts_received) == 4  # the whole batch, once
        with PolarClient(base_url=server.url) as client:
            want = unireward.score_batch(
                [
                    {
                        "completion": x["response"],
                        "ground_truth": x["ground_truth"],
                        "task": "open-ended",
                        "problem_id": x["problem_id"],
                        "prompt": x["problem"],
                    }
                    for x in inputs
                ],
                reward_model=client,
            )
    assert reward.sum(axis=1).tolist() == pytest.approx([w.total for w in want])
    rouge = [unireward.score(x["response"], x["ground_truth"], "open-ended").total for x in inputs]
    assert reward.sum(axis=1).tolist() != pytest.approx(rouge)  # the reward model, not ROUGE
    assert metrics["unscored"] == 0.0
