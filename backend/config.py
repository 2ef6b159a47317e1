"""Settings read from the environment (`MPR_*`), the one place that knows defaults.

Every other layer receives a `Settings` instead of reading `os.environ` itself.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _number(name: str, default, kind: type, what: str):
    raw = _env(name)
    if raw is None:
        return default
    try:
        return kind(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be {what}, got {raw!r}") from exc


def _int(name: str, default: int) -> int:
    return _number(name, default, int, "an integer")


def _float(name: str, default: float) -> float:
    return _number(name, default, float, "a number")


def _bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be on or off (1/0, true/false, yes/no), got {raw!r}")


def _log_format(raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("json", "text"):
        raise ValueError(f"MPR_LOG_FORMAT must be json or text, got {raw!r}")
    return value


def default_workers() -> int:
    """One FFmpeg process per two cores (x264 threads itself), at least one."""
    return max(1, (os.cpu_count() or 2) // 2)


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///data/mpr.sqlite"
    data_dir: Path = REPO_ROOT / "data"
    media_root: Path = REPO_ROOT / "media"
    storage: str = "local"  # local | s3
    executor: str = "local"  # local | aws
    s3_in_bucket: str = "mpr-media-in"
    s3_out_bucket: str = "mpr-media-out"
    aws_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    state_machine_arn: str | None = None
    chunked_state_machine_arn: str | None = None  # sfn/transcode-chunked.asl.json, deployed beside it
    ladder_state_machine_arn: str | None = None  # sfn/transcode-ladder.asl.json: output-template jobs
    sequence_state_machine_arn: str | None = None  # sfn/transcode-sequence.asl.json: sequence renders
    callback_url: str | None = None
    callback_secret: str | None = None
    callback_tolerance: int = 300  # seconds a callback's signed timestamp may be off (backend.signing)
    api_token: str | None = None
    admin_password: str | None = None
    workers: int = field(default_factory=default_workers)
    db_pool_size: int = 0  # asyncpg pool max size on PostgreSQL; 0 = automatic (workers + 4, at least 4)
    stall_seconds: int = 120
    max_attempts: int = 3
    max_upload_bytes: int = 4 * 1024**3
    host: str = "127.0.0.1"
    port: int = 8000
    ffmpeg: str | None = None
    ffprobe: str | None = None
    log_level: str = "INFO"
    log_format: str = "json"  # json | text: one choice for every process of a server (MPR_LOG_FORMAT)
    shutdown_grace: int = 30  # seconds running jobs get to finish on SIGTERM/Ctrl-C (MPR_SHUTDOWN_GRACE)
    # the browser boundary (backend/api/origins.py): the address browsers use, extra Host names
    public_url: str | None = None  # MPR_PUBLIC_URL (falls back to REFLEX_API_URL)
    allowed_hosts: str = ""  # MPR_ALLOWED_HOSTS: comma-separated host[:port]
    # bounded ingest (backend/media/limits.py)
    max_pixels: int = 35_000_000  # 8K UHD fits
    max_duration: int = 24 * 3600  # seconds
    ffmpeg_memory_mb: int = 8192  # address space of one encode
    probe_memory_mb: int = 2048  # address space of one ffprobe / thumbnail run
    probe_timeout: int = 60  # seconds per ffprobe / thumbnail run
    ingest_concurrency: int = 2  # probe + thumbnail runs at once
    # automation (docs/automation.md): the watched input folder (local storage only)
    watch_input: bool = True  # MPR_WATCH_INPUT: register files dropped into media/in without a scan
    watch_settle_seconds: float = 2.0  # MPR_WATCH_SETTLE_SECONDS: a file's size/mtime unchanged this long is complete
    watch_reconcile_seconds: int = 300  # MPR_WATCH_RECONCILE_SECONDS: full listing to catch missed events (0: at start only)
    # bucket events (storage s3): the SQS queue `mpr aws deploy` wires the input bucket to
    s3_events_queue_url: str | None = None  # MPR_S3_EVENTS_QUEUE_URL; unset: no events (scans only)
    # proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or networks)
    trusted_proxies: tuple[str, ...] = ("127.0.0.1/8", "::1")
    # webhook deliveries (backend/api/webhooks): one POST's time limit, POSTs at once, retry schedule
    webhook_timeout: float = 10.0  # seconds for one delivery attempt (connect + answer)
    webhook_concurrency: int = 8
    webhook_retry_base: float = 10.0  # seconds before the 2nd attempt; doubled each time, with jitter
    webhook_retry_window: float = 24 * 3600.0  # seconds after the event a failing delivery is given up

    @property
    def in_root(self) -> Path:
        return self.media_root / "in"

    @property
    def out_root(self) -> Path:
        return self.media_root / "out"

    @property
    def thumbs_root(self) -> Path:
        return self.media_root / "thumbs"

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def pool_max_size(self) -> int:
        if self.db_pool_size < 0:
            raise ValueError(f"MPR_DB_POOL_SIZE must be 0 (automatic) or more, got {self.db_pool_size}")
        return self.db_pool_size or max(4, self.workers + 4)

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @classmethod
    def from_env(cls) -> "Settings":
        data_dir = Path(_env("MPR_DATA_DIR", str(REPO_ROOT / "data")))
        return cls(
            database_url=_env("MPR_DATABASE_URL", f"sqlite:///{data_dir / 'mpr.sqlite'}"),
            data_dir=data_dir,
            media_root=Path(_env("MPR_MEDIA_ROOT", str(REPO_ROOT / "media"))),
            storage=_env("MPR_STORAGE", "local"),
            executor=_env("MPR_EXECUTOR", "local"),
            s3_in_bucket=_env("MPR_S3_IN_BUCKET", "mpr-media-in"),
            s3_out_bucket=_env("MPR_S3_OUT_BUCKET", "mpr-media-out"),
            aws_endpoint_url=_env("AWS_ENDPOINT_URL"),
            aws_region=_env("AWS_DEFAULT_REGION", _env("AWS_REGION", "us-east-1")),
            state_machine_arn=_env("MPR_STATE_MACHINE_ARN"),
            chunked_state_machine_arn=_env("MPR_CHUNKED_STATE_MACHINE_ARN"),
            ladder_state_machine_arn=_env("MPR_LADDER_STATE_MACHINE_ARN"),
            sequence_state_machine_arn=_env("MPR_SEQUENCE_STATE_MACHINE_ARN"),
            callback_url=_env("MPR_CALLBACK_URL"),
            callback_secret=_env("MPR_CALLBACK_SECRET"),
            callback_tolerance=_int("MPR_CALLBACK_TOLERANCE", 300),
            api_token=_env("MPR_API_TOKEN"),
            admin_password=_env("MPR_ADMIN_PASSWORD"),
            workers=_int("MPR_WORKERS", default_workers()),
            db_pool_size=_int("MPR_DB_POOL_SIZE", 0),
            stall_seconds=_int("MPR_STALL_SECONDS", 120),
            max_attempts=_int("MPR_MAX_ATTEMPTS", 3),
            max_upload_bytes=_int("MPR_MAX_UPLOAD_BYTES", 4 * 1024**3),
            host=_env("MPR_HOST", "127.0.0.1"),
            port=_int("MPR_PORT", 8000),
            ffmpeg=_env("MPR_FFMPEG"),
            ffprobe=_env("MPR_FFPROBE"),
            log_level=_env("MPR_LOG_LEVEL", "INFO"),
            log_format=_log_format(_env("MPR_LOG_FORMAT", "json")),
            shutdown_grace=_int("MPR_SHUTDOWN_GRACE", 30),
            public_url=_env("MPR_PUBLIC_URL", _env("REFLEX_API_URL")),
            allowed_hosts=_env("MPR_ALLOWED_HOSTS", ""),
            max_pixels=_int("MPR_MAX_PIXELS", 35_000_000),
            max_duration=_int("MPR_MAX_DURATION", 24 * 3600),
            ffmpeg_memory_mb=_int("MPR_FFMPEG_MEMORY_MB", 8192),
            probe_memory_mb=_int("MPR_PROBE_MEMORY_MB", 2048),
            probe_timeout=_int("MPR_PROBE_TIMEOUT", 60),
            ingest_concurrency=_int("MPR_INGEST_CONCURRENCY", 2),
            s3_events_queue_url=_env("MPR_S3_EVENTS_QUEUE_URL"),
            watch_input=_bool("MPR_WATCH_INPUT", True),
            watch_settle_seconds=_float("MPR_WATCH_SETTLE_SECONDS", 2.0),
            watch_reconcile_seconds=_int("MPR_WATCH_RECONCILE_SECONDS", 300),
            trusted_proxies=tuple(p.strip() for p in _env("MPR_TRUSTED_PROXIES", "127.0.0.1/8,::1").split(",")
                                  if p.strip() and p.strip().lower() != "none"),
            webhook_timeout=_float("MPR_WEBHOOK_TIMEOUT", 10.0),
            webhook_concurrency=_int("MPR_WEBHOOK_CONCURRENCY", 8),
            webhook_retry_base=_float("MPR_WEBHOOK_RETRY_BASE", 10.0),
            webhook_retry_window=_float("MPR_WEBHOOK_RETRY_WINDOW", 24 * 3600.0),
        )
