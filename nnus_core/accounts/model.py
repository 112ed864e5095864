"""Typed values of the accounts package: roles, users, the acting user, classes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from nnus_core.text import html_escape


class Role(StrEnum):
    """What a signed-in person is. Stored as these strings; never renamed."""

    INSTRUCTOR = "instructor"
    STUDENT = "student"
    GUEST = "guest"


@dataclass(frozen=True)
class User:
    """A person known to the app. `student_id` is their progress record (answers, quizzes)."""

    id: int
    role: Role
    display_name: str
    student_id: int | None = None
    login: str | None = None

    @property
    def display_html(self) -> str:
        """The name escaped for HTML: a name is text, never markup."""
        return html_escape(self.display_name)


@dataclass(frozen=True)
class Actor:
    """Who is asking: the signed-in user, or nobody (`user is None`, an anonymous visitor).

    Every service call that reads or writes a record takes one; `policy.require` decides.
    """

    user: User | None = None
    client: str = ""  # the client address, for rate limits and the sign-in log

    @property
    def role(self) -> Role | None:
        return self.user.role if self.user else None

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None

    @property
    def student_id(self) -> int | None:
        return self.user.student_id if self.user else None

    @property
    def is_instructor(self) -> bool:
        return self.role is Role.INSTRUCTOR


ANONYMOUS = Actor()


@dataclass(frozen=True)
class ClassInfo:
    """A class (course group) as an instructor or a member sees it."""

    id: int
    name: str
    term: str
    instructor_id: int
    join_code: str | None  # None once the instructor closed joining
    n_students: int = 0

    @property
    def name_html(self) -> str:
        return html_escape(self.name)


@dataclass(frozen=True)
class RosterEntry:
    """One student of a class on the instructor's roster."""

    user_id: int
    student_id: int | None
    display_name: str
    joined_s: float
    last_activity_s: float | None
    n_answers: int
