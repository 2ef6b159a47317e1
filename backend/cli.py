"""The `mpr` command line: up, api, worker, scan, migrate, seed, user create|list|set, token create|list|revoke,
demo, aws deploy|local.

`mpr up` is what `make run` calls: migrate, seed presets, make the first-run credentials and demo
clips, scan the input folder, then serve UI + API (+ the job executor) on one port.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import io
import logging
import os
import signal
import sys
from pathlib import Path

from backend.config import Settings

log = logging.getLogger("mpr.cli")


def _configure_logging(settings: Settings) -> None:
    from backend.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)


def _bind(settings: Settings) -> None:
    from backend.catalog.db import bind_engine
    from backend.catalog.engine import engine_from_url

    bind_engine(engine_from_url(settings.database_url))


async def _migrate(settings: Settings) -> None:
    from backend.catalog.db import run_migrations
    from backend.catalog.presets import seed_builtin_presets
    from backend.catalog.templates import seed_builtin_templates

    _bind(settings)
    # piccolo prints its progress; it becomes log records, in the one log format (a failure shows it all)
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            await run_migrations()
    except BaseException:
        sys.stderr.write(printed.getvalue())
        raise
    for line in printed.getvalue().splitlines():
        line = line.strip(" -")
        if line and not set(line) <= {"-"}:
            log.log(logging.INFO if "[forwards]" in line else logging.DEBUG, "migrations: %s", line)
    changed = await seed_builtin_presets()
    templates = await seed_builtin_templates()
    print(f"builtin output templates changed: {templates}")
    print(f"database ready ({'PostgreSQL' if settings.is_postgres else 'SQLite'}); builtin presets changed: {changed}")


async def _scan(settings: Settings, prefix: str = "") -> None:
    from backend.jobs.intake import scan_and_apply
    from backend.storage import open_storages

    _bind(settings)
    result = await scan_and_apply(settings, open_storages(settings), prefix=prefix)
    print(
        f"scan: {result.added} added, {result.updated} updated, {result.unchanged} unchanged, "
        f"{result.errors} in error"
    )


def _demo(settings: Settings, force: bool = False) -> list[Path]:
    from backend.media.clips import make_demo_clips

    marker = settings.data_dir / ".demo-created"
    if marker.exists() and not force:
        return []
    settings.in_root.mkdir(parents=True, exist_ok=True)
    clips = make_demo_clips(settings.in_root / "demo")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text("\n".join(str(c) for c in clips))
    print(f"demo: made {len(clips)} sample clips under {settings.in_root / 'demo'}")
    return clips


async def _credentials(settings: Settings) -> Settings:
    """Make (once) and print (once) the API token and admin password."""
    from backend.api.auth import ensure_admin_user, ensure_api_token

    _bind(settings)
    token, created = ensure_api_token(settings)
    if created:
        print(f"API token (saved to {settings.data_dir / 'api-token'}; shown once): {token}")
    password = await ensure_admin_user(settings)
    if password:
        print(f"admin login for /admin: user 'admin', password {password} (shown once)")
    return settings.with_(api_token=token)


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


async def _login_link(settings: Settings) -> str | None:
    """A one-time link that signs a browser in as the first active admin (None if there is none)."""
    from backend.catalog.accounts import list_users
    from backend.catalog.sessions import LINK_MINUTES, create_login_link

    _bind(settings)
    admin = next((u for u in await list_users() if u.active and u.role == "admin"), None)
    if admin is None:
        return None
    secret = await create_login_link(admin.id)
    return (f"http://{settings.host}:{settings.port}/api/auth/link/{secret}  "
            f"(signs in as {admin.username!r} once; valid {LINK_MINUTES} minutes)")


def _prepare(settings: Settings) -> Settings:
    for folder in (settings.data_dir, settings.in_root, settings.out_root, settings.thumbs_root):
        folder.mkdir(parents=True, exist_ok=True)
    asyncio.run(_migrate(settings))
    settings = asyncio.run(_credentials(settings))
    if settings.storage == "local" and os.environ.get("MPR_DEMO", "1") != "0":
        _demo(settings)
        asyncio.run(_scan(settings))
    return settings


def cmd_up(args) -> int:
    settings = Settings.from_env().with_(host=args.host or Settings.from_env().host, port=args.port or Settings.from_env().port)
    _check_exposure(settings)
    _check_port(settings)
    settings = _prepare(settings)
    try:
        from backend.serve import serve
    except ImportError:
        from backend.api.server import serve_api as serve
    print(f"MPR is starting at http://{settings.host}:{settings.port}/  (GraphQL /graphql, admin /admin)")
    if _is_loopback(settings.host):
        link = asyncio.run(_login_link(settings))
        if link:
            print(f"one-time login link: {link}")
    sys.stdout.flush()
    return serve(settings) or 0


def _check_port(settings: Settings) -> None:
    """Before migrating and building: one line saying who holds the port, instead of a failed build."""
    from backend.serve import port_in_use_message

    busy = port_in_use_message(settings.host, settings.port)
    if busy:
        print(f"mpr up: {busy}", file=sys.stderr, flush=True)
        raise SystemExit(2)


def _check_exposure(settings: Settings) -> None:
    loopback = settings.host in ("127.0.0.1", "localhost", "::1")
    if not loopback and not (settings.api_token and settings.admin_password):
        raise SystemExit(
            f"refusing to bind {settings.host}: set MPR_API_TOKEN and MPR_ADMIN_PASSWORD before exposing MPR beyond loopback"
        )


def cmd_api(args) -> int:
    from backend.api.server import serve_api

    settings = Settings.from_env().with_(host=args.host or Settings.from_env().host, port=args.port or Settings.from_env().port)
    _check_exposure(settings)
    settings = asyncio.run(_credentials(settings))
    return serve_api(settings) or 0


def cmd_worker(args) -> int:
    """Run the executor until SIGTERM/Ctrl-C (graceful: MPR_SHUTDOWN_GRACE for running jobs; a
    second signal stops them now, re-queued without spending an attempt) or, with --once, until
    nothing is left to do."""
    from backend.jobs import shutdown
    from backend.jobs.runtime import JobRuntime

    settings = Settings.from_env()
    if args.workers:
        settings = settings.with_(workers=args.workers)
    _configure_logging(settings)

    async def main() -> None:
        from backend.catalog.db import connection_pool, current_engine

        stop = asyncio.Event()

        def on_signal() -> None:
            if stop.is_set():
                shutdown.hurry()
                return
            shutdown.request_stop()
            stop.set()

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        _bind(settings)
        async with connection_pool(current_engine(), settings.pool_max_size):  # PostgreSQL only
            runtime = JobRuntime(settings)
            await runtime.start()
            print(f"worker {getattr(runtime.executor, 'worker_id', '')} running ({settings.executor}, {settings.workers} workers)")
            sys.stdout.flush()
            waiter = asyncio.create_task(stop.wait())
            work = asyncio.create_task(runtime.executor.drain(timeout=args.timeout)) if args.once else None
            try:
                await asyncio.wait([t for t in (waiter, work) if t], return_when=asyncio.FIRST_COMPLETED)
                if work is not None and work.done():
                    work.result()  # a drain that timed out fails the command
                    # the last outputs' pictures are made in the background: finish them while the
                    # pool is open (they failed with "pool is closing" before, issue 20)
                    from backend.catalog.outputs import wait_for_thumbnails
                    await wait_for_thumbnails()
            finally:
                for task in (waiter, work):
                    if task is not None:
                        task.cancel()
                await runtime.stop()

    asyncio.run(main())
    return 0


def cmd_scan(args) -> int:
    settings = Settings.from_env()
    prefix = ""
    if args.path:
        root = settings.in_root.resolve()
        path = Path(args.path)
        path = (path if path.is_absolute() else Path.cwd() / path).resolve()
        if path != root and root not in path.parents:
            raise SystemExit(f"{path} is outside the input folder {root}; move the files there or set MPR_MEDIA_ROOT")
        prefix = "" if path == root else path.relative_to(root).as_posix()
    asyncio.run(_scan(settings, prefix))
    return 0


def cmd_migrate(args) -> int:
    asyncio.run(_migrate(Settings.from_env()))
    return 0


def _run_bound(coro_fn):
    """Run `coro_fn()` with the catalog bound to MPR_DATABASE_URL; a refusal is a one-line exit."""
    from backend.catalog.accounts import AccountError

    settings = Settings.from_env()

    async def main():
        _bind(settings)
        return await coro_fn()

    try:
        return asyncio.run(main())
    except AccountError as exc:
        raise SystemExit(f"refused: {exc.message}") from None


async def _user_named(name: str):
    from backend.catalog.accounts import user_by_name

    user = await user_by_name(name)
    if user is None:
        raise SystemExit(f"no user named {name!r} (mpr user list)")
    return user


def cmd_user_create(args) -> int:
    from backend.catalog.accounts import create_user, set_role

    password = args.password or getpass.getpass("password: ")

    async def main():
        user = await create_user(args.username, password, args.role, args.email or "")
        if args.superuser:  # piccolo's superuser: may change other users' passwords in /admin
            from piccolo.apps.user.tables import BaseUser

            await set_role(user.id, "admin")
            await BaseUser.update({BaseUser.superuser: True}).where(BaseUser.id == user.id)
        return user

    user = _run_bound(main)
    print(f"user {user.username!r} created with role {user.role if not args.superuser else 'admin'}")
    return 0


def cmd_user_list(args) -> int:
    from backend.catalog.accounts import list_users

    for user in _run_bound(list_users):
        print(f"{user.id:>5}  {user.username:<24} {user.role:<7} {'active' if user.active else 'DEACTIVATED'}")
    return 0


def cmd_user_set(args) -> int:
    from backend.catalog.accounts import update_user
    from backend.catalog.sessions import revoke_user_sessions

    async def main():
        user = await _user_named(args.username)
        active = None if args.active is None else args.active == "yes"
        done = await update_user(user.id, role=args.role, active=active, password=args.password)
        if active is False or args.password:
            await revoke_user_sessions(user.id)
        return done

    user = _run_bound(main)
    print(f"user {user.username!r}: role {user.role}, {'active' if user.active else 'deactivated'}")
    return 0


def cmd_token_create(args) -> int:
    import datetime as dt

    from backend.catalog import audit
    from backend.catalog.api_tokens import create_token

    async def main():
        user = await _user_named(args.user)
        expires = None
        if args.expires_days:
            expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=args.expires_days)
        token, info = await create_token(user, args.name or "", args.scope, expires)
        await audit.record("createApiToken", actor="cli", user_id=user.id, token_id=info.id,
                           object_type="api_token", object_id=info.id, detail=f"scope {info.scope}")
        return token, info

    token, info = _run_bound(main)
    print(f"token {info.id} for {args.user} (scope {info.scope}"
          f"{', expires ' + info.expires_at.isoformat() if info.expires_at else ''}); shown once:")
    print(token)
    return 0


def cmd_token_list(args) -> int:
    from backend.catalog.accounts import list_users
    from backend.catalog.api_tokens import list_tokens

    async def main():
        user_id = (await _user_named(args.user)).id if args.user else None
        names = {u.id: u.username for u in await list_users()}
        return names, await list_tokens(user_id)

    names, tokens = _run_bound(main)
    for t in tokens:
        state = "revoked" if t.revoked_at else ("expires " + t.expires_at.isoformat() if t.expires_at else "live")
        print(f"{t.id:>5}  mpr_{t.prefix}_…  {names.get(t.user_id, '?'):<20} {t.scope:<5}  {t.name!r:<20} {state}")
    return 0


def cmd_token_revoke(args) -> int:
    from backend.catalog import audit
    from backend.catalog.api_tokens import revoke_token

    async def main():
        info = await revoke_token(args.id)
        await audit.record("revokeApiToken", actor="cli", user_id=info.user_id, token_id=info.id,
                           object_type="api_token", object_id=info.id)
        return info

    info = _run_bound(main)
    print(f"token {info.id} revoked (open subscriptions using it close within seconds)")
    return 0


def cmd_demo(args) -> int:
    settings = Settings.from_env()
    clips = _demo(settings, force=True)
    asyncio.run(_scan(settings, "demo"))
    return 0 if clips else 1


def cmd_aws(args) -> int:
    from backend.awsdeploy import deploy, local

    if args.aws_command == "deploy":
        return deploy.main_deploy(args.rest, Settings.from_env()) or 0
    return local.main_local(args.rest, Settings.from_env()) or 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mpr", description="MPR media processor")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, text in (("up", cmd_up, "prepare and serve UI + API + executor"), ("api", cmd_api, "serve the API only")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--host")
        p.add_argument("--port", type=int)
        p.set_defaults(func=func)
    p = sub.add_parser("worker", help="run the job executor in this process")
    p.add_argument("--workers", type=int)
    p.add_argument("--once", action="store_true", help="exit when no job is queued or running")
    p.add_argument("--timeout", type=float, default=3600)
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser("scan", help="register new and changed files under the input folder")
    p.add_argument("path", nargs="?")
    p.set_defaults(func=cmd_scan)
    sub.add_parser("migrate", help="apply migrations and seed builtin presets").set_defaults(func=cmd_migrate)
    p = sub.add_parser("user", help="users and their roles")
    usub = p.add_subparsers(dest="user_command", required=True)
    c = usub.add_parser("create", help="create a user: mpr user create NAME --role viewer|editor|admin")
    c.add_argument("username")
    c.add_argument("--role", default="viewer", choices=("viewer", "editor", "admin"))
    c.add_argument("--password")
    c.add_argument("--email")
    c.add_argument("--superuser", action="store_true", help="an admin who may also change others' passwords in /admin")
    c.set_defaults(func=cmd_user_create)
    usub.add_parser("list", help="every user, role and state").set_defaults(func=cmd_user_list)
    c = usub.add_parser("set", help="change a user's role, active flag or password")
    c.add_argument("username")
    c.add_argument("--role", choices=("viewer", "editor", "admin"))
    c.add_argument("--active", choices=("yes", "no"))
    c.add_argument("--password")
    c.set_defaults(func=cmd_user_set)
    p = sub.add_parser("token", help="personal API tokens")
    tsub = p.add_subparsers(dest="token_command", required=True)
    c = tsub.add_parser("create", help="create a token for a user (shown once)")
    c.add_argument("--user", required=True)
    c.add_argument("--scope", default="read", choices=("read", "write", "admin"))
    c.add_argument("--name")
    c.add_argument("--expires-days", type=float)
    c.set_defaults(func=cmd_token_create)
    c = tsub.add_parser("list", help="tokens (of one user with --user)")
    c.add_argument("--user")
    c.set_defaults(func=cmd_token_list)
    c = tsub.add_parser("revoke", help="revoke a token by id")
    c.add_argument("id", type=int)
    c.set_defaults(func=cmd_token_revoke)
    sub.add_parser("demo", help="make sample clips and register them").set_defaults(func=cmd_demo)
    p = sub.add_parser("aws", help="AWS executor tools")
    p.add_argument("aws_command", choices=("deploy", "local"))
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_aws)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(Settings.from_env())
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
