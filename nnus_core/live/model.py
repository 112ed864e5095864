"""Values of a live session: its state, setup, questions, participants, answers and what a poll returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from nnus_core.errors import QuizInputError
from nnus_core.quiz.questions import MAX_TIME_LIMIT_S, Kind, Question
from nnus_core.quiz.values import Answer
from nnus_core.text import html_escape

MAX_LIVE_QUESTIONS = 30
MIN_TIME_S = 5
SPEED_SHARE = 0.5  # when speed counts: up to half of a question's points go for answering fast
POINTS_PER_QUESTION = 1000


class LiveState(StrEnum):
    """Where a session stands. Stored as these strings; never renamed."""

    LOBBY = "lobby"  # students join; nothing asked yet
    QUESTION_OPEN = "question_open"  # the current question takes answers until its deadline
    QUESTION_CLOSED = "question_closed"  # answers locked; the instructor may reveal
    REVEAL = "reveal"  # the class's answers are on the projector; students see their own result
    FINISHED = "finished"


@dataclass(frozen=True)
class LiveSetup:
    """What the instructor chose for a session."""

    title: str = "Live quiz"
    n_questions: int = 5
    kinds: tuple[str, ...] = (Kind.LOCATE.value, Kind.IDENTIFY.value)
    organ_ids: tuple[int, ...] = ()  # empty: every organ
    difficulty: str = "mixed"
    time_limit_s: int = 30
    speed_counts: bool = False
    leaderboard_hidden: bool = False
    pass_iou: float = 0.5
    absent_rate: float = 0.0  # share of Locate questions about an organ not in the image ("not visible")
    seed: int | None = None  # fixed: reproducible questions (tests, benches); None: random
    set_id: int | None = None  # a saved question set: its questions in order (n, kinds, organs ignored)

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.n_questions <= MAX_LIVE_QUESTIONS:
            problems.append(f"n_questions: expected 1..{MAX_LIVE_QUESTIONS}, got {self.n_questions}")
        if not MIN_TIME_S <= self.time_limit_s <= MAX_TIME_LIMIT_S:
            problems.append(
                f"time_limit_s: expected {MIN_TIME_S}..{MAX_TIME_LIMIT_S} s, got {self.time_limit_s}"
            )
        if problems:
            raise QuizInputError("live session settings: " + "; ".join(problems))


@dataclass(frozen=True)
class LiveSession:
    """A session as stored, with its state as of the clock that read it (a passed deadline is closed)."""

    id: int
    join_code: str
    instructor_id: int
    class_id: int | None
    title: str
    state: LiveState
    current_index: int  # -1 in the lobby
    opened_s: float | None
    deadline_s: float | None
    time_limit_s: int
    speed_counts: bool
    leaderboard_hidden: bool
    pass_iou: float
    dataset_key: str
    n_questions: int
    version: int
    created_s: float
    finished_s: float | None

    @property
    def title_html(self) -> str:
        return html_escape(self.title)

    @property
    def is_last_question(self) -> bool:
        return self.current_index >= self.n_questions - 1

    def seconds_left(self, now: float) -> float:
        """Seconds until the current question closes (0 when it is not open)."""
        if self.state is not LiveState.QUESTION_OPEN or self.deadline_s is None:
            return 0.0
        return max(0.0, self.deadline_s - now)


@dataclass(frozen=True)
class LiveQuestion:
    """One question of a session: generated once, the same image and task for everyone."""

    session_id: int
    position: int
    question: Question

    @property
    def kind(self) -> Kind:
        return self.question.kind


@dataclass(frozen=True)
class Participant:
    """Someone who joined a session, under the name the room sees."""

    id: int
    session_id: int
    user_id: int
    display_name: str
    joined_s: float

    @property
    def name_html(self) -> str:
        return html_escape(self.display_name)


@dataclass(frozen=True)
class LiveAnswer:
    """One stored answer: once per participant and question."""

    id: int
    session_id: int
    position: int
    participant_id: int
    answer: Answer
    credit: float
    passed: bool
    iou: float | None
    points: float
    elapsed_s: float
    created_s: float


@dataclass(frozen=True)
class Pulse:
    """What a polling page needs each second: cheap to read (two counts and one row)."""

    session: LiveSession
    joined: int
    answered: int  # answers to the current question

    @property
    def key(self) -> tuple:
        """Changes exactly when the page should redraw (a step, or the clock closing a question);
        the counts change far more often and only redraw the polling fragment."""
        return (self.session.version, self.session.state.value)


@dataclass(frozen=True)
class MyResult:
    """A student's own result for one question, and their rank so far (never anyone else's answer)."""

    answer: LiveAnswer | None
    rank: int | None  # 1 = first; None before any answer
    of: int  # participants ranked
    total_points: float
    correct: int
    answered: int


def points_for(credit: float, elapsed_s: float, time_limit_s: int, speed_counts: bool) -> float:
    """A question's points: the credit, and (when speed counts) a bonus for answering early."""
    if not speed_counts:
        return round(POINTS_PER_QUESTION * credit, 1)
    used = min(max(elapsed_s / max(time_limit_s, 1), 0.0), 1.0)
    return round(POINTS_PER_QUESTION * credit * (1.0 - SPEED_SHARE * used), 1)
