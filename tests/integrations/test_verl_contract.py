"""verl loads and calls unireward its own way: the contract, through verl's own code.

The reward function is named in verl's config (composed with hydra from verl's
``ppo_trainer.yaml`` plus the overrides shown in docs/integrations.md), loaded by
``load_extern_object`` (a file path and ``pkg://``), wrapped by ``get_custom_reward_fn`` and
run by the ``workers/reward_manager`` naive, batch and dapo managers and by the reward
loop's worker (naive manager, ``run_single``) with and without ``reward_router_address``,
on a ``DataProto`` whose token ids come from a word-level tokenizer built in the test.
"""

from __future__ import annotations

import inspect
import logging
import os
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ._support import doc_block, require

require("verl")
torch = require("torch")

import unireward  # noqa: E402
from remote.polar_server import PolarServer  # noqa: E402  (tests/ is on sys.path)
from unireward.errors import ConfigurationError  # noqa: E402
from unireward.integrations import verl as uv  # noqa: E402
from unireward.remote import PolarClient, PolarEncoder  # noqa: E402

pytestmark = pytest.mark.integration

MODULE_FILE = uv.__file__
PKG = "pkg://unireward.integrations.verl"

# (data_source, prompt, response, ground truth, extra_info); responses are single-spaced
# words, so the word-level tokenizer decodes them back exactly.
SAMPLES: list[tuple[str, str, str, Any, dict[str, Any]]] = [
    (
        "onethinker",
        "which option ?",
        "<think> look </think> <answer> B </answer>",
        "B",
        {"problem_type": "multiple choice", "data_type": "image", "problem_id": "p0"},
    ),
    (
        "onethinker",
        "how many ?",
        "<think> count </think> <answer> 5 </answer>",
        "4",
        {"problem_type": "numerical", "data_type": "image", "problem_id": "p1"},
    ),
    (
        "onethinker",
        "when ?",
        '<think> watch </think> <answer> {"time": [1, 3]} </answer>',
        '{"time": [2, 4]}',
        {"problem_type": "temporal grounding", "data_type": "video", "problem_id": "p2"},
    ),
    (
        "onethinker",
        "what happens ?",
        "<think> see </think> <answer> a man cooks pasta </answer>",
        "the man is cooking pasta",
        {
            "problem_type": "open-ended",
            "data_type": "video",
            "problem_id": "p3",
            "problem": "what happens ?",
        },
    ),
    (
        "onethinker",
        "which option ?",
        "<think> look </think> <answer> B </answer>",
        "B",
        {"data_type": "image"},
    ),
    (
        "onethinker",
        "which option ?",
        "<think> look </think> <answer> B </answer>",
        "B",
        {"problem_type": "no such task"},
    ),
    (
        "onethinker",
        "how many ?",
        "<think> count </think> <answer> 4 </answer>",
        "four",
        {"problem_type": "numerical", "data_type": "image"},
    ),
]
UNSCORABLE = {4, 5, 6}
OPEN_ENDED = 3


def _words() -> list[str]:
    words = {w for _, p, r, _, _ in SAMPLES for w in (p + " " + r).split()}
    return sorted(words)


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A word-level tokenizer saved as a model folder (what verl's ``hf_tokenizer`` loads)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["<pad>", "<eos>", "<unk>", *_words()])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>"
    )
    folder = tmp_path_factory.mktemp("tokenizer")
    fast.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tokenizer(tokenizer_dir: Path) -> Any:
    from verl.utils import hf_tokenizer

    return hf_tokenizer(str(tokenizer_dir))


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def make_batch(
    tokenizer: Any, samples: list[tuple[str, str, str, Any, dict[str, Any]]] = SAMPLES
) -> Any:
    """A rollout batch as verl's trainer hands it to reward managers: left-padded prompts,
    right-padded responses (with an EOS), one attention mask over both."""
    from verl import DataProto

    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    prompts = [tokenizer(p, add_special_tokens=False)["input_ids"] for _, p, _, _, _ in samples]
    responses = [
        tokenizer(r, add_special_tokens=False)["input_ids"] + [eos] for _, _, r, _, _ in samples
    ]
    assert all(tokenizer.unk_token_id not in ids for ids in prompts + responses)
    plen, rlen = max(map(len, prompts)), max(map(len, responses)) + 2
    p_ids = torch.tensor([[pad] * (plen - len(p)) + p for p in prompts])
    r_ids = torch.tensor([r + [pad] * (rlen - len(r)) for r in responses])
    p_mask = torch.tensor([[0] * (plen - len(p)) + [1] * len(p) for p in prompts])
    r_mask = torch.tensor([[1] * len(r) + [0] * (rlen - len(r)) for r in responses])
    mask = torch.cat([p_mask, r_mask], dim=1)
    return DataProto.from_dict(
        tensors={
            "prompts": p_ids,
            "responses": r_ids,
            "input_ids": torch.cat([p_ids, r_ids], dim=1),
            "attention_mask": mask,
            "response_mask": r_mask,
            "position_ids": (torch.cumsum(mask, dim=1) - 1).clamp(min=0),
        },
        non_tensors={
            "data_source": _objects([s[0] for s in samples]),
            "reward_model": _objects([{"ground_truth": s[3], "style": "rule"} for s in samples]),
            "extra_info": _objects([dict(s[4]) for s in samples]),
            "uid": _objects([f"u{i}" for i in range(len(samples))]),
        },
    )


