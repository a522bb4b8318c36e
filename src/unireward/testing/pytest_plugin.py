"""pytest plugin: the ``reward_checker`` fixture.

>>> # def test_my_reward(reward_checker):
>>> #     reward_checker(my_reward_fn, task="spatial grounding")
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def reward_checker() -> Any:
    """Run :func:`unireward.testing.check_reward` and fail the test with the report when an
    invariant is violated; returns the report otherwise."""

    def run(fn: Any, task: str, **kwargs: Any) -> Any:
        from .checks import check_reward

        report = check_reward(fn, task, **kwargs)
        if not report.ok:
            pytest.fail(report.text(), pytrace=False)
        return report

    return run
