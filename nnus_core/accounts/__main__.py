"""Command line for accounts: `python -m nnus_core.accounts create-instructor` (the first or any instructor)."""

from __future__ import annotations

import argparse
import getpass
import sys

from nnus_core.accounts import service as acc
from nnus_core.errors import NnusError
from nnus_core.store.db import get_engine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnus_core.accounts", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("create-instructor", help="create a local instructor account (argon2id password)")
    make.add_argument("--login", required=True, help="sign-in name, e.g. an e-mail address")
    make.add_argument("--name", required=True, help="display name shown to students")
    make.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (for scripts); otherwise it is asked twice",
    )
    args = parser.parse_args(argv)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password (at least 10 characters): ")
        if password != getpass.getpass("Repeat the password: "):
            print("error: the two passwords differ", file=sys.stderr)
            return 2
    engine = get_engine()
    try:
        # The command line is the server's administrator: it may always create an instructor.
        user = acc.create_instructor(
            engine, None, args.login, args.name, password, first_run=True, admin=True
        )
    except NnusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"created instructor {user.login} (id {user.id})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
