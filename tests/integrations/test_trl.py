"""A real TRL GRPOTrainer with a tiny random model, unireward rewards and EMA-GRPO."""

from __future__ import annotations

import json
import os
import pickle
import threading
from pathlib import Path

import numpy as np
import pytest

from unireward.advantage import EMARewardNormalizer, ema_grpo
from unireward.integrations.rewards import AsyncUniRewardFunction, UniRewardFunction

CHAT = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}"


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
    assert out[0] == 1.5 and out[1] == pytest.approx(0.9 / 3 + 0.6) and out[2] is None
    acc = UniRewardFunction("accuracy")(completions=["<answer>B</answer>"], solution=["B"], problem_type=["multiple choice"])
    assert acc == [1.0]
    clone = pickle.loads(pickle.dumps(AsyncUniRewardFunction()))
    assert clone.__name__ == "unireward_async_total"


def test_reward_function_from_threads() -> None:
    fn = UniRewardFunction()
    got: list[list[float | None]] = []
    def work() -> None:
        got.append(fn(completions=["<think>t</think><answer>4</answer>"] * 5, solution=["4"] * 5, problem_type=["numerical"] * 5))
    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert got == [[1.5] * 5] * 4


def test_async_reward_function() -> None:
    import asyncio

    fn = AsyncUniRewardFunction()
    out = asyncio.run(fn(prompts=["q"], completions=["<think>t</think><answer>C</answer>"], solution=["C"],
                         problem_type=["multiple choice"]))
    assert out == [1.5]


def _tokenizer(tmp: Path):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["<think>look</think><answer>A</answer>", "<answer>{\"time\": [1, 2]}</answer>",
              "user: question about the video", "assistant: the answer is B"] * 50
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=300, special_tokens=["<pad>", "<eos>", "<unk>"],
                                                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")
    fast.chat_template = CHAT
    return fast


@pytest.mark.integration
@pytest.mark.slow
def test_grpo_trainer_uses_ema_grpo_and_resumes(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, Qwen2Config
    from trl import GRPOConfig

    from unireward.integrations.trl import STATE_FILE, EMAGRPOTrainer

    torch.manual_seed(0)
    tok = _tokenizer(tmp_path)
    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    model = AutoModelForCausalLM.from_config(cfg)
    rows = [
        {"prompt": "Which option? A or B", "solution": "A", "problem_type": "multiple choice", "data_type": "image"},
        {"prompt": "When does it happen?", "solution": '{"time": [1, 2]}', "problem_type": "temporal grounding", "data_type": "video"},
    ] * 4
    ds = Dataset.from_list(rows)
    def make_args(steps: int) -> GRPOConfig:
        return GRPOConfig(output_dir=str(tmp_path / "out"), per_device_train_batch_size=4, num_generations=4,
                          max_completion_length=16, max_steps=steps, learning_rate=1e-4, logging_steps=1,
                          save_steps=2, report_to="none", bf16=False, use_cpu=True, beta=0.0,
                          scale_rewards="none", seed=0, dataloader_num_workers=0)

    args = make_args(2)
    used: list[tuple[list[float], list[float], list[str], list[str]]] = []

    class Recording(EMAGRPOTrainer):
        def _generate_and_score_completions(self, inputs):  # type: ignore[no-untyped-def]
            out = super()._generate_and_score_completions(inputs)
            used.append((self.last_rewards.tolist(), out["advantages"].tolist(),
                         [x["problem_type"] for x in inputs], [x["data_type"] for x in inputs]))
            return out

    trainer = Recording(model=model, reward_funcs=[UniRewardFunction()], args=args, train_dataset=ds,
                        processing_class=tok)
    trainer.train()
    print('USED', used)
    assert trainer.state.global_step == 2 and len(used) >= 2
    # the advantages the trainer used equal unireward's estimator on the same rewards
    check = EMARewardNormalizer()
    for rewards, advantages, tasks, dtypes in used:
        groups = [i // 4 for i in range(len(rewards))]
        want = ema_grpo(rewards, groups, tasks, data_types=dtypes, normalizer=check)
        np.testing.assert_allclose(advantages, want, atol=1e-6)
    assert check.state_dict()["tasks"] == trainer.ema_normalizer.state_dict()["tasks"]
    # the tracker is in the checkpoint and restored on resume
    ckpt = tmp_path / "out" / "checkpoint-2"
    saved = json.loads((ckpt / STATE_FILE).read_text())
    assert saved == json.loads(json.dumps(trainer.ema_normalizer.state_dict()))
    args2 = make_args(3)
    resumed = EMAGRPOTrainer(model=AutoModelForCausalLM.from_config(cfg), reward_funcs=[UniRewardFunction()],
                             args=args2, train_dataset=ds, processing_class=tok)
    restored: dict = {}
    orig = resumed._load_optimizer_and_scheduler

    def spy(checkpoint):  # type: ignore[no-untyped-def]
        orig(checkpoint)
        restored.update(resumed.ema_normalizer.state_dict())

    resumed._load_optimizer_and_scheduler = spy  # type: ignore[method-assign]
    resumed.train(resume_from_checkpoint=str(ckpt))
    assert restored["tasks"] == saved["tasks"] and restored["step"] == saved["step"]
    assert resumed.ema_normalizer.step == saved["step"] + 1
    assert os.path.isdir(tmp_path / "out")
