"""verl: compute_score and the ema_grpo estimator through verl's own compute_advantage."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("verl")
torch = pytest.importorskip("torch")

from unireward.advantage import EMARewardNormalizer, ema_grpo  # noqa: E402
from unireward.integrations import verl as uv  # noqa: E402


def test_compute_score_reads_extra_info() -> None:
    out = uv.compute_score("onethinker", "<think>t</think><answer>{\"time\": [1, 3]}</answer>",
                           '{"time": [2, 4]}', {"problem_type": "temporal grounding", "data_type": "video"})
    assert out["score"] == pytest.approx(0.9 / 3 + 0.6) and out["format"] == 1.0 and out["status"] == "ok"
    fn = uv.make_compute_score(task_key="kind")
    assert fn("x", "<think>t</think><answer>B</answer>", "B", {"kind": "multiple choice"})["score"] == 1.5
    batch = uv.compute_score_batch(["a", "b"], ["<think>t</think><answer>4</answer>", "x"], ["4", "one"],
                                   [{"problem_type": "numerical"}, {"problem_type": "numerical"}])
    assert batch[0]["score"] == 1.5 and batch[1]["status"] == "error" and batch[1]["score"] == 0.0


@pytest.mark.integration
def test_registered_estimator_through_verl_compute_advantage() -> None:
    from verl import DataProto
    from verl.trainer.ppo import core_algos
    from verl.trainer.ppo.ray_trainer import compute_advantage as verl_compute_advantage

    uv.register()
    uv.register()  # idempotent
    assert core_algos.get_adv_estimator_fn("ema_grpo") is uv.ema_grpo_estimator
    uv.normalizer().load_state_dict(EMARewardNormalizer().state_dict())
    scores = [1.5, 0.6, 1.5, 0.6, 1.2, 1.0, 0.8, 0.9]
    tasks = ["multiple choice"] * 4 + ["temporal grounding"] * 4
    uids = ["a"] * 4 + ["c"] * 4
    length = 5
    mask = torch.ones(8, length)
    mask[:, 3:] = 0
    token_rewards = torch.zeros(8, length)
    token_rewards[:, 2] = torch.tensor(scores)  # the reward sits on the last response token
    data = DataProto.from_dict(
        tensors={"token_level_rewards": token_rewards, "response_mask": mask},
        non_tensors={"uid": np.array(uids, dtype=object), "problem_type": np.array(tasks, dtype=object),
                     "data_type": np.array(["image"] * 4 + ["video"] * 4, dtype=object)},
    )
    out = uv.compute_advantage(data, adv_estimator="ema_grpo")
    want = ema_grpo(scores, uids, tasks, normalizer=EMARewardNormalizer())
    got = out.batch["advantages"]
    np.testing.assert_allclose(got[:, 0].numpy(), want, atol=1e-6)
    assert torch.all(got[:, 3:] == 0)
    # without the labels verl's own function cannot run the estimator
    with pytest.raises(Exception, match="task labels"):
        verl_compute_advantage(data, adv_estimator="ema_grpo")
