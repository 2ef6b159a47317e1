"""The `mpr` command line: up, api, worker, scan, migrate, seed, user create, demo, aws deploy|local.

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
    from backend.catalog.ingest import scan
    from backend.storage import open_storages

    _bind(settings)
    result = await scan(open_storages(settings), prefix=prefix)
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


def cmd_user_create(args) -> int:
    from piccolo.apps.user.tables import BaseUser

    settings = Settings.from_env()
    password = args.password or getpass.getpass("password: ")

    async def main() -> None:
        _bind(settings)
        await BaseUser.create_user(username=args.username, password=password, email=args.email or "",
                                   active=True, admin=True, superuser=args.superuser)

    asyncio.run(main())
    print(f"user {args.username!r} created")
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
    p = sub.add_parser("user", help="admin users")
    usub = p.add_subparsers(dest="user_command", required=True)
    c = usub.add_parser("create")
    c.add_argument("username")
    c.add_argument("--password")
    c.add_argument("--email")
    c.add_argument("--superuser", action="store_true")
    c.set_defaults(func=cmd_user_create)
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
