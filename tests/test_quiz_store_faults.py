"""AppTest: an answer submitted while the database is locked or unusable is kept, the student is
told in plain words, and it is stored exactly once when the database takes it; no traceback."""

from __future__ import annotations

import sqlite3
import time

import pytest
from streamlit.testing.v1 import AppTest

import pages._shared as shared
from nnus_core.store import get_engine
from nnus_core.store.attempts import count_attempts
from pages._state import QuizKeys
from tests.test_quiz_app import ROOT, answer_locate, env, quiz_page, start, texts  # noqa: F401 (fixtures)

PENDING_KEY = QuizKeys.pending.key

pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


def _db_path(env) -> str:  # noqa: F811
    return env["url"].removeprefix("sqlite:///")


def test_answer_submitted_while_locked_is_kept_then_stored_once(env):  # noqa: F811
    at = start(quiz_page(), n=2)
    holder = sqlite3.connect(_db_path(env), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
    t0 = time.perf_counter()
    answer_locate(at, env)
    took_s = time.perf_counter() - t0
    assert not at.exception, at.exception
    page = texts(at)
    assert "Your answer is not saved yet" in page and "busy" in page
    assert "OperationalError" not in page and "Traceback" not in page and _db_path(env) not in page
    assert len(at.session_state[PENDING_KEY]) == 1
    assert count_attempts(get_engine(env["url"])) == 0
    assert took_s < 15  # a 3 s busy timeout per try, not 30 s

    at.button(key="quiz_retry_pending").click().run()  # still locked: kept, and it says so
    assert "Your answer is not saved yet" in texts(at) and "Tried 2 time(s)" in texts(at)

    holder.execute("ROLLBACK")
    holder.close()
    at.button(key="quiz_retry_pending").click().run()  # the next try (timer or button) finds it free
    assert not at.exception, at.exception
    assert "Your answer is saved now" in texts(at)
    assert not at.session_state[PENDING_KEY]
    assert at.button(key="quiz_next") is not None  # the feedback of the stored answer is shown
    at.run()
    assert count_attempts(get_engine(env["url"])) == 1


def test_unexpected_error_shows_a_reference_not_a_traceback(env, monkeypatch):  # noqa: F811
    monkeypatch.delenv("NNUS_ERROR_DETAILS")

    def boom(*_a, **_k):
        raise RuntimeError("/srv/secret/path exploded")

    monkeypatch.setattr(shared, "get_dataset", boom)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()  # Home, through app.py
    assert not at.exception
    msg = " ".join(e.value for e in at.error)
    assert "Something went wrong on this page" in msg and "Reference" in msg
    assert "/srv/secret" not in texts(at) and "RuntimeError" not in texts(at)


def test_an_unusable_database_stops_the_quiz_with_a_plain_message(env, monkeypatch):  # noqa: F811
    path = _db_path(env)
    with open(path, "wb") as f:
        f.write(b"not a database" * 100)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/quiz.py").run()
    assert not at.exception, at.exception
    msg = " ".join(e.value for e in at.error)
    assert "The progress database file is damaged" in msg and "Reference" in msg
    assert path not in texts(at)
