"""verl: compute_score and the ema_grpo estimator through verl's own compute_advantage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ._support import require

require("verl")
torch = require("torch")


from unireward.advantage import EMARewardNormalizer, ema_grpo  # noqa: E402
from unireward.errors import ConfigurationError  # noqa: E402
from unireward.integrations import verl as uv  # noqa: E402

DELIBERATE = {"captioning", "open_ended_polar_path"}  # see reward-spec.md


def test_compute_score_reproduces_reference_rows(reference_rows: list[dict]) -> None:
    rows = [r for r in reference_rows if r["task"] not in DELIBERATE]
    infos = [{"problem_type": r["problem_type"], "data_type": r["data_type"]} for r in rows]
    batch = uv.compute_score_batch(["onethinker"] * len(rows), [r["completion"] for r in rows],
                                   [r["ground_truth"] for r in rows], infos)
    for row, info, got in zip(rows, infos, batch, strict=True):
        one = uv.compute_score("onethinker", row["completion"], row["ground_truth"], info)
        assert one == got
        assert got["score"] == pytest.approx(row["expected_reward"], abs=1e-6), row["notes"]
        assert got["accuracy"] == pytest.approx(row["components"]["accuracy"], abs=1e-6)
        assert got["format"] == pytest.approx(row["components"]["format"], abs=1e-6)


def test_compute_score_keys_and_errors() -> None:
    fn = uv.make_compute_score(task_key="kind")
    assert (
        fn("x", "<think>t</think><answer>B</answer>", "B", {"kind": "multiple choice"})["score"]
        == 1.5
    )
    # no extra_info: the data source names the task
    assert (
        uv.compute_score("multiple choice", "<think>t</think><answer>B</answer>", "B")["score"]
        == 1.5
    )
    batch = uv.compute_score_batch(
        ["a", "b"],
        ["<think>t</think><answer>4</answer>", "x"],
        ["4", "one"],
        [{"problem_type": "numerical"}, {"problem_type": "numerical"}],
    )
    # a bad ground truth is scored as the reference scores it, never raised
    assert (
        batch[0]["score"] == 1.5
        and batch[1]["status"] == "ground_truth_error"
        and batch[1]["score"] == 0.0
    )
    batch = uv.compute_score_batch(
        ["a", "b"],
        ["<think>t</think><answer>4</answer>"] * 2,
        ["4", "one"],
        [{"problem_type": "numerical"}, {"problem_type": "no such task"}],
    )
    assert batch[1]["status"] == "error" and batch[1]["score"] == 0.0
    got = uv.compute_score(
        "src", "<think>t</think><answer>229</answer>", "229 meters", {"problem_type": "regression"}
    )
    assert (got["score"], got["status"]) == (pytest.approx(0.6), "ground_truth_error")


def _batch(scores: list[float], uids: list[str],  # type: ignore[no-untyped-def]
           non_tensors: dict[str, list]):
    from verl import DataProto

    n, length = len(scores), 5
    mask = torch.ones(n, length)
    mask[:, 3:] = 0
    token_rewards = torch.zeros(n, length)
    token_rewards[:, 2] = torch.tensor(scores)  # the outcome reward sits on the last response token
    nt = {"uid": np.array(uids, dtype=object)}
    nt.update({k: np.array(v, dtype=object) for k, v in non_tensors.items()})
    return DataProto.from_dict(
        tensors={"token_level_rewards": token_rewards, "response_mask": mask}, non_tensors=nt
    )


STEPS = [  # (scores, uids, tasks, data types): two steps, the second continues the tracker
    ([1.5, 0.6, 1.5, 0.6, 1.2, 1.0, 0.8, 0.9], ["a"] * 4 + ["c"] * 4,
     ["multiple choice"] * 4 + ["segmentation"] * 4, ["image"] * 4 + ["video"] * 4),
    ([1.5, 1.5, 0.6, 0.6, 1.4, 1.3, 1.45, 1.35], ["d"] * 4 + ["f"] * 4,
     ["multiple choice"] * 4 + ["segmentation"] * 4, ["image"] * 4 + ["video"] * 4),
]


@pytest.mark.integration
def test_registered_estimator_through_verl_compute_advantage(tmp_path: Path) -> None:
    from verl.trainer.ppo import core_algos
    from verl.trainer.ppo.ray_trainer import compute_advantage as verl_compute_advantage

    uv.register()
    uv.register()  # idempotent
    assert core_algos.get_adv_estimator_fn("ema_grpo") is uv.ema_grpo_estimator
    uv.configure(EMARewardNormalizer())
    check = EMARewardNormalizer()
    for step, (scores, uids, tasks, dtypes) in enumerate(STEPS):
        # labels as top-level columns in step 0, inside extra_info in step 1
        if step == 0:
            data = _batch(scores, uids, {"problem_type": tasks, "data_type": dtypes})
        else:
            data = _batch(
                scores,
                uids,
                {
                    "extra_info": [
                        {"problem_type": t, "data_type": d}
                        for t, d in zip(tasks, dtypes, strict=True)
                    ]
                },
            )
        out = uv.compute_advantage(data, adv_estimator="ema_grpo")
        want = ema_grpo(scores, uids, tasks, data_types=dtypes, normalizer=check)
        got = out.batch["advantages"]
        np.testing.assert_allclose(got[:, 0].numpy(), want, atol=1e-6)
        assert torch.equal(got[:, :3], got[:, :1].expand(-1, 3)) and torch.all(got[:, 3:] == 0)
        assert torch.equal(out.batch["returns"], got)
    assert set(uv.normalizer().tasks) == {"multiple choice", "segmentation/video"}
    assert uv.normalizer().state_dict() == check.state_dict()

    # the tracker survives a checkpoint round trip
    folder = tmp_path / "global_step_2"
    uv.save_normalizer(str(folder))
    uv.configure(EMARewardNormalizer())
    assert uv.load_normalizer(str(folder)) and uv.normalizer().state_dict() == check.state_dict()
    assert not uv.load_normalizer(str(tmp_path / "nothing"))

    # without labels verl's own function cannot run the estimator
    data = _batch(*STEPS[0][:2], {})
    with pytest.raises(ConfigurationError, match="task labels"):
        verl_compute_advantage(data, adv_estimator="ema_grpo")


@pytest.mark.integration
def test_labels_by_uid_with_unpatched_compute_advantage() -> None:
    from verl.trainer.ppo.ray_trainer import compute_advantage as verl_compute_advantage

    uv.register()
    uv.configure(EMARewardNormalizer())
    scores, uids, tasks, dtypes = STEPS[0]
    uv.label_uids(["a", "c"], ["multiple choice", "segmentation"], ["image", "video"])
    out = verl_compute_advantage(_batch(scores, uids, {}), adv_estimator="ema_grpo")
    want = ema_grpo(scores, uids, tasks, data_types=dtypes, normalizer=EMARewardNormalizer())
    np.testing.assert_allclose(out.batch["advantages"][:, 0].numpy(), want, atol=1e-6)
    # the labels are used once, then forgotten
    with pytest.raises(ConfigurationError, match="task labels"):
        verl_compute_advantage(_batch(scores, uids, {}), adv_estimator="ema_grpo")
    with pytest.raises(ConfigurationError):
        uv.label_uids(["a"], ["x", "y"])
