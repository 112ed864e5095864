"""Tables behind a live class session: the session (its state machine), its questions, who joined, their answers.

Everything a live session is lives in these rows, never in one server's memory, so two app servers
behind a load balancer serve one room: the instructor on one, students on the other.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from nnus_core.store.db import NAME_MAX_CHARS, metadata

TITLE_MAX = 80

live_sessions = Table(
    "live_sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("join_code", String(8), nullable=False, unique=True),
    Column("instructor_id", Integer, ForeignKey("users.id"), nullable=False),
    Column(
        "class_id", Integer, ForeignKey("classes.id"), nullable=True
    ),  # NULL: open to anyone with the code
    Column("title", String(TITLE_MAX * 4), nullable=False),
    # lobby -> question_open -> question_closed -> reveal -> question_open ... -> finished
    Column("state", String(16), nullable=False),
    Column("current_index", Integer, nullable=False),  # -1 in the lobby
    Column("opened_s", Float, nullable=True),  # when the current question opened
    Column("deadline_s", Float, nullable=True),  # when it closes by itself (closing early moves it)
    Column("time_limit_s", Integer, nullable=False),
    Column("speed_counts", Boolean, nullable=False),
    Column("leaderboard_hidden", Boolean, nullable=False),
    Column("pass_iou", Float, nullable=False),
    Column("dataset_key", String(200), nullable=False),
    Column("n_questions", Integer, nullable=False),
    # Bumped on every change of state: a polling page redraws only when it moved.
    Column("version", Integer, nullable=False),
    Column("created_s", Float, nullable=False),
    Column("finished_s", Float, nullable=True),
)

live_questions = Table(
    "live_questions",
    metadata,
    Column("session_id", Integer, ForeignKey("live_sessions.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("image_stem", String(200), nullable=False),
    Column("organ_id", Integer, nullable=True),
    Column("payload_json", Text, nullable=False),  # the Question, generated once for the whole room
)

live_participants = Table(
    "live_participants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Integer, ForeignKey("live_sessions.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("display_name", String(NAME_MAX_CHARS * 4), nullable=False),
    Column("name_key", String(NAME_MAX_CHARS * 4), nullable=False),
    Column("joined_s", Float, nullable=False),
    UniqueConstraint("session_id", "user_id", name="uq_live_participant_user"),
    UniqueConstraint("session_id", "name_key", name="uq_live_participant_name"),
)

live_answers = Table(
    "live_answers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Integer, ForeignKey("live_sessions.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("participant_id", Integer, ForeignKey("live_participants.id"), nullable=False),
    Column("answer_json", Text, nullable=False),
    Column("credit", Float, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("iou", Float, nullable=True),
    Column("points", Float, nullable=False),
    Column("elapsed_s", Float, nullable=False),
    Column("created_s", Float, nullable=False),
    # One answer per participant per question: a double tap or a second server stores nothing more.
    UniqueConstraint("participant_id", "position", name="uq_live_answer_once"),
)
Index("ix_live_answers_question", live_answers.c.session_id, live_answers.c.position)

LIVE_TABLES = (live_sessions, live_questions, live_participants, live_answers)