def expected_results(**options: Any) -> list[unireward.RewardResult]:
    """What unireward itself says, sample by sample (``score`` where it can score; the
    recorded result of ``score_batch`` for the unscorable ones)."""
    out = []
    for i, (_, _, response, gt, info) in enumerate(SAMPLES):
        if i in UNSCORABLE:
            [r] = unireward.score_batch([{"completion": response, "ground_truth": gt,
                                          "task": info.get("problem_type")}], errors="record")
        else:
            r = unireward.score(
                response, gt, info["problem_type"], data_type=info.get("data_type"), **options
            )
        out.append(r)
    return out


def verl_config(tmp: Path, overrides: list[str]) -> Any:
    """verl's own trainer config (``ppo_trainer.yaml``) with command-line overrides."""
    import verl
    from hydra import compose, initialize_config_dir

    folder = os.path.join(os.path.dirname(verl.__file__), "trainer", "config")
    with initialize_config_dir(config_dir=folder, version_base=None):
        return compose(config_name="ppo_trainer", overrides=overrides)


def documented_overrides(block: str) -> list[str]:
    """The ``key=value`` overrides of a documented verl command line."""
    words = shlex.split(doc_block(block).replace("\\\n", " "))
    return [w for w in words if "=" in w and not w.startswith("-")]


def check_manager_output(data: Any, reward_tensor: Any, extra: dict[str, list[Any]],
                         want: list[unireward.RewardResult]) -> None:
    prompt_len = data.batch["prompts"].shape[-1]
    lengths = data.batch["attention_mask"][:, prompt_len:].sum(-1).tolist()
    assert reward_tensor.shape == data.batch["responses"].shape
    for i, (n, w) in enumerate(zip(lengths, want, strict=True)):
        assert reward_tensor[i, n - 1].item() == pytest.approx(w.total, abs=1e-6), i
        assert (
            torch.count_nonzero(reward_tensor[i, : n - 1]) == 0
            and torch.count_nonzero(reward_tensor[i, n:]) == 0
        )
    assert set(extra) == set(uv.RESULT_KEYS)
    assert all(len(v) == len(want) for v in extra.values())
    assert [s for s in extra["status"]] == [w.status.value for w in want]
    for i in range(len(want)):
        assert (extra["status"][i] in ("error", "ground_truth_error")) == (i in UNSCORABLE)
        assert bool(extra["reason"][i]) == (i in UNSCORABLE or want[i].reason is not None)
    assert "missing 'task'" in extra["reason"][4]
    assert "no such task" in extra["reason"][5]


# -- loading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [MODULE_FILE, PKG, "file://" + MODULE_FILE])
def test_load_extern_object_gives_plain_functions(path: str) -> None:
    from verl.utils.import_utils import load_extern_object

    for name in ("compute_score", "compute_score_batch"):
        fn = load_extern_object(module_path=path, object_name=name)
        assert inspect.isfunction(fn) and not inspect.iscoroutinefunction(fn)
    fn = load_extern_object(module_path=path, object_name="compute_score")
    r = fn(data_source="x", solution_str="<think>t</think><answer>B</answer>", ground_truth="B",
           extra_info={"problem_type": "multiple choice"})
    assert r["score"] == 1.5 and r["status"] == "ok"


