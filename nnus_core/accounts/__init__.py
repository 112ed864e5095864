"""Accounts: users and roles, classes with join codes, sign-in, and the one policy table of who may do what."""

from __future__ import annotations

from nnus_core.accounts.model import Actor, ClassInfo, Role, User
from nnus_core.accounts.policy import Action, allowed, require

__all__ = ["Action", "Actor", "ClassInfo", "Role", "User", "allowed", "require"]
