"""The worker pool: answers, kills at the deadline, replaces the killed worker."""

from __future__ import annotations

import time

import pytest

from unireward._mathsafe.worker import MathWorkerPool, WorkerDeadline, verify_inline


@pytest.mark.integration
def test_pool_answers_and_survives_a_deadline() -> None:
    pool = MathWorkerPool(size=1)
    try:
        assert pool.verify("$\\frac{1}{2}$", "$0.5$", timeout=60.0) == {"equal": True}
        assert pool.verify("$x+1$", "$x+2$", timeout=60.0) == {"equal": False}
        start = time.monotonic()
        with pytest.raises(WorkerDeadline):
            pool.verify("3", "$(x+y+z+1)^{60}$", timeout=1.0)
        assert time.monotonic() - start < 5.0
        assert pool.kills == 1
        assert pool.verify("$\\sqrt{4}$", "2", timeout=60.0) == {"equal": True}
    finally:
        pool.close()


def test_inline_verification_matches_the_pool_protocol() -> None:
    assert verify_inline("$\\frac{1}{2}$", "$0.5$") == {"equal": True}
    assert verify_inline("7", "8") == {"equal": False}
