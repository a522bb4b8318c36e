"""TRL calls unireward its own way: the contract, for the oldest claimed TRL and the newest.

Runs in every environment that has TRL (scripts/test.sh: the main one with the newest TRL,
``.venvs/trl-old`` with TRL 0.20.0). What each release can do decides what is checked:
async reward functions from TRL 0.27, ``log_extra`` / ``log_metric`` from TRL 1.0.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

import unireward
from unireward.errors import ConfigurationError
from unireward.integrations.rewards import (
    ASYNC_MIN_TRL,
    NONE_MIN_TRL,
    AsyncUniRewardFunction,
    UniRewardFunction,
    completion_text,
    unireward_total,
)

from ._support import doc_block, require

pytestmark = pytest.mark.integration

trl = require("trl")
TRL = tuple(int("".join(c for c in p if c.isdigit()) or 0) for p in trl.__version__.split(".")[:2])
HAS_ASYNC = TRL >= ASYNC_MIN_TRL
HAS_LOG_HOOKS = TRL >= (1, 0)
NONE_OK = TRL >= NONE_MIN_TRL  # older TRL fails a step in which a row has no reward at all
# the async trainer run needs a TRL that awaits reward functions: scripts/test.sh deselects
# it (marker trl_async) in the oldest-TRL run; in CI a TRL without it fails here instead
needs_async = [
    pytest.mark.trl_async,
    pytest.mark.skipif(
        not HAS_ASYNC and os.environ.get("CI", "").lower() != "true",
        reason=f"TRL {trl.__version__} awaits no reward functions",
    ),
]

MC = "<think>look</think><answer>B</answer>"


def test_async_function_passes_the_checks_trl_uses() -> None:
    if not HAS_ASYNC:
        with pytest.raises(ConfigurationError, match="0.27"):
            AsyncUniRewardFunction()
        return
    fn = AsyncUniRewardFunction("accuracy", profile="strict")
    assert inspect.iscoroutinefunction(fn)  # TRL 1.0 - 1.4
    assert asyncio.iscoroutinefunction(fn)  # TRL 0.27 - 0.29
    from trl.trainer import utils

    if hasattr(utils, "is_async_callable"):  # later TRL
        assert utils.is_async_callable(fn)
        assert utils.get_callable_name(fn) == "unireward_async_accuracy"
    assert fn.__name__ == "unireward_async_accuracy"
    clone = pickle.loads(pickle.dumps(fn))
    assert isinstance(clone, AsyncUniRewardFunction) and clone.__name__ == fn.__name__
    assert clone.scorer.options == {"profile": "strict"}
    got = asyncio.run(
        clone(prompts=["q"], completions=[MC], solution=["B"], problem_type=["multiple choice"])
    )
    assert got == [1.0]
    assert not inspect.iscoroutinefunction(UniRewardFunction())  # the sync one stays sync


def test_conversational_and_plain_completions_score_alike(reference_rows: list[dict]) -> None:
    rows = [r for r in reference_rows if r["task"] not in ("captioning", "open_ended_polar_path")]
    cols = {
        "solution": [r["ground_truth"] for r in rows],
        "problem_type": [r["problem_type"] for r in rows],
        "data_type": [r["data_type"] for r in rows],
    }
    plain = [r["completion"] for r in rows]

    def split(text: str) -> list[dict[str, Any]]:
        # a multi-turn completion: the text in two assistant messages around a tool message
        cut = len(text) // 2
        return [
            {"role": "assistant", "content": text[:cut]},
            {"role": "tool", "content": "ignored"},
            {"role": "assistant", "content": [{"type": "text", "text": text[cut:]}]},
        ]

    chat = [split(c) for c in plain]
    assert [completion_text(c) for c in chat] == plain
    want = [
        unireward.score(
            r["completion"], r["ground_truth"], r["problem_type"], data_type=r["data_type"]
        ).total
        for r in rows
    ]
    assert unireward_total(prompts=["q"] * len(rows), completions=plain, **cols) == pytest.approx(
        want
    )
    assert unireward_total(prompts=["q"] * len(rows), completions=chat, **cols) == pytest.approx(
        want
    )


def test_positional_calls_and_missing_columns_are_clear_errors() -> None:
    with pytest.raises(ConfigurationError, match="keyword arguments only"):
        unireward_total(["q"], [MC])
    with pytest.raises(ConfigurationError, match="without completions"):
        unireward_total(prompts=["q"])
    with pytest.raises(ConfigurationError, match="no task column"):
        unireward_total(prompts=["q"], completions=[MC], solution=["B"])
    if HAS_ASYNC:
        with pytest.raises(ConfigurationError, match="keyword arguments only"):
            asyncio.run(AsyncUniRewardFunction()(["q"], [MC]))


def test_unscorable_rows_are_none_with_status_and_reason() -> None:
    extra: dict[str, list[Any]] = {}
    metrics: dict[str, list[float]] = {}
    out = UniRewardFunction(unscored="none")(
        prompts=["q"] * 3, completions=[MC, MC, MC], solution=["B", "B", "B"],
        problem_type=["multiple choice", "no such task", None],
        log_extra=lambda name, values: extra.setdefault(name, []).extend(values),
        log_metric=lambda name, value: metrics.setdefault(name, []).append(value))
    assert out[0] == 1.5 and out[1] is None and out[2] is None
    assert extra["unireward_status"][0] == "ok" and extra["unireward_status"][1] in (
        "error",
        "ground_truth_error",
    )
    assert "no such task" in extra["unireward_reason"][1] and "task" in extra["unireward_reason"][2]
    assert metrics["unireward/status/ok"] == [1.0] and metrics[
        "unireward/reward/multiple choice"
    ] == [1.5]
    fallback = UniRewardFunction(unscored="fallback")(
        completions=[MC, MC], solution=["B", "B"], problem_type=["multiple choice", "no such task"]
    )
    [recorded] = unireward.score_batch(
        [{"completion": MC, "ground_truth": "B", "task": "no such task"}], errors="record"
    )
    assert fallback == [1.5, recorded.total]
    assert unireward_total.unscored == ("none" if NONE_OK else "fallback")
    with pytest.raises(ConfigurationError, match="unscored"):
        UniRewardFunction(unscored="zero")


# -- a real GRPOTrainer ----------------------------------------------------------------------

QUESTIONS = {  # question -> (task, ground truth, data type, right answer, wrong answer)
    "Which option? A or B": (
        "multiple choice",
        "A",
        "image",
        "<answer>A</answer>",
        "<answer>B</answer>",
    ),
    "When does it happen?": (
        "temporal grounding",
        '{"time": [1, 2]}',
        "video",
        '<answer>{"time": [1, 2]}</answer>',
        '<answer>{"time": [1, 4]}</answer>',
    ),
    "What is this?": ("no such task", "x", "image", "<answer>x</answer>", "<answer>y</answer>"),
}
CHAT = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant: {% endif %}")


def _tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [
        f"user: {q}\nassistant: <think>look</think>{a}"
        for q, (*_, r, w) in QUESTIONS.items()
        for a in (r, w)
    ]
    tok.train_from_iterator(
        corpus * 50,
        trainers.BpeTrainer(
            vocab_size=300,
            special_tokens=["<pad>", "<eos>", "<unk>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        eos_token="<eos>",
        unk_token="<unk>",
        model_input_names=["input_ids", "attention_mask"],
    )
    fast.chat_template = CHAT
    return fast


def _config(tok: Any) -> Any:
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
    )


@pytest.fixture(scope="module")
def taught() -> tuple[Any, dict[str, Any]]:
    """A tokenizer and the weights of a tiny random Qwen2 taught a right and a wrong answer
    per question (so that sampled rewards vary); taught once for the module."""
    import torch
    from transformers import AutoModelForCausalLM

    tok = _tokenizer()
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(_config(tok))
    texts = [
        tok.apply_chat_template(
            [{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True
        )
        + "<think>look</think>"
        + a
        for q, (*_, r, w) in QUESTIONS.items()
        for a in (r, w)
    ]
    rows = [tok(t)["input_ids"] + [tok.eos_token_id] for t in texts]
    width = max(map(len, rows))
    ids = torch.tensor([r + [tok.pad_token_id] * (width - len(r)) for r in rows])
    mask = (torch.arange(width)[None, :] < torch.tensor([len(r) for r in rows])[:, None]).long()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(80):
        loss = model(
            input_ids=ids, attention_mask=mask, labels=ids.masked_fill(mask == 0, -100)
        ).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    return tok, {k: v.detach().clone() for k, v in model.state_dict().items()}


def _model(taught: tuple[Any, dict[str, Any]]) -> Any:
    from transformers import AutoModelForCausalLM

    tok, weights = taught
    model = AutoModelForCausalLM.from_config(_config(tok))
    model.load_state_dict(weights)
    return model


def _question(prompt: Any) -> str:
    text = prompt if isinstance(prompt, str) else " ".join(m["content"] for m in prompt)
    [q] = [q for q in QUESTIONS if q in text]
    return q


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sync", pytest.param("async", marks=needs_async)])
def test_grpo_trainer_two_steps(kind: str, tmp_path: Path,
                                taught: tuple[Any, dict[str, Any]]) -> None:
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    tok, model = taught[0], _model(taught)
    ds = Dataset.from_list([{"prompt": [{"role": "user", "content": q}], "solution": gt,
                             "problem_type": task, "data_type": dt}
                            for q, (task, gt, dt, *_) in QUESTIONS.items()])
    fn = UniRewardFunction() if kind == "sync" else AsyncUniRewardFunction()
    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=12, num_generations=4,
                      max_completion_length=24, max_steps=2, learning_rate=1e-5, logging_steps=1,
                      save_strategy="no", report_to="none", bf16=False, use_cpu=True, beta=0.0,
                      seed=0, dataloader_num_workers=0)
    trainer = GRPOTrainer(model=model, reward_funcs=[fn], args=args, train_dataset=ds,
                          processing_class=tok)
    trainer.train()
    assert trainer.state.global_step == 2

    # what TRL logged for the last step: each completion and the reward it took from us
    name = fn.__name__
    prompts = list(trainer._logs["prompt"])
    _check_logged_rewards(prompts, list(trainer._logs["completion"]),
                          list(trainer._logs["rewards"][name]))
    history = {k for h in trainer.state.log_history for k in h}
    assert f"rewards/{name}/mean" in history
    if HAS_LOG_HOOKS:  # statuses and reasons through TRL's extra-logging hooks
        statuses = list(trainer._logs["extra"]["unireward_status"])
        reasons = list(trainer._logs["extra"]["unireward_reason"])
        assert len(statuses) == len(reasons) == 12
        for prompt, status, reason in zip(prompts, statuses, reasons, strict=True):
            if QUESTIONS[_question(prompt)][0] == "no such task":
                assert status in ("error", "ground_truth_error") and "no such task" in reason
        assert {"unireward/reward/multiple choice",
                "unireward/reward/temporal grounding"} <= history
        assert any(k.startswith("unireward/status/") for k in history)


def _check_logged_rewards(prompts: list[Any], completions: list[Any],
                          rewards: list[float]) -> None:
    """Each reward TRL logged is the one unireward gives that completion."""
    assert len(prompts) == len(completions) == len(rewards) == 12
    seen = set()
    for prompt, completion, reward in zip(prompts, completions, rewards, strict=True):
        task, gt, dt, *_ = QUESTIONS[_question(prompt)]
        seen.add(task)
        if task == "no such task" and NONE_OK:
            assert math.isnan(reward)  # None: left out by TRL
        elif task == "no such task":  # the recorded fallback value, counted and logged
            [recorded] = unireward.score_batch([{"completion": completion_text(completion),
                                                 "ground_truth": gt, "task": task}],
                                               errors="record")
            assert reward == recorded.total
        else:
            want = unireward.score(completion_text(completion), gt, task, data_type=dt).total
            assert reward == pytest.approx(want)
    assert seen == {t for t, *_ in QUESTIONS.values()}
    assert len({r for r in rewards if not math.isnan(r)}) > 1, (
        "rewards never varied: the test would be vacuous")


@pytest.mark.slow
def test_documented_trl_configuration_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           taught: tuple[Any, dict[str, Any]]) -> None:
    """The TRL snippet of docs/integrations.md, run as written on a tiny model (its GRPOConfig
    gets a small batch, CPU and one step on top of what the snippet sets)."""
    from datasets import Dataset

    real = trl.GRPOConfig
    small = {
        "output_dir": str(tmp_path),
        "max_steps": 1,
        "per_device_train_batch_size": 8,
        "num_generations": 4,
        "max_completion_length": 16,
        "report_to": "none",
        "bf16": False,
        "use_cpu": True,
        "save_strategy": "no",
        "gradient_accumulation_steps": 1,
    }
    monkeypatch.setattr(trl, "GRPOConfig", lambda **kw: real(**{**kw, **small}))
    namespace: dict[str, Any] = {
        "model": _model(taught),
        "tokenizer": taught[0],
        "train_dataset": Dataset.from_list(
            [
                {
                    "prompt": [{"role": "user", "content": q}],
                    "solution": gt,
                    "problem_type": task,
                    "data_type": dt,
                }
                for q, (task, gt, dt, *_) in list(QUESTIONS.items())[:2]
            ]
        ),
    }
    exec(compile(doc_block("trl-python"), "docs/integrations.md", "exec"), namespace)  # noqa: S102
    trainer = namespace["trainer"]
    trainer.train()
    assert trainer.state.global_step == 1
    assert trainer.reward_func_names == ["unireward_total", "unireward_accuracy"]
    assert trainer.reward_weights.tolist() == [1.0, 0.0]


def test_reward_model_is_checked_at_construction_and_used() -> None:
    import socket

    from remote.polar_server import PolarServer  # tests/ is on sys.path
    from unireward.remote import PolarClient

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(ConfigurationError, match="cannot be used"):
        UniRewardFunction(reward_model_url=f"http://127.0.0.1:{closed}")
    with PolarServer() as server:
        fn = UniRewardFunction(reward_model_url=server.url)
        assert len(server.requests) == 1  # the start-up check
        text = "<think>t</think><answer>a man cooks pasta</answer>"
        cols = {"solution": ["the man is cooking pasta"] * 2, "problem_type": ["open-ended"] * 2,
                "problem_id": ["p", "p"]}
        got = fn(prompts=[[{"role": "user", "content": "what happens?"}]] * 2,
                 completions=[text, "<think>t</think><answer>pasta</answer>"], **cols)
        with PolarClient(base_url=server.url) as client:
            want = unireward.score_batch(
                [
                    {
                        "completion": c,
                        "ground_truth": g,
                        "task": "open-ended",
                        "problem_id": "p",
                        "prompt": "what happens?",
                    }
                    for c, g in zip(
                        [text, "<think>t</think><answer>pasta</answer>"],
                        cols["solution"],
                        strict=True,
                    )
                ],
                reward_model=client,
            )
        assert got == [w.total for w in want]
        assert "what happens?" in server.texts_received[-1]