def test_documented_overrides_through_get_custom_reward_fn(tmp_path: Path, tokenizer: Any) -> None:
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.workers.reward_manager.naive import NaiveRewardManager

    cfg = verl_config(tmp_path, documented_overrides("verl-overrides"))
    assert cfg.reward.custom_reward_function.path == PKG
    fn = get_custom_reward_fn(cfg)
    out = NaiveRewardManager(tokenizer=tokenizer, num_examine=0, compute_score=fn)(
        make_batch(tokenizer), return_dict=True
    )
    check_manager_output(
        make_batch(tokenizer), out["reward_tensor"], out["reward_extra_info"], expected_results()
    )


def test_reward_kwargs_reach_the_scorer_and_bad_ones_fail_fast(tmp_path: Path) -> None:
    from verl.trainer.ppo.reward import get_custom_reward_fn

    base = [
        f"reward.custom_reward_function.path={MODULE_FILE}",
        "reward.custom_reward_function.name=compute_score",
    ]
    strict = get_custom_reward_fn(
        verl_config(
            tmp_path,
            [
                *base,
                "+reward.custom_reward_function.reward_kwargs.profile=strict",
                "+reward.custom_reward_function.reward_kwargs.format_weight=0.5",
            ],
        )
    )
    text, gt = "<think>t</think><answer>4.0</answer>", "4"
    got = strict(
        data_source="x",
        solution_str=text,
        ground_truth=gt,
        extra_info={"problem_type": "numerical"},
    )
    assert (
        got["score"]
        == unireward.score(text, gt, "numerical", profile="strict", format_weight=0.5).total
    )
    bad = get_custom_reward_fn(
        verl_config(
            tmp_path, [*base, "+reward.custom_reward_function.reward_kwargs.profile=lenient"]
        )
    )
    with pytest.raises(ConfigurationError, match="profile"):
        bad(
            data_source="x",
            solution_str=text,
            ground_truth=gt,
            extra_info={"problem_type": "numerical"},
        )
    with pytest.raises(ConfigurationError, match="profile"):
        uv.make_compute_score(profile="lenient")
    with pytest.raises(ConfigurationError, match="task_kee"):
        uv.make_compute_score(task_kee="kind")


def test_unknown_keywords_are_ignored_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    kw = {
        "data_source": "x",
        "solution_str": "<think>t</think><answer>B</answer>",
        "ground_truth": "B",
        "extra_info": {"problem_type": "multiple choice"},
        "some_future_verl_field": 3,
    }
    with caplog.at_level(logging.WARNING, logger="unireward.integrations"):
        first = uv.compute_score(**kw)
        second = uv.compute_score(**kw)
    assert first == second and first["score"] == 1.5
    hits = [r for r in caplog.records if "some_future_verl_field" in r.getMessage()]
    assert len(hits) == 1


# -- workers/reward_manager ------------------------------------------------------------------


@pytest.mark.parametrize("manager", ["naive", "batch", "dapo"])
@pytest.mark.parametrize("path", [MODULE_FILE, PKG])
def test_workers_reward_managers(manager: str, path: str, tmp_path: Path, tokenizer: Any,
                                 caplog: pytest.LogCaptureFixture) -> None:
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.workers.reward_manager import get_reward_manager_cls

    name = "compute_score_batch" if manager == "batch" else "compute_score"
    fn = get_custom_reward_fn(verl_config(tmp_path, [f"reward.custom_reward_function.path={path}",
                                                     f"reward.custom_reward_function.name={name}"]))
    cls = get_reward_manager_cls(manager)
    data = make_batch(tokenizer)
    with caplog.at_level(logging.WARNING, logger="unireward.integrations"):
        out = cls(tokenizer=tokenizer, num_examine=0, compute_score=fn)(data, return_dict=True)
    check_manager_output(data, out["reward_tensor"], out["reward_extra_info"], expected_results())
    assert any("could not be scored" in r.getMessage() for r in caplog.records)


