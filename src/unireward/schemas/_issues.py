"""Per-item issue bookkeeping of a batch (bad answers never raise)."""

from __future__ import annotations

from typing import Any

__all__ = ["Issues"]


class Issues:
    """What went wrong per item of a batch: the most important status wins.

    >>> from unireward.result import Status
    >>> book = Issues()
    >>> book.flag(3, Status.NON_FINITE, "time is NaN")
    >>> book.flag(3, Status.SCHEMA_ERROR, "boxes: Field required")
    >>> book.flag(3, Status.NON_FINITE, "ignored")
    >>> book.get(3)
    (<Status.SCHEMA_ERROR: 'schema_error'>, 'boxes: Field required')
    """

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: dict[int, tuple[Any, str | None]] = {}

    def flag(self, index: int, status: Any, reason: str | None) -> None:
        from ..result import RewardResult

        old = self.items.get(index)
        if old is None or RewardResult.most_important([old[0], status]) is not old[0]:
            self.items[index] = (status, reason)

    def get(self, index: int) -> tuple[Any, str | None] | None:
        return self.items.get(index)
