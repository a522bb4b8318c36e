"""The scoring API: composition, statuses, records, errors, registration."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
import threading

import pytest

import unireward
from unireward import (
    ConfigurationError,
    GroundTruthError,
    InputError,
    RewardResult,
    Status,
    TaskOutcome,
    TaskScorer,
    UnknownTaskError,
)


def test_composition_formula() -> None:
    r = unireward.score("<think>t</think><answer>125</answer>", "100", "regression")
    assert r.total == pytest.approx(0.9 * 0.5 + 0.1 * 1 + 0.5)
    r = unireward.score(
        "<think>t</think><answer>125</answer>", "100", "regression", format_weight=0.3
    )
    assert r.total == pytest.approx(0.7 * 0.5 + 0.3 * 1 + 0.5)


def test_structure_gated_by_format() -> None:
    r = unireward.score("<answer>100</answer>", "100", "regression")
    assert (r.format, r.structure, r.accuracy, r.total) == (0.0, 0.0, 1.0, 0.9)
    assert r.status is Status.FORMAT_ERROR
    assert Status.FORMAT_ERROR in r.issues


def test_no_tags_status() -> None:
    r = unireward.score("100", "100", "regression")
    assert r.status is Status.NO_TAGS and r.accuracy == 1.0
    assert set(r.issues) == {Status.NO_TAGS, Status.FORMAT_ERROR}


def test_task_names_case_insensitive() -> None:
    a = unireward.score("<think>t</think><answer>1</answer>", "1", "NUMERICAL")
    b = unireward.score("<think>t</think><answer>1</answer>", "1", " Numerical ")
    assert a.total == b.total == 1.5


def test_unknown_task_raises() -> None:
    with pytest.raises(UnknownTaskError, match="no scorer registered for task 'poetry'"):
        unireward.score("<think>t</think><answer>x</answer>", "x", "poetry")


def test_unknown_option_raises() -> None:
    with pytest.raises(ConfigurationError, match="unknown scoring option"):
        unireward.score("x", "1", "numerical", fromat_weight=0.2)
    with pytest.raises(ConfigurationError, match="profile"):
        unireward.score("x", "1", "numerical", profile="lenient")


def test_result_is_frozen_and_picklable() -> None:
    r = unireward.score("<think>t</think><answer>1</answer>", "1", "numerical")
    with pytest.raises(AttributeError):
        r.total = 2.0  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(r)) == r
    assert float(r) == 1.5 and r.ok


class EchoLength(TaskScorer):
    name = "echo length"

    def score_many(self, answers, truths, data_types, options):  # type: ignore[no-untyped-def]
        return [
            TaskOutcome(min(1.0, len(a) / max(len(t), 1)), 0.5)
            for a, t in zip(answers, truths, strict=True)
        ]


# written against the single-item protocol of earlier releases: still works, deprecated
with pytest.warns(DeprecationWarning, match="implements only TaskScorer.score"):

    class Exploding(TaskScorer):
        name = "exploding"

        def score(self, answer, truth, *, data_type, options):  # type: ignore[no-untyped-def]
            if answer == "boom":
                raise RuntimeError("kaboom")
            if answer == "nan":
                return TaskOutcome(float("nan"), 0.5)
            return TaskOutcome(1.0, 0.5)


@pytest.fixture
def custom_tasks():
    unireward.register_task(EchoLength())
    unireward.register_task(Exploding())
    yield
    unireward.unregister_task("echo length")
    unireward.unregister_task("exploding")


def test_register_custom_task(custom_tasks: None) -> None:
    r = unireward.score("<think>t</think><answer>ab</answer>", "abcd", "Echo_Length")
    assert r.accuracy == 0.5
    assert "echo length" in unireward.registered_tasks()
    with pytest.raises(ConfigurationError, match="already registered"):
        unireward.register_task(EchoLength())


def test_builtin_cannot_be_silently_replaced() -> None:
    class Fake(TaskScorer):
        name = "numerical"

    with pytest.raises(ConfigurationError):
        unireward.register_task(Fake())


def test_unexpected_errors_are_recorded(custom_tasks: None) -> None:
    r = unireward.score("<think>t</think><answer>boom</answer>", "x", "exploding")
    assert r.status is Status.ERROR and "kaboom" in (r.reason or "")
    assert (r.total, r.accuracy, r.format, r.structure) == (0.0, 0.0, 0.0, 0.0)
    with pytest.raises(RuntimeError):
        unireward.score(
            "<think>t</think><answer>boom</answer>", "x", "exploding", raise_on_error=True
        )


def test_non_finite_never_returned(custom_tasks: None) -> None:
    r = unireward.score("<think>t</think><answer>nan</answer>", "x", "exploding")
    assert math.isfinite(r.total) and r.accuracy == 0.0 and r.status is Status.NON_FINITE


def test_batch_isolates_failing_items(custom_tasks: None) -> None:
    recs = [
        {
            "completion": f"<think>t</think><answer>{a}</answer>",
            "ground_truth": "x",
            "task": "exploding",
        }
        for a in ["ok", "boom", "ok"]
    ]
    res = unireward.score_batch(recs)
    assert [r.status for r in res] == [Status.OK, Status.ERROR, Status.OK]


def test_batch_aliases_and_order() -> None:
    recs = [
        {
            "response": "<think>t</think><answer>1</answer>",
            "solution": "<answer>1</answer>",
            "problem_type": "numerical",
        },
        {"completion": "<think>t</think><answer>Hello</answer>", "answer": "Hello", "task": "OCR"},
        {
            "completion": "<think>t</think><answer>2</answer>",
            "ground_truth": "1",
            "task": "numerical",
        },
    ]
    res = unireward.score_batch(recs)
    assert [r.total for r in res] == [1.5, 1.5, 0.6]
    assert [r.task for r in res] == ["numerical", "OCR", "numerical"]


def test_batch_bad_records() -> None:
    recs = [
        {
            "completion": "<think>t</think><answer>1</answer>",
            "ground_truth": "1",
            "task": "numerical",
        },
        {"completion": "x", "task": "numerical"},
        {"completion": "x", "ground_truth": "1", "task": "no such task"},
        {"completion": "x", "ground_truth": "one", "task": "numerical"},
        "not a mapping",
    ]
    with pytest.raises(InputError, match="record 1: record is missing 'ground_truth'"):
        unireward.score_batch(recs, errors="raise")
    res = unireward.score_batch(recs)  # errors="record" is the default
    assert res == unireward.score_batch(recs, errors="record")
    assert len(res) == 5
    assert res[0].status is Status.OK
    assert [r.status for r in res[1:]] == [
        Status.ERROR,
        Status.ERROR,
        Status.GROUND_TRUTH_ERROR,
        Status.ERROR,
    ]
    assert all(r.reason for r in res[1:])
    assert "GroundTruthError" in (res[3].reason or "")
    with pytest.raises(GroundTruthError, match="record 0: numerical ground truth 'one'"):
        unireward.score_batch(recs[3:4], errors="raise")


def test_score_from_threads() -> None:
    out: list[float] = []

    def work() -> None:
        for _ in range(50):
            out.append(
                unireward.score("<think>t</think><answer>1</answer>", "1", "numerical").total
            )

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [1.5] * 200


def test_import_is_light() -> None:
    code = (
        "import sys, unireward; "
        "unireward.score('<think>t</think><answer>1</answer>', '1', 'numerical'); "
        "heavy = [m for m in ('torch', 'sam2', 'trl', 'verl', 'ray', 'transformers') "
        "if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_surface() -> None:
    assert unireward.__all__ == sorted(unireward.__all__)
    expected = {
        "score",
        "score_batch",
        "ascore_batch",
        "RewardResult",
        "Status",
        "register_task",
        "unregister_task",
        "registered_tasks",
        "get_scorer",
        "TaskScorer",
        "ItemScorer",
        "TaskOutcome",
        "ScoreOptions",
        "UniRewardError",
        "ConfigurationError",
        "GroundTruthError",
        "InputError",
        "MissingExtraError",
        "RemoteRewardError",
        "ScoringDeadlineError",
        "UnknownTaskError",
        "__version__",
    }
    assert set(unireward.__all__) == expected
    for name in unireward.__all__:
        assert hasattr(unireward, name)
    assert isinstance(RewardResult(0, 0, 0, 0).to_dict(), dict)


def test_error_tree() -> None:
    from unireward import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.UniRewardError)
    assert issubclass(errors.UnknownTaskError, KeyError)
    assert issubclass(errors.RemoteTimeoutError, TimeoutError)
    assert str(UnknownTaskError("no scorer")) == "no scorer"


def test_batch_pauses_the_collector_on_the_main_thread_only() -> None:
    """A big batch on the main thread pauses the cyclic collector and restores it, also
    when it raises; on another thread (ascore_batch's worker, a server's) it leaves the
    process-wide switch alone; a collector the caller switched off stays off."""
    import gc
    import threading

    good = {
        "completion": "<think>t</think><answer>B</answer>",
        "ground_truth": "B",
        "task": "multiple choice",
    }
    seen: list[bool] = []

    class Probe(dict):  # a record that reports the collector's state while it is read
        def __init__(self) -> None:
            super().__init__(good)

        def __contains__(self, key: object) -> bool:
            seen.append(gc.isenabled())
            return super().__contains__(key)

    assert threading.current_thread() is threading.main_thread() and gc.isenabled()
    res = unireward.score_batch([good] * 1000 + [Probe()])
    assert len(res) == 1001 and res[-1].total == 1.5
    assert seen and not any(seen)  # paused during the batch
    assert gc.isenabled()
    with pytest.raises(InputError):
        unireward.score_batch([good] * 1000 + [{"completion": "x"}], errors="raise")
    assert gc.isenabled()
    seen.clear()
    worker = threading.Thread(target=lambda: unireward.score_batch([good] * 1000 + [Probe()]))
    worker.start()
    worker.join()
    assert seen and all(seen)  # not paused from another thread
    gc.disable()
    try:
        unireward.score_batch([good] * 1000)
        assert not gc.isenabled()
    finally:
        gc.enable()
