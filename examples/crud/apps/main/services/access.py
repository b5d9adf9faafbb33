"""Who may do what: every rule of the app in one place (README, "Who may do what").

The services call these before they act, so a page and its JSON twin can never disagree;
controllers and templates ask the ``may_*`` questions only to offer what is allowed.

- Administrators manage every user: create, edit (type and level too), delete.
- A member sees the list and the profiles, and edits only their own name, e-mail, password,
  avatar and language — never a type, a level or a wallet.
- Nobody changes their own type or deletes their own account: another administrator does, so
  the app always keeps one. Registration is public and always makes a member.
- Wallets are seen by their owner and administrators only.
- Boards are shared by everyone signed in; only a board's owner deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import Forbidden


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks: a signed-in user, or the app itself (``SYSTEM``: a script, a job)."""

    id: int | None
    is_admin: bool

    @property
    def is_system(self) -> bool:
        return self.id is None


SYSTEM = Actor(id=None, is_admin=True)


def may_create_users(actor: Actor) -> bool:
    return actor.is_admin


def may_edit_user(actor: Actor, user_id: int) -> bool:
    return actor.is_admin or actor.id == user_id


def may_change_role(actor: Actor, user_id: int) -> bool:
    """The level: administrators. The type: administrators, of others only."""
    return actor.is_admin


def may_change_type(actor: Actor, user_id: int) -> bool:
    return actor.is_admin and actor.id != user_id


def may_delete_user(actor: Actor, user_id: int) -> bool:
    return actor.is_admin and actor.id != user_id


def may_see_wallet(actor: Actor, user_id: int) -> bool:
    return actor.is_admin or actor.id == user_id


def may_delete_board(actor: Actor, board: dict[str, Any]) -> bool:
    return actor.is_system or actor.id == board["owner_id"]


def check_create_users(actor: Actor) -> None:
    if not may_create_users(actor):
        raise Forbidden(
            "users.create_forbidden",
            "only administrators create users; anyone may register an account of their own",
        )


def check_edit_user(actor: Actor, user_id: int) -> None:
    if not may_edit_user(actor, user_id):
        raise Forbidden(
            "users.edit_forbidden", "you may edit only your own profile", {"id": user_id}
        )


def check_role_change(actor: Actor, user_id: int, fields: set[str]) -> None:
    """``fields``: which of type_id and level_id the change would alter."""
    if not may_change_role(actor, user_id):
        raise Forbidden(
            "users.role_forbidden",
            "only administrators change a user's type or level",
            {"id": user_id, "fields": sorted(fields)},
        )
    if "type_id" in fields and not may_change_type(actor, user_id):
        raise Forbidden(
            "users.own_type",
            "administrators cannot change their own type: ask another administrator",
            {"id": user_id},
        )


def check_delete_user(actor: Actor, user_id: int) -> None:
    if not actor.is_admin:
        raise Forbidden("users.delete_forbidden", "only administrators delete users")
    if not may_delete_user(actor, user_id):
        raise Forbidden(
            "users.delete_self",
            "administrators cannot delete their own account: ask another administrator",
            {"id": user_id},
        )


def check_delete_board(actor: Actor, board: dict[str, Any]) -> None:
    if not may_delete_board(actor, board):
        raise Forbidden(
            "boards.not_owner", "only the board's owner may delete it", {"id": board["id"]}
        )
