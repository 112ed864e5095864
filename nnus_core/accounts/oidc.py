"""Single sign-on: which ID-token claims make someone an instructor (the deployment's rule)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class SsoRule:
    """Instructors are those whose `groups`/`roles` claim holds one of `groups`, or whose e-mail is listed.

    Everyone else who signs in through the school's provider is a student.
    """

    groups: frozenset[str] = frozenset({"instructors", "faculty", "teachers"})
    emails: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, groups: str | None, emails: str | None) -> SsoRule:
        """From comma-separated settings; None keeps the default groups."""
        g = (
            frozenset(x.strip().casefold() for x in groups.split(",") if x.strip())
            if groups is not None
            else cls.groups
        )
        e = frozenset(x.strip().casefold() for x in (emails or "").split(",") if x.strip())
        return cls(g, e)

    def is_instructor(self, claims: Mapping[str, object]) -> bool:
        email = str(claims.get("email") or "").casefold()
        if email and email in self.emails and claims.get("email_verified", True) is not False:
            return True
        found: set[str] = set()
        for key in ("groups", "roles"):
            value = claims.get(key)
            if isinstance(value, str):
                found.add(value.casefold())
            elif isinstance(value, (list, tuple)):
                found.update(str(v).casefold() for v in value)
        return bool(found & self.groups)


def identity(claims: Mapping[str, object]) -> tuple[str, str, str]:
    """(issuer, subject, display name) from an ID token's claims."""
    issuer = str(claims.get("iss") or "sso")
    subject = str(claims.get("sub") or claims.get("email") or "")
    name = str(claims.get("name") or claims.get("preferred_username") or claims.get("email") or subject)
    return issuer, subject, name[:40]
