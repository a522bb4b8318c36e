"""A real TRL GRPOTrainer with a tiny random model, unireward rewards and EMA-GRPO."""

from __future__ import annotations

import json
import os
import pickle
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from unireward.advantage import EMARewardNormalizer, ema_grpo
from unireward.integrations.rewards import (
    AsyncUniRewardFunction,
    UniRewardFunction,
    unireward_accuracy,
    unireward_format,
    unireward_total,
)

from ._support import require

CHAT = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant: {% endif %}")


def test_reward_function_columns_and_conversational() -> None:
    fn = UniRewardFunction()
    out = fn(
        prompts=["a", "b", "c"],
        completions=[[{"role": "assistant", "content": "<think>t</think><answer>B</answer>"}],
                     "<think>t</think><answer>{\"time\": [1, 3]}</answer>",
                     "<think>t</think><answer>1</answer>"],
        solution=["B", '{"time": [2, 4]}', "one"],
        problem_type=["multiple choice", "temporal grounding", "numerical"],
        data_type=["image", "video", "image"],
    )
    # a bad ground truth ("one" for a number) gets the reference's reward, not None
    assert out[0] == 1.5 and out[1] == pytest.approx(0.9 / 3 + 0.6) and out[2] == pytest.approx(0.6)
    assert fn(completions=["x"], solution=["1"], problem_type=["no such task"]) == [
        None
    ]  # cannot score
    acc = UniRewardFunction("accuracy")(
        completions=["<answer>B</answer>"], solution=["B"], problem_type=["multiple choice"]
    )
    assert acc == [1.0]
    clone = pickle.loads(pickle.dumps(AsyncUniRewardFunction()))
    assert clone.__name__ == "unireward_async_total"


def test_reward_functions_reproduce_reference_rows(reference_rows: list[dict]) -> None:
    rows = [r for r in reference_rows if r["task"] not in ("captioning", "open_ended_polar_path")]
    cols = {
        "solution": [r["ground_truth"] for r in rows],
        "problem_type": [r["problem_type"] for r in rows],
        "data_type": [r["data_type"] for r in rows],
    }
    plain = [r["completion"] for r in rows]
    chat = [[{"role": "assistant", "content": c}] for c in plain]
    want = {"total": [r["expected_reward"] for r in rows],
            "accuracy": [r["components"]["accuracy"] for r in rows],
            "format": [r["components"]["format"] for r in rows]}
    for component, fn in (
        ("total", unireward_total),
        ("accuracy", unireward_accuracy),
        ("format", unireward_format),
    ):
        for completions in (plain, chat):
            got = fn(prompts=["q"] * len(rows), completions=completions, **cols)
            np.testing.assert_allclose(got, want[component], atol=1e-6, err_msg=component)
    # other column names, configured
    renamed = UniRewardFunction(
        task_column="kind", ground_truth_column="gold", data_type_column="modality"
    )
    got = renamed(
        completions=plain,
        gold=cols["solution"],
        kind=cols["problem_type"],
        modality=cols["data_type"],
    )
    np.testing.assert_allclose(got, want["total"], atol=1e-6)


def test_reward_functions_pickle_into_a_worker_process() -> None:
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        out = pool.apply(UniRewardFunction("accuracy"), (), {
            "prompts": ["q"], "completions": ["<think>t</think><answer>B</answer>"],
            "solution": ["B"], "problem_type": ["multiple choice"]})
    assert out == [1.0]


def test_reward_function_from_threads() -> None:
    fn = UniRewardFunction()
    got: list[list[float | None]] = []
    def work() -> None:
        got.append(
            fn(
                completions=["<think>t</think><answer>4</answer>"] * 5,
                solution=["4"] * 5,
                problem_type=["numerical"] * 5,
            )
        )

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert got == [[1.5] * 5] * 4


def test_async_reward_function() -> None:
    import asyncio

    fn = AsyncUniRewardFunction()
    out = asyncio.run(
        fn(
            prompts=["q"],
            completions=["<think>t</think><answer>C</answer>"],
            solution=["C"],
            problem_type=["multiple choice"],
        )
    )
    assert out == [1.5]


# Two prompts of two tasks; each has a right and a wrong answer the tiny model is taught, so
# sampled groups get different rewards (a random model would score 0 everywhere).
TASKS = {
    "multiple choice": (
        "Which option? A or B\n",
        "A",
        "image",
        "<answer>A</answer>",
        "<answer>B</answer>",
    ),
    "temporal grounding": (
        "When does it happen?\n",
        '{"time": [1, 2]}',
        "video",
        '<answer>{"time": [1, 2]}</answer>',
        '<answer>{"time": [1, 4]}</answer>',
    ),
}


def _targets() -> list[str]:
    return [p + "<think>look</think>" + a for p, _, _, *answers in TASKS.values() for a in answers]


