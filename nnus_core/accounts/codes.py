"""Join codes and secret tokens: short codes read aloud in class, long tokens for links and cookies."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata

# 6 characters from an alphabet without look-alikes (no 0/O, 1/I/L, 5/S, 2/Z, 8/B): read from a
# projector and typed on a phone without doubt. 24^6 ≈ 191 million codes; guessing is rate-limited.
JOIN_ALPHABET = "ACDEFGHJKMNPQRTUVWXY3479"
JOIN_CODE_LEN = 6
TOKEN_BYTES = 32


def new_join_code() -> str:
    """A fresh random join code, e.g. 'K7QX3N'."""
    return "".join(secrets.choice(JOIN_ALPHABET) for _ in range(JOIN_CODE_LEN))


def normalise_join_code(raw: str) -> str | None:
    """A typed code in canonical form ('k7q x3n' -> 'K7QX3N'), or None when it cannot be one."""
    text = unicodedata.normalize("NFKC", raw or "").upper()
    text = "".join(ch for ch in text if not ch.isspace() and ch != "-")
    if len(text) != JOIN_CODE_LEN or any(ch not in JOIN_ALPHABET for ch in text):
        return None
    return text


def new_token() -> str:
    """A secret for a sign-in cookie or a personal link (256 bits, URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256, so a leaked table signs nobody in."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
