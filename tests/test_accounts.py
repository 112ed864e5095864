"""Accounts service layer: roles, classes, join codes, PIN and link sign-in, guests, and the attack table.

Every refusal is checked at the service layer (below the pages), as the wrong user, and checked to
have written nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from nnus_core.accounts import Action, Actor, Role, allowed, require
from nnus_core.accounts import service as acc
from nnus_core.accounts.codes import JOIN_ALPHABET, new_join_code, normalise_join_code
from nnus_core.errors import AccessDenied, QuizInputError, RateLimited, SignInError
from nnus_core.store import db as dbm
from nnus_core.store.account_tables import auth_tokens, memberships, users
from nnus_core.store.attempts import Attempt, record_attempt, student_attempts


@pytest.fixture()
def room(engine):
    """An instructor with a class, two students A and B in it, and a second instructor."""
    teacher = acc.create_instructor(
        engine, None, "t@school.edu", "Dr T", "correct horse battery", first_run=True
    )
    t = Actor(teacher, "10.0.0.1")
    other = acc.create_instructor(engine, t, "o@school.edu", "Dr O", "another long password")
    klass = acc.create_class(engine, t, "Anatomy 101", "Spring")
    a, _ = acc.join_class(engine, Actor(client="10.0.0.2"), klass.join_code, "Ana", "1234")
    b, _ = acc.join_class(engine, Actor(client="10.0.0.3"), klass.join_code, "Ben", "5678")
    return {
        "t": t,
        "o": Actor(other, "10.0.0.9"),
        "class": klass,
        "a": Actor(a, "10.0.0.2"),
        "b": Actor(b, "10.0.0.3"),
    }


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _attempt(student_id: int, key: str) -> Attempt:
    return Attempt(
        idempotency_key=key,
        student_id=student_id,
        session_id=None,
        instance_id=None,
        kind="locate",
        image_stem="0001",
        organ_id=3,
        dataset_key="phantom",
        answer={"box": [1, 2, 3, 4]},
        iou=0.7,
        credit=1.0,
        passed=True,
        model_iou=None,
        model_conf=None,
        elapsed_s=3.0,
        feedback="",
        created_s=1.0,
    )


def test_join_codes_have_no_look_alikes_and_normalise():
    assert not set("0O1IL5S2Z8B") & set(JOIN_ALPHABET)
    code = new_join_code()
    assert len(code) == 6 and set(code) <= set(JOIN_ALPHABET)
    assert normalise_join_code(" " + code.lower()[:3] + "-" + code.lower()[3:]) == code
    assert normalise_join_code("ABC") is None and normalise_join_code("0OOOOO") is None


def test_production_hashing_is_argon2id_with_rfc_9106_parameters():
    from argon2 import Type

    from nnus_core.accounts.passwords import PRODUCTION_HASHER

    h = PRODUCTION_HASHER
    assert (h.type, h.time_cost, h.memory_cost, h.parallelism) == (Type.ID, 3, 65536, 4)
    assert h.hash("x" * 12).startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_first_instructor_only_while_none_exists(engine):
    acc.create_instructor(engine, None, "first@x", "First", "a long password!", first_run=True)
    with pytest.raises(AccessDenied, match="Instructors only"):
        acc.create_instructor(engine, None, "second@x", "Second", "a long password!", first_run=True)
    assert acc.instructor_count(engine) == 1


def test_password_is_hashed_and_sign_in_works(engine):
    acc.create_instructor(engine, None, "T@School.edu ", "Dr T", "correct horse battery", first_run=True)
    with engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    user, token = acc.sign_in_password(engine, Actor(client="c"), "t@school.edu", "correct horse battery")
    assert user.role is Role.INSTRUCTOR
    assert acc.user_for_token(engine, token) == user
    with engine.connect() as conn:  # the database keeps only the token's hash
        assert token not in {r.token_hash for r in conn.execute(select(auth_tokens.c.token_hash))}
    acc.sign_out(engine, token)
    assert acc.user_for_token(engine, token) is None


def test_student_joins_signs_in_elsewhere_and_is_in_two_classes(engine, room):
    second = acc.create_class(engine, room["t"], "Anatomy 102")
    user, token = acc.join_class(engine, room["a"], second.join_code, "Ana", "1234")
    assert token is None and user.id == room["a"].user_id  # one person, two classes
    assert [c.name for c in acc.member_classes(engine, room["a"])] == ["Anatomy 101", "Anatomy 102"]
    again, tok = acc.sign_in_pin(engine, Actor(client="phone"), room["class"].join_code, " ana ", "1234")
    assert again.id == user.id and acc.user_for_token(engine, tok).id == user.id


def test_guest_answers_are_kept_when_the_guest_joins(engine, room):
    guest, token = acc.create_guest(engine)
    record_attempt(engine, _attempt(guest.student_id, "g1"))
    student, new_token = acc.join_class(engine, Actor(guest), room["class"].join_code, "Gil", "4444")
    assert new_token is None and student.role is Role.STUDENT and student.student_id == guest.student_id
    assert len(student_attempts(engine, student.student_id)) == 1
    assert acc.user_for_token(engine, token).role is Role.STUDENT  # same browser, still signed in


def test_guest_claims_answers_into_an_existing_account(engine, room):
    guest, gtoken = acc.create_guest(engine)
    record_attempt(engine, _attempt(guest.student_id, "g2"))
    user, _ = acc.sign_in_pin(engine, Actor(client="x"), room["class"].join_code, "Ana", "1234")
    assert acc.claim_guest(engine, Actor(guest), user) == 1
    assert len(student_attempts(engine, user.student_id)) == 1
    assert acc.user_for_token(engine, gtoken) is None


def test_personal_link_works_once_and_locks_out_old_sign_ins(engine, room):
    _, old = acc.sign_in_pin(engine, Actor(client="x"), room["class"].join_code, "Ben", "5678")
    link = acc.issue_personal_link(engine, room["t"], room["class"].id, room["b"].user_id)
    assert acc.user_for_token(engine, old) is None
    user, token = acc.redeem_personal_link(engine, Actor(client="y"), link)
    assert user.id == room["b"].user_id and acc.user_for_token(engine, token).id == user.id
    with pytest.raises(SignInError, match="not valid"):
        acc.redeem_personal_link(engine, Actor(client="y"), link)


def test_roster_shows_last_activity_and_can_be_imported(engine, room):
    record_attempt(engine, _attempt(room["a"].student_id, "a1"))
    entries = {e.display_name: e for e in acc.roster(engine, room["t"], room["class"].id)}
    assert entries["Ana"].n_answers == 1 and entries["Ana"].last_activity_s == 1.0
    assert entries["Ben"].n_answers == 0 and entries["Ben"].last_activity_s is None
    links = acc.import_roster(engine, room["t"], room["class"].id, "name,email\nCara,c@x\nAna,a@x\n\n")
    assert list(links) == ["Cara"]  # Ana is already on the roster
    assert acc.redeem_personal_link(engine, Actor(client="z"), links["Cara"])[0].display_name == "Cara"
    acc.remove_student(engine, room["t"], room["class"].id, room["b"].user_id)
    assert {e.display_name for e in acc.roster(engine, room["t"], room["class"].id)} == {"Ana", "Cara"}


def test_rotating_and_closing_the_code(engine, room):
    old = room["class"].join_code
    new = acc.rotate_join_code(engine, room["t"], room["class"].id).join_code
    assert new != old
    with pytest.raises(SignInError, match="not open"):
        acc.join_class(engine, Actor(client="n"), old, "Nia", "1111")
    assert acc.close_joining(engine, room["t"], room["class"].id).join_code is None
    with pytest.raises(SignInError, match="not open"):
        acc.join_class(engine, Actor(client="n"), new, "Nia", "1111")


def test_policy_table_progress_is_private(engine, room):
    a, b, t, o = room["a"], room["b"], room["t"], room["o"]
    assert allowed(engine, a, Action.READ_PROGRESS, a.student_id)
    assert not allowed(engine, a, Action.READ_PROGRESS, b.student_id)
    assert allowed(engine, t, Action.READ_PROGRESS, b.student_id)  # B's instructor
    assert not allowed(engine, o, Action.READ_PROGRESS, b.student_id)  # another class's instructor
    with pytest.raises(AccessDenied, match="Instructors only"):
        require(engine, a, Action.LOAD_SERVER_DATASET)
    assert allowed(engine, t, Action.LOAD_SERVER_DATASET)


# The attack table: each row is an attempt that must be refused with a clear message and write nothing.
ATTACKS = [
    (
        "impersonate B by typing B's name to join",
        lambda e, r: acc.join_class(e, Actor(client="evil"), r["class"].join_code, "ben", "0000"),
        SignInError,
        "already uses the name",
    ),
    (
        "sign in as B with a guessed PIN",
        lambda e, r: acc.sign_in_pin(e, Actor(client="evil"), r["class"].join_code, "Ben", "0000"),
        SignInError,
        "not right",
    ),
    (
        "student A reads B's progress",
        lambda e, r: require(e, r["a"], Action.READ_PROGRESS, r["b"].student_id),
        AccessDenied,
        "private",
    ),
    (
        "student A answers into B's record",
        lambda e, r: require(e, r["a"], Action.ANSWER, r["b"].student_id),
        AccessDenied,
        "own record",
    ),
    (
        "anonymous answers into B's record",
        lambda e, r: require(e, Actor(), Action.ANSWER, r["b"].student_id),
        AccessDenied,
        "Sign in",
    ),
    (
        "student opens the roster",
        lambda e, r: acc.roster(e, r["a"], r["class"].id),
        AccessDenied,
        "Instructors only",
    ),
    (
        "another instructor opens the roster",
        lambda e, r: acc.roster(e, r["o"], r["class"].id),
        AccessDenied,
        "class's instructor",
    ),
    (
        "another instructor rotates the code",
        lambda e, r: acc.rotate_join_code(e, r["o"], r["class"].id),
        AccessDenied,
        "class's instructor",
    ),
    (
        "another instructor reissues B's link",
        lambda e, r: acc.issue_personal_link(e, r["o"], r["class"].id, r["b"].user_id),
        AccessDenied,
        "class's instructor",
    ),
    (
        "instructor reissues a link for a non-member",
        lambda e, r: acc.issue_personal_link(e, r["t"], r["class"].id, r["o"].user_id),
        AccessDenied,
        "not in your class",
    ),
    (
        "student creates a class",
        lambda e, r: acc.create_class(e, r["a"], "Mine"),
        AccessDenied,
        "Instructors only",
    ),
    (
        "student creates an instructor",
        lambda e, r: acc.create_instructor(e, r["a"], "x@y", "X", "long enough pw"),
        AccessDenied,
        "Instructors only",
    ),
    (
        "forged browser token",
        lambda e, r: _expect_none(acc.user_for_token(e, "A" * 43)),
        SignInError,
        "no user",
    ),
    (
        "forged personal link",
        lambda e, r: acc.redeem_personal_link(e, Actor(client="evil"), "A" * 43),
        SignInError,
        "not valid",
    ),
    (
        "instructor sign-in with a wrong password",
        lambda e, r: acc.sign_in_password(e, Actor(client="evil"), "t@school.edu", "wrong password"),
        SignInError,
        "not right",
    ),
    (
        "HTML as a class name is text, 500 chars refused",
        lambda e, r: acc.create_class(e, r["t"], "<script>x</script>" * 30),
        QuizInputError,
        "at most 80",
    ),
    (
        "500-character display name",
        lambda e, r: acc.join_class(e, Actor(client="evil"), r["class"].join_code, "x" * 500, "1234"),
        QuizInputError,
        "at most 40",
    ),
]


def _expect_none(user):
    if user is None:
        raise SignInError("no user")
    return user


@pytest.mark.parametrize("what,attack,error,message", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attack_is_refused_and_writes_nothing(engine, room, what, attack, error, message):
    before = {t.name: _count(engine, t) for t in (users, memberships, dbm.attempts, dbm.students)}
    with pytest.raises(error, match=message):
        attack(engine, room)
    after = {t.name: _count(engine, t) for t in (users, memberships, dbm.attempts, dbm.students)}
    assert after == before


def test_guessing_join_codes_is_rate_limited_per_client(engine, room):
    for i in range(acc.CLIENT_FAILURES_MAX):
        with pytest.raises(SignInError):
            acc.join_class(engine, Actor(client="guesser"), new_join_code(), f"G{i}", "1234")
    with pytest.raises(RateLimited, match="Too many tries") as exc:
        acc.join_class(engine, Actor(client="guesser"), room["class"].join_code, "Gus", "1234")
    assert exc.value.retry_after_s > 0
    # another client is not affected
    acc.join_class(engine, Actor(client="honest"), room["class"].join_code, "Hal", "1234")


def test_guessing_a_pin_is_rate_limited_per_account_across_clients(engine, room):
    for i in range(acc.ACCOUNT_FAILURES_MAX):
        with pytest.raises(SignInError):
            acc.sign_in_pin(engine, Actor(client=f"c{i}"), room["class"].join_code, "Ben", f"{1000 + i}")
    with pytest.raises(RateLimited):
        acc.sign_in_pin(engine, Actor(client="fresh"), room["class"].join_code, "Ben", "5678")


def test_unclaimed_records_from_before_accounts_merge_into_a_student(engine, room):
    from nnus_core.store.students import get_or_create_student

    old = get_or_create_student(engine, "Ana R.")  # typed-name record, as before accounts
    record_attempt(engine, _attempt(old.id, "old-1"))
    assert [r[1] for r in acc.unclaimed_records(engine, room["t"])] == ["Ana R."]
    with pytest.raises(AccessDenied):
        acc.merge_record(engine, room["o"], old.id, room["a"].user_id)  # not O's student
    assert acc.merge_record(engine, room["t"], old.id, room["a"].user_id) == 1
    assert len(student_attempts(engine, room["a"].student_id)) == 1


def test_the_command_line_creates_instructors_with_a_password_from_stdin(tmp_path):
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    cmd = [
        sys.executable,
        "-m",
        "nnus_core.accounts",
        "create-instructor",
        "--login",
        "T@X.org",
        "--name",
        "Dr T",
        "--password-stdin",
    ]
    env = {"NNUS_DB_URL": url, "PATH": "/usr/bin:/bin"}
    made = subprocess.run(
        cmd, input="a long password 123\n", capture_output=True, text=True, env=env, timeout=120
    )
    assert made.returncode == 0 and "created instructor t@x.org" in made.stdout
    again = subprocess.run(
        cmd, input="a long password 123\n", capture_output=True, text=True, env=env, timeout=120
    )
    assert again.returncode == 2 and "already taken" in again.stderr
    short = subprocess.run(
        [*cmd[:5], "u@x", *cmd[6:]], input="short\n", capture_output=True, text=True, env=env, timeout=120
    )
    assert short.returncode == 2 and "password: expected 10 to 256 characters" in short.stderr
    engine = dbm.make_engine(url)
    user, _ = acc.sign_in_password(engine, Actor(client="c"), "t@x.org", "a long password 123")
    assert user.role is Role.INSTRUCTOR
