"""Answers the database could not take yet: kept in the browser session and tried again, never lost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nnus_core.errors import StoreBusyError, StoreError

RETRY_EVERY_S = 3  # a kept answer is tried again this often while the page is open


@dataclass(frozen=True)
class PendingAnswer:
    """An answer the database could not take yet, and how often it was tried."""

    answer: dict[str, Any]  # `Answer.to_dict()`
    answered_s: float  # when the student answered: the timer does not count the wait
    problem: str  # the plain reason, for the student
    busy: bool  # locked by another writer: it clears by itself
    tried_s: float  # when it was last tried
    tries: int = 1

    @classmethod
    def kept(
        cls,
        prev: PendingAnswer | None,
        answer: dict[str, Any],
        answered_s: float,
        exc: StoreError,
        now_s: float,
    ) -> PendingAnswer:
        """The answer kept after a failed try (`prev`: the same answer's earlier try, if any)."""
        tries = prev.tries + 1 if prev else 1
        return cls(answer, answered_s, exc.plain, isinstance(exc, StoreBusyError), now_s, tries)

    def due(self, now_s: float, every_s: float = RETRY_EVERY_S) -> bool:
        """Whether to try again now: each try may wait the busy timeout, so not twice in a row."""
        return now_s - self.tried_s >= every_s - 0.5
