"""Account services: instructors, students, guests, classes, join codes, sign-in tokens, merges.

Every function that reads or writes someone's record takes the acting user (`Actor`) and asks
`policy.require` first. Secrets (passwords, PINs, tokens) are stored only as hashes. Failed
sign-ins are rate-limited per client and per account and logged to the `nnus.signin` logger.
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
import time
from collections.abc import Sequence

from sqlalchemy import Connection, Engine, and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from nnus_core.accounts.codes import new_join_code, new_token, normalise_join_code, token_hash
from nnus_core.accounts.model import Actor, ClassInfo, Role, RosterEntry, User
from nnus_core.accounts.passwords import check_password_rules, check_pin_rules, hash_secret, verify_secret
from nnus_core.accounts.policy import Action, require
from nnus_core.errors import AccessDenied, QuizInputError, RateLimited, SignInError, StoreError
from nnus_core.store.account_tables import (
    CLASS_NAME_MAX,
    TERM_MAX,
    auth_tokens,
    classes,
    memberships,
    signin_failures,
    users,
)
from nnus_core.store.db import attempts, quiz_sessions, read_conn, students, write_tx
from nnus_core.store.students import clean_display_name, name_key
from nnus_core.text import plain

log = logging.getLogger("nnus.signin")

BROWSER_TOKEN_DAYS = 30
LINK_TOKEN_DAYS = 14
# Failed tries allowed in RATE_WINDOW_S before further tries are refused without being checked.
RATE_WINDOW_S = 600.0
# Per client address: a whole class behind one school NAT shares an address, and students mistype
# codes, so this is generous; 60 guesses in 191 million codes is still nothing. Per account (a PIN)
# the limit is tight.
CLIENT_FAILURES_MAX = 60
ACCOUNT_FAILURES_MAX = 8
ROSTER_CSV_MAX_ROWS = 1000
WRONG_JOIN = "That join code is not open. Check the code on the projector and try again."
WRONG_SIGNIN = "The class code, name or PIN is not right."
WRONG_PASSWORD = "The sign-in name or password is not right."


# --- helpers ---------------------------------------------------------------------------------------


def _user(row) -> User:  # noqa: ANN001 - a Row of `users`
    return User(int(row.id), Role(row.role), str(row.display_name), row.student_id, row.login)


def _new_record(conn: Connection, display_name: str, now: float) -> int:
    """A fresh progress record (students row) that no typed name can reach."""
    # \x1f never survives clean_display_name, so a typed name cannot collide with this key.
    key = f"\x1faccount {secrets.token_hex(12)}"
    res = conn.execute(students.insert().values(name_key=key, display_name=display_name, created_s=now))
    return int(res.inserted_primary_key[0])


def _clean_text(raw: str, field: str, limit: int) -> str:
    text = " ".join(plain(raw or "").split())
    if not text:
        raise QuizInputError(f"{field}: expected 1 to {limit} visible characters, got an empty value")
    if len(text) > limit:
        raise QuizInputError(f"{field}: expected at most {limit} characters, got {len(text)}")
    return text


def _check_rate(conn: Connection, actor: Actor, account_key: str | None, now: float) -> None:
    since = now - RATE_WINDOW_S
    for scope, key, limit in (
        ("client", actor.client or "?", CLIENT_FAILURES_MAX),
        ("account", account_key, ACCOUNT_FAILURES_MAX),
    ):
        if key is None:
            continue
        rows = conn.execute(
            select(func.count(), func.min(signin_failures.c.created_s)).where(
                and_(
                    signin_failures.c.scope == scope,
                    signin_failures.c.key == key,
                    signin_failures.c.created_s > since,
                )
            )
        ).one()
        if rows[0] >= limit:
            retry = max(1.0, (rows[1] or now) + RATE_WINDOW_S - now)
            log.warning("sign-in refused: too many failures scope=%s key=%s", scope, key)
            raise RateLimited(
                f"Too many tries. Wait {int(retry // 60) + 1} minutes and try again, or ask your instructor.",
                retry,
            )


def check_code_rate(engine: Engine, actor: Actor) -> None:
    """Refuse at once when this client has guessed too many codes (class or live-session codes).

    Raises:
        RateLimited: after CLIENT_FAILURES_MAX failures within RATE_WINDOW_S.
    """
    with read_conn(engine) as conn:
        _check_rate(conn, actor, None, time.time())


def record_wrong_code(engine: Engine, actor: Actor, what: str) -> None:
    """Count a wrong code against this client (see `check_code_rate`)."""
    _record_failure(engine, actor, None, what)


def _record_failure(engine: Engine, actor: Actor, account_key: str | None, what: str) -> None:
    now = time.time()
    log.warning("failed sign-in: %s client=%s account=%s", what, actor.client or "?", account_key or "-")
    with write_tx(engine, "record a failed sign-in") as conn:
        conn.execute(
            signin_failures.insert().values(scope="client", key=actor.client or "?", what=what, created_s=now)
        )
        if account_key is not None:
            conn.execute(
                signin_failures.insert().values(scope="account", key=account_key, what=what, created_s=now)
            )


def _is_conflict(exc: BaseException) -> bool:
    """A unique key was already taken (write_tx wraps the driver's IntegrityError in StoreError)."""
    return isinstance(exc, IntegrityError) or isinstance(exc.__cause__, IntegrityError)


def _open_class(conn: Connection, code: str | None) -> tuple[int, str] | None:
    if code is None:
        return None
    row = conn.execute(select(classes.c.id, classes.c.name).where(classes.c.join_code == code)).first()
    return (int(row.id), str(row.name)) if row else None


def _issue_token(conn: Connection, user_id: int, kind: str, days: float, now: float) -> str:
    token = new_token()
    conn.execute(
        auth_tokens.insert().values(
            token_hash=token_hash(token),
            user_id=user_id,
            kind=kind,
            created_s=now,
            expires_s=now + days * 86400,
        )
    )
    return token


# --- instructors ----------------------------------------------------------------------------------


def instructor_count(engine: Engine) -> int:
    with read_conn(engine) as conn:
        return int(
            conn.execute(select(func.count()).where(users.c.role == Role.INSTRUCTOR.value)).scalar_one()
        )


def create_instructor(
    engine: Engine,
    actor: Actor | None,
    login: str,
    display_name: str,
    password: str,
    *,
    first_run: bool = False,
    admin: bool = False,
) -> User:
    """A local instructor account (argon2id password).

    `first_run=True` (the localhost-only first-run screen) is accepted only while no instructor
    exists; `admin=True` is the server's command line, which may always create one; otherwise an
    instructor must be acting.

    Raises:
        AccessDenied: when neither holds.
        SignInError: for a login already taken or a password outside the rules.
    """
    if not admin and not (first_run and instructor_count(engine) == 0):
        require(engine, actor or Actor(), Action.CREATE_INSTRUCTOR)
    login_key = _clean_text(login, "sign-in name", 320).casefold()
    name = clean_display_name(display_name)
    pw_hash = hash_secret(check_password_rules(password))
    now = time.time()
    try:
        with write_tx(engine, "create an instructor") as conn:
            res = conn.execute(
                users.insert().values(
                    role=Role.INSTRUCTOR.value,
                    display_name=name,
                    login=login_key,
                    password_hash=pw_hash,
                    created_s=now,
                )
            )
            uid = int(res.inserted_primary_key[0])
    except (IntegrityError, StoreError) as exc:
        if not _is_conflict(exc):
            raise
        raise SignInError(f"sign-in name: '{login_key}' is already taken") from exc
    return User(uid, Role.INSTRUCTOR, name, None, login_key)


def sign_in_password(engine: Engine, actor: Actor, login: str, password: str) -> tuple[User, str]:
    """An instructor's local sign-in: the user and a browser token.

    Raises:
        RateLimited: after too many failures from this client or for this name.
        SignInError: for a wrong name or password (one message for both).
    """
    login_key = " ".join((login or "").split()).casefold()[:320]
    now = time.time()
    with read_conn(engine) as conn:
        _check_rate(conn, actor, f"login:{login_key}", now)
        row = conn.execute(
            select(users).where(and_(users.c.login == login_key, users.c.disabled.is_(False)))
        ).first()
    if not verify_secret(row.password_hash if row else None, password or ""):
        _record_failure(engine, actor, f"login:{login_key}", "password")
        raise SignInError(WRONG_PASSWORD)
    with write_tx(engine, "sign in") as conn:
        token = _issue_token(conn, int(row.id), "browser", BROWSER_TOKEN_DAYS, now)
        conn.execute(update(users).where(users.c.id == row.id).values(last_seen_s=now))
    return _user(row), token


def sign_in_oidc(engine: Engine, issuer: str, subject: str, name: str, *, instructor: bool) -> User:
    """The user for a single-sign-on identity (issuer + subject), created on first sign-in.

    `instructor` comes from the deployment's rule on the ID token's claims (settings); a person's
    role is fixed at first sign-in and only changed by an administrator.
    """
    key = f"{issuer} {subject}"[:400]
    now = time.time()
    display = clean_display_name(name or subject)
    with write_tx(engine, "single sign-on") as conn:
        row = conn.execute(select(users).where(users.c.oidc_subject == key)).first()
        if row is None:
            role = Role.INSTRUCTOR if instructor else Role.STUDENT
            record = None if instructor else _new_record(conn, display, now)
            conn.execute(
                users.insert().values(
                    role=role.value, display_name=display, oidc_subject=key, student_id=record, created_s=now
                )
            )
            row = conn.execute(select(users).where(users.c.oidc_subject == key)).one()
        conn.execute(update(users).where(users.c.id == row.id).values(last_seen_s=now))
    if row.disabled:
        raise SignInError("This account is disabled. Ask your instructor.")
    return _user(row)


# --- browser tokens -------------------------------------------------------------------------------


def browser_token(engine: Engine, user: User) -> str:
    """A new sign-in token for this browser (kept in a cookie; the database keeps its hash)."""
    with write_tx(engine, "sign in") as conn:
        return _issue_token(conn, user.id, "browser", BROWSER_TOKEN_DAYS, time.time())


def user_for_token(engine: Engine, token: str | None) -> User | None:
    """The user a browser token signs in, or None (unknown, expired, revoked or disabled)."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    now = time.time()
    q = (
        select(users)
        .select_from(users.join(auth_tokens, auth_tokens.c.user_id == users.c.id))
        .where(
            and_(
                auth_tokens.c.token_hash == token_hash(token),
                auth_tokens.c.kind == "browser",
                auth_tokens.c.revoked_s.is_(None),
                auth_tokens.c.expires_s > now,
                users.c.disabled.is_(False),
            )
        )
    )
    with read_conn(engine) as conn:
        row = conn.execute(q).first()
    return _user(row) if row else None


def sign_out(engine: Engine, token: str | None) -> None:
    """End this browser's sign-in (the token stops working at once, on every server)."""
    if token:
        with write_tx(engine, "sign out") as conn:
            conn.execute(
                update(auth_tokens)
                .where(auth_tokens.c.token_hash == token_hash(token))
                .values(revoked_s=time.time())
            )


# --- guests ---------------------------------------------------------------------------------------


def create_guest(engine: Engine) -> tuple[User, str]:
    """A guest for self-study: a private record tied to this browser by its token, and the token."""
    now = time.time()
    with write_tx(engine, "start a guest record") as conn:
        record = _new_record(conn, "Guest", now)
        res = conn.execute(
            users.insert().values(
                role=Role.GUEST.value, display_name="Guest", student_id=record, created_s=now
            )
        )
        uid = int(res.inserted_primary_key[0])
        token = _issue_token(conn, uid, "browser", BROWSER_TOKEN_DAYS, now)
    return User(uid, Role.GUEST, "Guest", record), token


def _move_record(conn: Connection, from_record: int, into_record: int) -> int:
    """Every answer and quiz of one progress record moved into another; returns answers moved."""
    n = conn.execute(
        update(attempts).where(attempts.c.student_id == from_record).values(student_id=into_record)
    ).rowcount
    conn.execute(
        update(quiz_sessions).where(quiz_sessions.c.student_id == from_record).values(student_id=into_record)
    )
    return int(n or 0)


def claim_guest(engine: Engine, guest: Actor, into: User) -> int:
    """Move a guest's answers and quizzes into the account they just signed in to; returns answers moved.

    Only the guest's own browser can do this (it holds the guest's token, i.e. `guest`), and only
    into the account that browser has just signed in to.
    """
    if guest.role is not Role.GUEST or guest.student_id is None or into.student_id is None:
        return 0
    with write_tx(engine, "keep a guest's answers") as conn:
        moved = _move_record(conn, guest.student_id, into.student_id)
        conn.execute(update(users).where(users.c.id == guest.user_id).values(disabled=True))
        conn.execute(
            update(auth_tokens).where(auth_tokens.c.user_id == guest.user_id).values(revoked_s=time.time())
        )
    return moved


# --- classes --------------------------------------------------------------------------------------


def _class_info(conn: Connection, class_id: int) -> ClassInfo:
    row = conn.execute(select(classes).where(classes.c.id == class_id)).one()
    n = conn.execute(select(func.count()).where(memberships.c.class_id == class_id)).scalar_one()
    return ClassInfo(int(row.id), str(row.name), str(row.term), int(row.instructor_id), row.join_code, int(n))


def create_class(engine: Engine, actor: Actor, name: str, term: str = "") -> ClassInfo:
    """A new class owned by the acting instructor, open to join with a fresh code."""
    require(engine, actor, Action.CREATE_CLASS)
    name = _clean_text(name, "class name", CLASS_NAME_MAX)
    term = " ".join(plain(term or "").split())[:TERM_MAX]
    for _ in range(8):  # a clash among 191 million codes is rare; try a few times
        try:
            with write_tx(engine, "create a class") as conn:
                res = conn.execute(
                    classes.insert().values(
                        name=name,
                        term=term,
                        instructor_id=actor.user_id,
                        join_code=new_join_code(),
                        created_s=time.time(),
                    )
                )
                return _class_info(conn, int(res.inserted_primary_key[0]))
        except (IntegrityError, StoreError) as exc:
            if not _is_conflict(exc):
                raise
    raise SignInError("could not pick a free join code; try again")


def instructor_classes(engine: Engine, actor: Actor) -> list[ClassInfo]:
    """The acting instructor's classes."""
    require(engine, actor, Action.CREATE_CLASS)
    with read_conn(engine) as conn:
        ids = conn.execute(
            select(classes.c.id).where(classes.c.instructor_id == actor.user_id).order_by(classes.c.id)
        ).scalars()
        return [_class_info(conn, int(i)) for i in list(ids)]


def member_classes(engine: Engine, actor: Actor) -> list[ClassInfo]:
    """The classes the acting user belongs to."""
    if actor.user is None:
        return []
    with read_conn(engine) as conn:
        ids = conn.execute(
            select(memberships.c.class_id)
            .where(memberships.c.user_id == actor.user_id)
            .order_by(memberships.c.class_id)
        ).scalars()
        return [_class_info(conn, int(i)) for i in list(ids)]


def rotate_join_code(engine: Engine, actor: Actor, class_id: int) -> ClassInfo:
    """A new join code for the class (the old one stops working); also reopens a closed class."""
    require(engine, actor, Action.MANAGE_CLASS, class_id)
    for _ in range(8):
        try:
            with write_tx(engine, "rotate the join code") as conn:
                conn.execute(
                    update(classes).where(classes.c.id == class_id).values(join_code=new_join_code())
                )
                return _class_info(conn, class_id)
        except (IntegrityError, StoreError) as exc:
            if not _is_conflict(exc):
                raise
    raise SignInError("could not pick a free join code; try again")


def close_joining(engine: Engine, actor: Actor, class_id: int) -> ClassInfo:
    """Nobody new can join with a code; members keep their sign-in."""
    require(engine, actor, Action.MANAGE_CLASS, class_id)
    with write_tx(engine, "close joining") as conn:
        conn.execute(update(classes).where(classes.c.id == class_id).values(join_code=None))
        return _class_info(conn, class_id)


def join_class(
    engine: Engine, actor: Actor, code: str, display_name: str, pin: str
) -> tuple[User, str | None]:
    """Join a class by its code under a display name, choosing a PIN for later sign-ins.

    An anonymous visitor becomes a student; a guest becomes a student and keeps their answers; a
    student already signed in is added to one more class. Returns the user and, when a new browser
    sign-in was made, its token (None when the actor was already signed in).

    Raises:
        RateLimited: after too many wrong codes from this client.
        SignInError: for a code that is not open, or a name already used in that class.
        QuizInputError: for a name or PIN outside the rules.
    """
    require(engine, actor, Action.JOIN_CLASS)
    name = clean_display_name(display_name)
    pin = check_pin_rules(pin)
    now = time.time()
    norm = normalise_join_code(code)
    with read_conn(engine) as conn:
        _check_rate(conn, actor, None, now)
        found = _open_class(conn, norm)
    if found is None:
        _record_failure(engine, actor, None, "join code")
        raise SignInError(WRONG_JOIN)
    class_id, _ = found
    pin_hash = hash_secret(pin)
    taken = SignInError(
        f"Someone in this class already uses the name '{name}'. Pick another (add an initial), "
        "or sign in with your PIN if it is you."
    )
    try:
        with write_tx(engine, "join a class") as conn:
            holder = conn.execute(
                select(memberships.c.user_id).where(
                    and_(memberships.c.class_id == class_id, memberships.c.name_key == name_key(name))
                )
            ).first()
            if holder is not None and holder.user_id != actor.user_id:
                raise taken
            token = None
            if actor.user is not None and actor.role is Role.STUDENT:
                uid = actor.user_id
                conn.execute(
                    update(users).where(users.c.id == uid).values(pin_hash=pin_hash, last_seen_s=now)
                )
            elif actor.user is not None and actor.role is Role.GUEST:
                uid = actor.user_id  # the guest's record becomes the student's: nothing is lost
                conn.execute(
                    update(users)
                    .where(users.c.id == uid)
                    .values(role=Role.STUDENT.value, display_name=name, pin_hash=pin_hash, last_seen_s=now)
                )
                conn.execute(
                    update(students).where(students.c.id == actor.student_id).values(display_name=name)
                )
            else:
                record = _new_record(conn, name, now)
                res = conn.execute(
                    users.insert().values(
                        role=Role.STUDENT.value,
                        display_name=name,
                        pin_hash=pin_hash,
                        student_id=record,
                        created_s=now,
                        last_seen_s=now,
                    )
                )
                uid = int(res.inserted_primary_key[0])
                token = _issue_token(conn, uid, "browser", BROWSER_TOKEN_DAYS, now)
            already = conn.execute(
                select(memberships.c.user_id).where(
                    and_(memberships.c.class_id == class_id, memberships.c.user_id == uid)
                )
            ).first()
            if already is None:
                conn.execute(
                    memberships.insert().values(
                        class_id=class_id, user_id=uid, name_key=name_key(name), joined_s=now
                    )
                )
            row = conn.execute(select(users).where(users.c.id == uid)).one()
    except (IntegrityError, StoreError) as exc:  # two joins with one name at the same moment
        if not _is_conflict(exc):
            raise
        raise taken from exc
    return _user(row), token


def sign_in_pin(engine: Engine, actor: Actor, code: str, display_name: str, pin: str) -> tuple[User, str]:
    """A student's sign-in on a new browser: class code, their name in that class, their PIN.

    Raises:
        RateLimited: after too many failures from this client or for this name.
        SignInError: one message for a wrong code, name or PIN.
    """
    norm = normalise_join_code(code) or ""
    try:
        key = name_key(clean_display_name(display_name))
    except QuizInputError:
        key = ""
    account_key = f"pin:{norm}:{key}"
    now = time.time()
    with read_conn(engine) as conn:
        _check_rate(conn, actor, account_key, now)
        row = (
            conn.execute(
                select(users)
                .select_from(users.join(memberships, memberships.c.user_id == users.c.id))
                .join(classes, classes.c.id == memberships.c.class_id)
                .where(
                    and_(
                        classes.c.join_code == norm,
                        memberships.c.name_key == key,
                        users.c.disabled.is_(False),
                    )
                )
            ).first()
            if norm and key
            else None
        )
    if not verify_secret(row.pin_hash if row else None, pin or ""):
        _record_failure(engine, actor, account_key, "pin")
        raise SignInError(WRONG_SIGNIN)
    with write_tx(engine, "sign in") as conn:
        token = _issue_token(conn, int(row.id), "browser", BROWSER_TOKEN_DAYS, now)
        conn.execute(update(users).where(users.c.id == row.id).values(last_seen_s=now))
    return _user(row), token


def issue_personal_link(engine: Engine, actor: Actor, class_id: int, user_id: int) -> str:
    """A one-use sign-in token for a student of the class (for a link the instructor hands out).

    Earlier links and the student's signed-in browsers stop working: reissuing is also how an
    instructor locks out someone who learnt a student's PIN.
    """
    require(engine, actor, Action.MANAGE_CLASS, class_id)
    now = time.time()
    with write_tx(engine, "reissue a sign-in") as conn:
        member = conn.execute(
            select(memberships.c.user_id).where(
                and_(memberships.c.class_id == class_id, memberships.c.user_id == user_id)
            )
        ).first()
        if member is None:
            raise AccessDenied("This student is not in your class.")
        conn.execute(
            update(auth_tokens)
            .where(and_(auth_tokens.c.user_id == user_id, auth_tokens.c.revoked_s.is_(None)))
            .values(revoked_s=now)
        )
        return _issue_token(conn, user_id, "link", LINK_TOKEN_DAYS, now)


def redeem_personal_link(engine: Engine, actor: Actor, link_token: str) -> tuple[User, str]:
    """Exchange a personal link's token for a browser sign-in; the link works once.

    Raises:
        RateLimited: after too many bad links from this client.
        SignInError: for an unknown, used or expired link.
    """
    now = time.time()
    with read_conn(engine) as conn:
        _check_rate(conn, actor, None, now)
    with write_tx(engine, "sign in by link") as conn:
        row = conn.execute(
            select(auth_tokens.c.user_id).where(
                and_(
                    auth_tokens.c.token_hash == token_hash(link_token or ""),
                    auth_tokens.c.kind == "link",
                    auth_tokens.c.revoked_s.is_(None),
                    auth_tokens.c.expires_s > now,
                )
            )
        ).first()
        if row is not None:
            conn.execute(
                update(auth_tokens)
                .where(auth_tokens.c.token_hash == token_hash(link_token))
                .values(revoked_s=now)
            )
            token = _issue_token(conn, int(row.user_id), "browser", BROWSER_TOKEN_DAYS, now)
            user = _user(conn.execute(select(users).where(users.c.id == row.user_id)).one())
    if row is None:
        _record_failure(engine, actor, None, "link")
        raise SignInError(
            "This sign-in link is not valid (used, expired or mistyped). Ask your instructor for a new one."
        )
    return user, token


# --- roster ---------------------------------------------------------------------------------------


def roster(engine: Engine, actor: Actor, class_id: int) -> list[RosterEntry]:
    """The class's students with their last activity and number of answers (instructor only)."""
    require(engine, actor, Action.MANAGE_CLASS, class_id)
    last = (
        select(attempts.c.student_id, func.max(attempts.c.created_s).label("last"), func.count().label("n"))
        .group_by(attempts.c.student_id)
        .subquery()
    )
    q = (
        select(
            users.c.id,
            users.c.student_id,
            users.c.display_name,
            memberships.c.joined_s,
            last.c.last,
            last.c.n,
        )
        .select_from(memberships.join(users, users.c.id == memberships.c.user_id))
        .outerjoin(last, last.c.student_id == users.c.student_id)
        .where(memberships.c.class_id == class_id)
        .order_by(func.lower(users.c.display_name))
    )
    with read_conn(engine) as conn:
        return [
            RosterEntry(
                int(r.id), r.student_id, str(r.display_name), float(r.joined_s), r.last, int(r.n or 0)
            )
            for r in conn.execute(q)
        ]


def remove_student(engine: Engine, actor: Actor, class_id: int, user_id: int) -> None:
    """Take a student off the roster (their record stays theirs; they can rejoin with a code)."""
    require(engine, actor, Action.MANAGE_CLASS, class_id)
    with write_tx(engine, "remove a student") as conn:
        conn.execute(
            delete(memberships).where(
                and_(memberships.c.class_id == class_id, memberships.c.user_id == user_id)
            )
        )


def import_roster(engine: Engine, actor: Actor, class_id: int, csv_text: str) -> dict[str, str]:
    """Add students by name from a CSV (a `name` or `display_name` column, or one name per line).

    Each new student gets a one-use personal link token (returned by name) to sign in and choose a
    PIN; names already on the roster are skipped.

    Raises:
        QuizInputError: for a CSV without names, over ROSTER_CSV_MAX_ROWS rows, or a bad name.
    """
    require(engine, actor, Action.MANAGE_CLASS, class_id)
    rows = list(csv.reader(io.StringIO(csv_text or "")))
    if not rows:
        raise QuizInputError("roster CSV: expected a column 'name' or one name per line, got an empty file")
    header = [h.strip().casefold() for h in rows[0]]
    col = next(
        (header.index(h) for h in ("name", "display_name", "display name", "student") if h in header), None
    )
    body = rows[1:] if col is not None else rows
    col = col or 0
    if len(body) > ROSTER_CSV_MAX_ROWS:
        raise QuizInputError(f"roster CSV: expected at most {ROSTER_CSV_MAX_ROWS} students, got {len(body)}")
    names: list[str] = []
    for i, r in enumerate(body, start=2 if rows[0] is not body[0] else 1):
        if len(r) > col and r[col].strip():
            try:
                names.append(clean_display_name(r[col]))
            except QuizInputError as exc:
                raise QuizInputError(f"roster CSV line {i}: {exc}") from exc
    links: dict[str, str] = {}
    now = time.time()
    with write_tx(engine, "import a roster") as conn:
        taken = set(
            conn.execute(select(memberships.c.name_key).where(memberships.c.class_id == class_id)).scalars()
        )
        for name in names:
            if name_key(name) in taken:
                continue
            taken.add(name_key(name))
            record = _new_record(conn, name, now)
            res = conn.execute(
                users.insert().values(
                    role=Role.STUDENT.value, display_name=name, student_id=record, created_s=now
                )
            )
            uid = int(res.inserted_primary_key[0])
            conn.execute(
                memberships.insert().values(
                    class_id=class_id, user_id=uid, name_key=name_key(name), joined_s=now
                )
            )
            links[name] = _issue_token(conn, uid, "link", LINK_TOKEN_DAYS, now)
    return links


# --- records from before accounts -----------------------------------------------------------------


def unclaimed_records(engine: Engine, actor: Actor) -> list[tuple[int, str, int]]:
    """Progress records made by typing a display name (before accounts): (record id, name, answers)."""
    require(engine, actor, Action.MERGE_RECORDS)
    owned = select(users.c.student_id).where(users.c.student_id.is_not(None))
    n = select(func.count()).where(attempts.c.student_id == students.c.id).scalar_subquery()
    q = (
        select(students.c.id, students.c.display_name, n.label("n"))
        .where(and_(students.c.id.not_in(owned), ~students.c.name_key.startswith("\x1f")))
        .order_by(students.c.display_name)
    )
    with read_conn(engine) as conn:
        return [(int(r.id), str(r.display_name), int(r.n)) for r in conn.execute(q)]


def merge_record(
    engine: Engine, actor: Actor, record_id: int, into_user_id: int, class_ids: Sequence[int] = ()
) -> int:
    """Move an unclaimed record's answers into a student account of one of the instructor's classes.

    Returns the number of answers moved.

    Raises:
        AccessDenied: when the target is not a student of one of the acting instructor's classes, or
            the record already belongs to an account.
    """
    require(engine, actor, Action.MERGE_RECORDS)
    with read_conn(engine) as conn:
        target = conn.execute(select(users).where(users.c.id == into_user_id)).first()
        owned = conn.execute(select(users.c.id).where(users.c.student_id == record_id)).first()
    if target is None or target.student_id is None:
        raise AccessDenied("Records can only be merged into a student's account.")
    require(engine, actor, Action.READ_PROGRESS, target.student_id)
    if owned is not None:
        raise AccessDenied("This record already belongs to an account.")
    with write_tx(engine, "merge a record") as conn:
        return _move_record(conn, record_id, int(target.student_id))


# --- progress records -----------------------------------------------------------------------------


def record_attempts(engine: Engine, actor: Actor, student_id: int) -> list:
    """Every stored answer of a progress record, for its student or their instructor.

    Raises:
        AccessDenied: for anyone else (a typed name, another student's id, another class's teacher).
    """
    from nnus_core.store.attempts import student_attempts

    require(engine, actor, Action.READ_PROGRESS, student_id)
    return student_attempts(engine, student_id)


def taught_students(engine: Engine, actor: Actor) -> list[RosterEntry]:
    """The students of all the acting instructor's classes (each once), for My progress."""
    seen: dict[int, RosterEntry] = {}
    for klass in instructor_classes(engine, actor):
        for entry in roster(engine, actor, klass.id):
            if entry.student_id is not None:
                seen.setdefault(entry.user_id, entry)
    return sorted(seen.values(), key=lambda e: e.display_name.casefold())
