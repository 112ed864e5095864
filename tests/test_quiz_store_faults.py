"""AppTest: an answer submitted while the database is locked or unusable is kept, the student is
told in plain words, and it is stored exactly once when the database takes it; no traceback."""

from __future__ import annotations

import contextlib
import time

import pytest
from streamlit.testing.v1 import AppTest

import pages._shared as shared
from nnus_core.store import get_engine
from nnus_core.store.attempts import count_attempts
from pages._state import QuizKeys
from tests.pg import hold_write_lock
from tests.test_quiz_app import ROOT, answer_locate, env, quiz_page, start, texts  # noqa: F401 (fixtures)

PENDING_KEY = QuizKeys.pending.key

pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


def _db_path(env) -> str:  # noqa: F811
    return env["url"].removeprefix("sqlite:///")


@pytest.fixture
def store_env(env, store_url, monkeypatch):  # noqa: F811
    """The quiz pages' environment on each backend (SQLite file, PostgreSQL database)."""
    monkeypatch.setenv("NNUS_DB_URL", store_url)
    return {**env, "url": store_url}


def test_answer_submitted_while_locked_is_kept_then_stored_once(store_env):
    env = store_env  # noqa: F811 - the two-backend variant of the quiz pages' env
    at = start(quiz_page(), n=2)
    lock = contextlib.ExitStack()
    lock.enter_context(hold_write_lock(env["url"]))  # another writer holds the database
    t0 = time.perf_counter()
    answer_locate(at, env)
    took_s = time.perf_counter() - t0
    assert not at.exception, at.exception
    page = texts(at)
    assert "Your answer is not saved yet" in page and "busy" in page
    assert "OperationalError" not in page and "Traceback" not in page and env["url"] not in page
    assert len(at.session_state[PENDING_KEY]) == 1
    assert count_attempts(get_engine(env["url"])) == 0
    assert took_s < 15  # a 3 s busy timeout per try, not 30 s

    at.button(key="quiz_retry_pending").click().run()  # still locked: kept, and it says so
    assert "Your answer is not saved yet" in texts(at) and "Tried 2 time(s)" in texts(at)

    lock.close()
    at.button(key="quiz_retry_pending").click().run()  # the next try (timer or button) finds it free
    assert not at.exception, at.exception
    assert "Your answer is saved now" in texts(at)
    assert "already been answered" not in texts(at)  # on PostgreSQL the first write is reported as new
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
    path = _db_path(env)  # SQLite only: a damaged file (PostgreSQL: tests/test_store_faults.py, unreachable)
    with open(path, "wb") as f:
        f.write(b"not a database" * 100)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/quiz.py").run()
    assert not at.exception, at.exception
    msg = " ".join(e.value for e in at.error)
    assert "The progress database file is damaged" in msg and "Reference" in msg
    assert path not in texts(at)