def test_extra_info_feeds_verl_validation_metrics(tokenizer: Any) -> None:
    from verl.trainer.ppo.metric_utils import process_validation_metrics
    from verl.workers.reward_manager.naive import NaiveRewardManager

    data = make_batch(tokenizer)
    out = NaiveRewardManager(tokenizer=tokenizer, num_examine=0, compute_score=uv.compute_score)(
        data, return_dict=True
    )
    metrics = process_validation_metrics(
        list(data.non_tensor_batch["data_source"]),
        list(data.non_tensor_batch["uid"]),
        out["reward_extra_info"],
    )
    means = metrics["onethinker"]["score"]
    assert means["mean@1"] == pytest.approx(np.mean([r.total for r in expected_results()]))
    assert "status" not in metrics["onethinker"]  # strings are skipped, not averaged


# -- reward loop -----------------------------------------------------------------------------


@pytest.fixture
def polar() -> Iterator[PolarServer]:
    with PolarServer() as srv:
        yield srv


def _reward_loop(
    cfg: Any, address: str | None, data: Any
) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
    """RewardLoopWorker.compute_score_batch, then RewardLoopManager.compute_rm_score's assembly."""
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    worker = RewardLoopWorker(cfg, reward_router_address=address)
    # as in a Ray async actor: the worker's methods run on the loop it was created with
    outputs = worker.loop.run_until_complete(worker.compute_score_batch(data))
    scores = [o["reward_score"] for o in outputs]
    rm_scores = type(worker.reward_manager).assemble_rm_scores(data, scores)
    infos = [o.get("reward_extra_info", {}) for o in outputs]
    keys = list(infos[0].keys())
    return rm_scores, {k: np.array([info[k] for info in infos]) for k in keys}


def _loop_overrides(tokenizer_dir: Path, path: str) -> list[str]:
    return [
        f"actor_rollout_ref.model.path={tokenizer_dir}",
        f"reward.custom_reward_function.path={path}",
        "reward.custom_reward_function.name=compute_score",
        "reward.reward_manager.name=naive",
    ]


@pytest.mark.parametrize("path", [MODULE_FILE, PKG])
def test_reward_loop_without_a_reward_model(
    path: str, tmp_path: Path, tokenizer_dir: Path, tokenizer: Any
) -> None:
    cfg = verl_config(tmp_path, _loop_overrides(tokenizer_dir, path))
    data = make_batch(tokenizer)
    rm_scores, extra = _reward_loop(cfg, None, data)
    check_manager_output(
        data, rm_scores, {k: list(v) for k, v in extra.items()}, expected_results()
    )


def test_reward_loop_with_the_router_as_polar_server(
    tmp_path: Path, tokenizer_dir: Path, tokenizer: Any, polar: PolarServer
) -> None:
    cfg = verl_config(
        tmp_path,
        [
            *_loop_overrides(tokenizer_dir, PKG),
            "reward.reward_model.enable=true",
            f"reward.reward_model.model_path={tokenizer_dir}",
        ],
    )
    data = make_batch(tokenizer)
    _, _, response, gt, info = SAMPLES[OPEN_ENDED]
    # the pair encoded with the reward model's tokenizer (token-exact), as the server must
    # receive it
    answer = response.split("<answer>")[1].split("</answer>")[0].strip()
    [text] = PolarEncoder(tokenizer_path=str(tokenizer_dir)).encode_batch(
        [info["problem"]], [gt], [answer]
    )
    assert text != PolarEncoder().encode(
        info["problem"], gt, answer
    )  # so the tokenizer's use shows
    polar.scores[text] = 0.625
    rm_scores, extra = _reward_loop(cfg, f"127.0.0.1:{polar.port}", data)

    assert polar.texts_received == [text]
    assert all(req["path"] == "/pooling" for req in polar.requests)
    want = expected_results()
    with PolarClient(
        base_url=polar.url, encoder=PolarEncoder(tokenizer_path=str(tokenizer_dir))
    ) as client:
        [via_rm] = unireward.score_batch(
            [
                {
                    "completion": response,
                    "ground_truth": gt,
                    "task": "open-ended",
                    "prompt": info["problem"],
                }
            ],
            reward_model=client,
            normalize_by_problem_id=False,
        )
    assert via_rm.accuracy == 0.625 and via_rm.total == pytest.approx(0.9 * 0.625 + 0.1 + 0.5)
    assert via_rm.total != pytest.approx(want[OPEN_ENDED].total)  # the rule-based score differs
    want[OPEN_ENDED] = via_rm
    check_manager_output(data, rm_scores, {k: list(v) for k, v in extra.items()}, want)
