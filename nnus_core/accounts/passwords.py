"""Password and PIN hashing with argon2id (argon2-cffi's recommended parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from nnus_core.errors import SignInError

PASSWORD_MIN = 10
PASSWORD_MAX = 256
PIN_MIN = 4
PIN_MAX = 12

# argon2-cffi's default: RFC 9106's low-memory profile (argon2id, t=3, 64 MiB, p=4), ~0.1 s a hash.
PRODUCTION_HASHER = PasswordHasher()
_HASHER = PRODUCTION_HASHER
# Verifying against this when no account matches takes as long as a real check, so the time a
# failed sign-in takes does not tell whether the account exists.
_DUMMY = _HASHER.hash("not a real password, only for timing")


def check_password_rules(password: str) -> str:
    """The password if it is acceptable.

    Raises:
        SignInError: for one shorter than PASSWORD_MIN or longer than PASSWORD_MAX characters.
    """
    if not PASSWORD_MIN <= len(password or "") <= PASSWORD_MAX:
        raise SignInError(
            f"password: expected {PASSWORD_MIN} to {PASSWORD_MAX} characters, got {len(password or '')}"
        )
    return password


def check_pin_rules(pin: str) -> str:
    """The PIN if it is acceptable: 4 to 12 digits.

    Raises:
        SignInError: otherwise (the message says what is expected, never what was typed).
    """
    pin = (pin or "").strip()
    if not (PIN_MIN <= len(pin) <= PIN_MAX and pin.isascii() and pin.isdigit()):
        raise SignInError(f"PIN: expected {PIN_MIN} to {PIN_MAX} digits")
    return pin


def hash_secret(secret: str) -> str:
    """An argon2id hash of a password or PIN."""
    return _HASHER.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """True when `secret` matches `stored_hash`; False otherwise (also for no hash: same time)."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY, secret) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
