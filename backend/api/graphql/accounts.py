"""Users, personal API tokens and the audit log in GraphQL: `me`, `users`, `apiTokens`, `auditLog`;
`createUser`, `updateUser`, `createApiToken`, `revokeApiToken`.

Who may call each is in `permissions.PERMISSIONS`; the rules about one's OWN tokens (anyone may
list and revoke their own; only an admin sees or revokes another's) are here.
"""
from __future__ import annotations

import datetime as dt

import strawberry

from backend.api.graphql import live_sockets
from backend.api.graphql.context import api
from backend.api.graphql.ids import parse_id
from backend.catalog import accounts, api_tokens, audit, sessions
from backend.catalog.accounts import AccountError
from backend.jobs.errors import DomainError


@strawberry.type(description="A person who can sign in; `role` is viewer, editor or admin.")
class User:
    id: strawberry.ID
    username: str
    email: str
    role: str
    active: bool
    last_login: dt.datetime | None

    @classmethod
    def of(cls, user: accounts.User) -> "User":
        return cls(id=strawberry.ID(str(user.id)), username=user.username, email=user.email, role=user.role,
                   active=user.active, last_login=user.last_login)


@strawberry.type(description="Who is calling: a signed-in user, a personal token, or the master token.")
class Me:
    kind: str = strawberry.field(description="session, token or master")
    role: str
    scope: str | None = strawberry.field(description="A token's scope (read, write, admin); null for a session.")
    user: User | None


@strawberry.type(description="A personal API token (its secret is shown once, by createApiToken).")
class ApiToken:
    id: strawberry.ID
    user_id: strawberry.ID
    name: str
    prefix: str
    scope: str
    created_at: dt.datetime | None
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @classmethod
    def of(cls, info: api_tokens.TokenInfo) -> "ApiToken":
        return cls(id=strawberry.ID(str(info.id)), user_id=strawberry.ID(str(info.user_id)), name=info.name,
                   prefix=info.prefix, scope=info.scope, created_at=info.created_at, expires_at=info.expires_at,
                   last_used_at=info.last_used_at, revoked_at=info.revoked_at)


@strawberry.type
class CreatedApiToken:
    token: str = strawberry.field(description="The token itself: store it now, it is not shown again.")
    api_token: ApiToken


@strawberry.type(description="One audited action.")
class AuditEvent:
    id: strawberry.ID
    at: dt.datetime
    actor: str
    user_id: strawberry.ID | None
    token_id: strawberry.ID | None
    action: str
    object_type: str
    object_id: str
    ok: bool
    detail: str
    client: str

    @classmethod
    def of(cls, row: dict) -> "AuditEvent":
        opt = lambda v: strawberry.ID(str(v)) if v is not None else None  # noqa: E731
        return cls(id=strawberry.ID(str(row["id"])), at=row["at"], actor=row["actor"], user_id=opt(row["user_id"]),
                   token_id=opt(row["token_id"]), action=row["action"], object_type=row["object_type"],
                   object_id=row["object_id"], ok=row["ok"], detail=row["detail"], client=row["client"])


@strawberry.input
class CreateUserInput:
    username: str
    password: str
    role: str = "viewer"
    email: str = ""


@strawberry.input(description="What to change on a user; omitted fields stay as they are.")
class UpdateUserInput:
    role: str | None = None
    active: bool | None = None
    password: str | None = None
    email: str | None = None


@strawberry.input
class CreateApiTokenInput:
    name: str = ""
    scope: str = "read"
    expires_at: dt.datetime | None = None


def _identity(info):
    return api(info).identity


@strawberry.type
class AccountQueries:
    @strawberry.field
    def me(self, info: strawberry.Info) -> Me:
        who = _identity(info)
        return Me(kind=who.kind, role=who.role, scope=who.scope, user=User.of(who.user) if who.user else None)

    @strawberry.field(description="Every user (admin).")
    async def users(self, info: strawberry.Info) -> list[User]:
        return [User.of(u) for u in await accounts.list_users()]

    @strawberry.field(description="Your tokens; an admin may ask for another user's (userId) or everyone's (all).")
    async def api_tokens(self, info: strawberry.Info, user_id: strawberry.ID | None = None,
                         all: bool = False) -> list[ApiToken]:
        who = _identity(info)
        wanted = parse_id(user_id, "userId") if user_id is not None else who.user_id
        if (all or wanted != who.user_id) and who.role != "admin":
            raise DomainError("FORBIDDEN", "only an admin may list another user's tokens")
        if who.scope is not None and (all or wanted != who.user_id) and who.scope != "admin":
            raise DomainError("FORBIDDEN", "listing another user's tokens needs a token of scope admin")
        if wanted is None and not all:
            return []
        return [ApiToken.of(t) for t in await api_tokens.list_tokens(None if all else wanted)]

    @strawberry.field(description="Audited actions, newest first (admin).")
    async def audit_log(self, info: strawberry.Info, first: int = 100, action: str | None = None,
                        user_id: strawberry.ID | None = None) -> list[AuditEvent]:
        uid = parse_id(user_id, "userId") if user_id is not None else None
        return [AuditEvent.of(r) for r in await audit.events(first, action, uid)]


@strawberry.type
class AccountMutations:
    @strawberry.mutation(description="Create a user with a role (admin).")
    async def create_user(self, info: strawberry.Info, input: CreateUserInput) -> User:
        return User.of(await accounts.create_user(input.username, input.password, input.role, input.email))

    @strawberry.mutation(description="Change a user's role, password, email or active flag (admin); "
                                     "deactivating ends the user's sessions and subscriptions.")
    async def update_user(self, info: strawberry.Info, id: strawberry.ID, input: UpdateUserInput) -> User:
        user_id = parse_id(id, "user id")
        who = _identity(info)
        if who.user_id == user_id and (input.active is False or (input.role not in (None, "admin"))):
            raise AccountError("FORBIDDEN", "you cannot deactivate or demote yourself; ask another admin")
        user = await accounts.update_user(user_id, role=input.role, active=input.active, password=input.password,
                                          email=input.email)
        if input.active is False or input.password is not None:
            await sessions.revoke_user_sessions(user_id)
        live_sockets.revoked("user", user_id)  # open sockets re-check (role or active changed)
        return User.of(user)

    @strawberry.mutation(description="Create a personal API token for yourself; the token is shown once.")
    async def create_api_token(self, info: strawberry.Info, input: CreateApiTokenInput) -> CreatedApiToken:
        who = _identity(info)
        if who.user is None:
            raise DomainError("FORBIDDEN", "the master token has no user: sign in, or use `mpr token create`")
        token, record = await api_tokens.create_token(who.user, input.name, input.scope, input.expires_at)
        return CreatedApiToken(token=token, api_token=ApiToken.of(record))

    @strawberry.mutation(description="Revoke a token (yours; an admin may revoke anyone's); its open "
                                     "subscriptions are closed.")
    async def revoke_api_token(self, info: strawberry.Info, id: strawberry.ID) -> ApiToken:
        token_id = parse_id(id, "token id")
        who = _identity(info)
        record = await api_tokens.token_info(token_id)
        if record is None:
            raise AccountError("NOT_FOUND", f"api token {token_id} does not exist")
        if record.user_id != who.user_id and not who.allows("admin", "admin"):
            raise DomainError("FORBIDDEN", "only an admin may revoke another user's token")
        done = await api_tokens.revoke_token(token_id)
        live_sockets.revoked("token", token_id)
        return ApiToken.of(done)
