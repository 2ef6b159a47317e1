"""Users and their roles: piccolo's `BaseUser` (the admin's users) plus an MPR role per user.

Roles, weakest first: `viewer` (read, play), `editor` (upload, edit, jobs), `admin` (users,
presets, tokens, settings). A user without a `UserRole` row is an `admin` when piccolo's `admin`
flag is set, else a `viewer`. Setting a role keeps that flag in step, so /admin (which lets in
only admin, active users) agrees with the role. Deactivated users (`active` false) are refused
everywhere: `check_password`, `user_by_id` and every session/token lookup answer None for them.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from piccolo.apps.user.tables import BaseUser

from backend.catalog import credential_cache
from backend.catalog.tables import UserRole

ROLES = ("viewer", "editor", "admin")
ROLE_RANK = {name: rank for rank, name in enumerate(ROLES)}
MIN_PASSWORD = 8
NO_EMAIL = "@mpr.invalid"  # piccolo's email column is unique and required: "<name>@mpr.invalid" stands for none


@dataclass(frozen=True)
class User:
    id: int
    username: str
    email: str
    role: str
    active: bool
    last_login: object = None


class AccountError(Exception):
    """A refusal about users, sessions or tokens; the API shows `message` with `code` (and `field`)."""

    def __init__(self, code: str, message: str, field: str = ""):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


def _invalid(field: str, message: str) -> AccountError:
    return AccountError("INVALID_INPUT", message, field)


def has_control_chars(value: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in value or "")


def clean_text(value: str | None, field: str, limit: int) -> str:
    """`value` stripped; refused when too long or holding control characters (NUL breaks PostgreSQL)."""
    value = (value or "").strip()
    if len(value) > limit:
        raise _invalid(field, f"{field} is longer than {limit} characters")
    if has_control_chars(value):
        raise _invalid(field, f"{field} must not contain control characters")
    return value


def check_role(role: str) -> str:
    role = (role or "").strip().lower()
    if role not in ROLE_RANK:
        raise _invalid("role", f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return role


async def _roles(user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = await UserRole.select(UserRole.user_id, UserRole.role).where(UserRole.user_id.is_in(user_ids))
    return {r["user_id"]: r["role"] for r in rows}


def _user(row: dict, roles: dict[int, str]) -> User:
    role = roles.get(row["id"]) or ("admin" if row["admin"] else "viewer")
    if role not in ROLE_RANK:  # a row edited by hand in /admin: the weakest role, never an error
        role = "viewer"
    email = row["email"] or ""
    return User(id=row["id"], username=row["username"], email="" if email.endswith(NO_EMAIL) else email, role=role,
                active=bool(row["active"]), last_login=row.get("last_login"))


_COLUMNS = (BaseUser.id, BaseUser.username, BaseUser.email, BaseUser.admin, BaseUser.active, BaseUser.last_login)


async def user_by_id(user_id: int, *, include_inactive: bool = False) -> User | None:
    row = await BaseUser.select(*_COLUMNS).where(BaseUser.id == user_id).first()
    if row is None or (not row["active"] and not include_inactive):
        return None
    return _user(row, await _roles([row["id"]]))


async def user_by_name(username: str) -> User | None:
    row = await BaseUser.select(*_COLUMNS).where(BaseUser.username == username).first()
    return _user(row, await _roles([row["id"]])) if row else None


async def list_users() -> list[User]:
    rows = await BaseUser.select(*_COLUMNS).order_by(BaseUser.username)
    roles = await _roles([r["id"] for r in rows])
    return [_user(r, roles) for r in rows]


async def check_password(username: str, password: str) -> User | None:
    """The active user with this name and password, else None (same answer for every refusal)."""
    if has_control_chars(username) or "\x00" in (password or ""):
        return None
    user_id = await BaseUser.login(username, password)
    if user_id is None:
        return None
    return await user_by_id(user_id)


async def set_role(user_id: int, role: str) -> None:
    role = check_role(role)
    credential_cache.forget_all()  # a cached token or session must not keep the old role
    if await UserRole.exists().where(UserRole.user_id == user_id):
        await UserRole.update({UserRole.role: role}).where(UserRole.user_id == user_id)
    else:
        await UserRole.insert(UserRole(user_id=user_id, role=role))
    await BaseUser.update({BaseUser.admin: role == "admin"}).where(BaseUser.id == user_id)


def _check_password_text(password: str | None) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise _invalid("password", f"a password has at least {MIN_PASSWORD} characters")
    if len(password) > 200 or "\x00" in password:
        raise _invalid("password", "a password is at most 200 characters, without NUL")


async def create_user(username: str, password: str, role: str, email: str = "") -> User:
    username = clean_text(username, "username", 100)
    email = clean_text(email, "email", 200)
    role = check_role(role)
    if not username:
        raise _invalid("username", "a user name is 1 to 100 characters")
    _check_password_text(password)
    if await BaseUser.exists().where(BaseUser.username == username):
        raise _invalid("username", f"a user named {username!r} exists")
    user = await BaseUser.create_user(username=username, password=password, email=email or username + NO_EMAIL,
                                      active=True, admin=role == "admin", superuser=False)
    await set_role(user.id, role)
    return await user_by_id(user.id)


async def update_user(user_id: int, *, role: str | None = None, active: bool | None = None,
                      password: str | None = None, email: str | None = None) -> User:
    if await user_by_id(user_id, include_inactive=True) is None:
        raise AccountError("NOT_FOUND", f"user {user_id} does not exist")
    if role is not None:
        await set_role(user_id, role)
    if email is not None:
        email = clean_text(email, "email", 200)
    values = {}
    if active is not None:
        values[BaseUser.active] = bool(active)
    if email is not None:
        values[BaseUser.email] = email or f"{(await user_by_id(user_id, include_inactive=True)).username}{NO_EMAIL}"
    if values:
        await BaseUser.update(values).where(BaseUser.id == user_id)
    if password is not None:
        _check_password_text(password)
        await BaseUser.update_password(user_id, password)
    credential_cache.forget_all()  # deactivated: no cached token or session of theirs may pass
    return await user_by_id(user_id, include_inactive=True)