def _tokenizer():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = _targets() * 50 + ["user: question about the video", "assistant: the answer is B"] * 20
    tok.train_from_iterator(
        corpus,
        trainers.BpeTrainer(
            vocab_size=300,
            special_tokens=["<pad>", "<eos>", "<unk>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>"
    )
    fast.chat_template = CHAT
    return fast


def _teach(model, tok, steps: int = 120) -> None:  # type: ignore[no-untyped-def]
    """A few supervised steps so that sampling gives a mix of right and wrong answers."""
    import torch

    rows = [tok(t)["input_ids"] + [tok.eos_token_id] for t in _targets()]
    width = max(map(len, rows))
    ids = torch.tensor([r + [tok.pad_token_id] * (width - len(r)) for r in rows])
    mask = (torch.arange(width)[None, :] < torch.tensor([len(r) for r in rows])[:, None]).long()
    labels = ids.masked_fill(mask == 0, -100)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()


class RecordingReward(UniRewardFunction):
    """The total reward, remembering what it handed to the trainer (and the task columns)."""

    def __init__(self) -> None:
        super().__init__("total")
        self.calls: list[tuple[list[float | None], list[str], list[str]]] = []

    def __call__(self, prompts=None, completions=None, **kwargs):  # type: ignore[no-untyped-def]
        out = super().__call__(prompts=prompts, completions=completions, **kwargs)
        self.calls.append((out, list(kwargs["problem_type"]), list(kwargs["data_type"])))
        return out


def _tiny_policy(tok):  # type: ignore[no-untyped-def]
    """A two-layer Qwen2 taught the tasks' answers (see ``_teach``)."""
    from transformers import AutoModelForCausalLM, Qwen2Config

    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=64, intermediate_size=128,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=256, pad_token_id=tok.pad_token_id,
                      eos_token_id=tok.eos_token_id)
    model = AutoModelForCausalLM.from_config(cfg)
    _teach(model, tok)
    return model


def _grpo_args(out: Path, steps: int):  # type: ignore[no-untyped-def]
    from trl import GRPOConfig

    # 2 prompts x 4 generations per step: every step sees both tasks
    return GRPOConfig(output_dir=str(out), per_device_train_batch_size=8, num_generations=4,
                      max_completion_length=24, max_steps=steps, learning_rate=1e-5,
                      logging_steps=1, save_steps=2, report_to="none", bf16=False, use_cpu=True,
                      beta=0.0, scale_rewards="none", seed=0, dataloader_num_workers=0,
                      reward_weights=[1.0, 0.0])


def _recording_trainer(**kwargs: Any):  # type: ignore[no-untyped-def]
    """An EMAGRPOTrainer that keeps the advantages it returns and those its loss uses."""
    from unireward.integrations.trl import EMAGRPOTrainer

    class Recording(EMAGRPOTrainer):
        returned: list[list[float]]
        in_loss: list[list[float]]

        def _generate_and_score_completions(self, inputs):  # type: ignore[no-untyped-def]
            out = super()._generate_and_score_completions(inputs)
            self.returned.append(out["advantages"].tolist())
            return out

        def _compute_loss(self, model, inputs):  # type: ignore[no-untyped-def]
            self.in_loss.append(inputs["advantages"].tolist())  # what the policy loss really used
            return super()._compute_loss(model, inputs)

    trainer = Recording(**kwargs)
    trainer.returned, trainer.in_loss = [], []
    return trainer


def _expected_advantages(reward: RecordingReward, norm: EMARewardNormalizer) -> list[np.ndarray]:
    return [ema_grpo(r, [i // 4 for i in range(len(r))], t, data_types=d, normalizer=norm)
            for r, t, d in reward.calls]


@pytest.mark.integration
@pytest.mark.slow
def test_grpo_trainer_uses_ema_grpo_and_resumes(tmp_path: Path) -> None:
    require("trl")
    import torch
    from datasets import Dataset

    from unireward.integrations.trl import STATE_FILE

    torch.manual_seed(0)
    tok = _tokenizer()
    model = _tiny_policy(tok)
    ds = Dataset.from_list([{"prompt": p, "solution": gt, "problem_type": task, "data_type": dt}
                            for task, (p, gt, dt, *_) in TASKS.items()])

    def run(steps: int, resume: str | None = None):  # type: ignore[no-untyped-def]
        reward = RecordingReward()
        # a second, async reward function with weight 0: only the weighted sum may count
        trainer = _recording_trainer(model=model,
                                     reward_funcs=[reward, AsyncUniRewardFunction("format")],
                                     args=_grpo_args(tmp_path / "out", steps), train_dataset=ds,
                                     processing_class=tok)
        trainer.train(resume_from_checkpoint=resume)
        return trainer, reward

    trainer, reward = run(2)
    assert trainer.state.global_step == 2 and len(reward.calls) == 2
    assert all(set(tasks) == set(TASKS) for _, tasks, _ in reward.calls)
    check = EMARewardNormalizer()
    wants = _expected_advantages(reward, check)
    assert max(float(np.abs(w).max()) for w in wants) > 0.1, (
        "rewards never varied: the test would be vacuous")
    for want, returned, in_loss in zip(wants, trainer.returned, trainer.in_loss, strict=True):
        np.testing.assert_allclose(returned, want, atol=1e-6)
        np.testing.assert_allclose(sorted(in_loss), np.sort(want), atol=1e-6)  # TRL shuffles rows
    assert trainer.ema_normalizer.state_dict() == check.state_dict()
    # each step logs every task's EMA std
    logged = [h for h in trainer.state.log_history if "unireward/ema_std/multiple choice" in h]
    assert len(logged) == 2
    for task in ("multiple choice", "temporal grounding"):
        assert logged[-1][f"unireward/ema_std/{task}"] == pytest.approx(check.std(task), rel=1e-4)

    # the tracker is in the checkpoint, and a resumed run continues from it
    ckpt = tmp_path / "out" / "checkpoint-2"
    saved = json.loads((ckpt / STATE_FILE).read_text())
    assert saved == json.loads(json.dumps(check.state_dict()))
    resumed, reward3 = run(3, resume=str(ckpt))
    assert resumed.state.global_step == 3 and len(reward3.calls) == 1
    cont = EMARewardNormalizer()
    cont.load_state_dict(saved)
    [want3] = _expected_advantages(reward3, cont)
    np.testing.assert_allclose(resumed.returned[0], want3, atol=1e-6)
    assert resumed.ema_normalizer.state_dict() == cont.state_dict()
    assert resumed.ema_normalizer.step == 3
    assert os.path.isfile(tmp_path / "out" / "checkpoint-3" / STATE_FILE)
