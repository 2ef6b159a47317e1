"""Piccolo tables: `MediaAsset`, `TranscodePreset`, `OutputTemplate`, `Sequence`, `TranscodeJob` and
its `JobTransition` history, the automation rules (`AutomationRule`, and `RuleFiring`: which rule
fired for which version of which asset, and the job it made), plus the access records: `UserRole`,
`UserSession`, `ApiToken`, `AuditEvent` (users themselves are piccolo's `BaseUser`, referenced by
id), and the webhooks: `WebhookEndpoint` and its outbox of `WebhookDelivery` rows
(backend.catalog.webhooks).

Plain storage of records; rules about what a valid preset or a legal job transition is live in
`backend.media.presets` and `backend.jobs.lifecycle`.
"""
from __future__ import annotations

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.catalog.statuses import ASSET_STATUSES, JOB_STATUSES, PENDING, QUEUED  # noqa: F401 (re-exported)


class MediaAsset(Table, tablename="media_asset"):
    filename = Varchar(length=512)  # display name, editable
    storage_area = Varchar(length=8, default="in")  # in | out (which Storage holds the bytes)
    storage_key = Varchar(length=1024, index=True)  # key inside that storage
    size = BigInt(default=0)
    mtime = DoublePrecision(default=0.0)  # source file mtime / S3 etag hash, for change detection
    etag = Varchar(length=128, default="")
    status = Varchar(length=16, default=PENDING, index=True)
    error_message = Text(default="")
    duration = DoublePrecision(null=True, default=None)
    container = Varchar(length=128, default="")
    video_codec = Varchar(length=64, default="")
    audio_codec = Varchar(length=64, default="")
    width = Integer(null=True, default=None)
    height = Integer(null=True, default=None)
    frame_rate = DoublePrecision(null=True, default=None)
    bitrate = BigInt(null=True, default=None)
    audio_channels = Integer(null=True, default=None)
    audio_sample_rate = Integer(null=True, default=None)
    rotation = Integer(default=0)
    pix_fmt = Varchar(length=32, default="")
    # frames of B-frame reordering (ffprobe has_b_frames); NULL: probed before it was recorded
    reorder_delay = Integer(null=True, default=None)
    poster_key = Varchar(length=1024, default="")
    filmstrip_key = Varchar(length=1024, default="")
    filmstrip_frames = Integer(default=0)
    # analysis (backend.media.analysis): waveform peaks file in the thumbs area, markers, EBU R128
    waveform_key = Varchar(length=1024, default="")
    scene_cuts = JSON(default=[])  # [seconds, ...]
    keyframes = JSON(default=[])  # [seconds, ...] of the video's keyframes
    black_ranges = JSON(default=[])  # [[start, end], ...]
    silence_ranges = JSON(default=[])  # [[start, end], ...]
    loudness_integrated = DoublePrecision(null=True, default=None)  # LUFS
    loudness_threshold = DoublePrecision(null=True, default=None)  # LUFS (integrated gate)
    loudness_range = DoublePrecision(null=True, default=None)  # LU
    loudness_true_peak = DoublePrecision(null=True, default=None)  # dBTP
    analysis_version = Integer(default=0, index=True)  # 0: not analysed yet (the backfill's queue)
    analysis_error = Text(default="")
    tags = JSON(default=[])
    comments = Text(default="")
    created_by = Integer(null=True, default=None)  # BaseUser id of who uploaded/scanned it (None: a tool)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow(), auto_update=TimestamptzNow().python)
    # (storage_area, storage_key) is unique: see EXTRA_DDL (a unique index works on SQLite too)


class TranscodePreset(Table, tablename="transcode_preset"):
    name = Varchar(length=128, unique=True)
    description = Text(default="")
    builtin = Boolean(default=False)
    kind = Varchar(length=16, default="video")  # video | audio | copy | image
    container = Varchar(length=16, default="mp4")
    video_codec = Varchar(length=32, default="")
    crf = Integer(null=True, default=None)
    video_bitrate = Integer(null=True, default=None)  # kbit/s
    speed_preset = Varchar(length=32, default="")
    max_width = Integer(null=True, default=None)
    max_height = Integer(null=True, default=None)
    fps = DoublePrecision(null=True, default=None)
    audio_codec = Varchar(length=32, default="")
    audio_bitrate = Integer(null=True, default=None)  # kbit/s
    channels = Integer(null=True, default=None)
    sample_rate = Integer(null=True, default=None)
    loudness_target = DoublePrecision(null=True, default=None)  # LUFS; None: no normalisation
    true_peak_ceiling = DoublePrecision(null=True, default=None)  # dBTP, with loudness_target
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow(), auto_update=TimestamptzNow().python)


class OutputTemplate(Table, tablename="output_template"):
    """A named list of outputs (backend.media.templates.TemplateSpec): renditions of a streaming
    package, files, a poster, a storyboard."""

    name = Varchar(length=128, unique=True)
    description = Text(default="")
    builtin = Boolean(default=False)
    outputs = JSON(default=[])  # [TemplateOutput.to_dict()]: {role, preset: {...PresetSpec}, interval}
    segment_seconds = DoublePrecision(default=4.0)
    packaging = Varchar(length=16, default="hls+dash")  # hls+dash | hls | dash
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow(), auto_update=TimestamptzNow().python)


class Sequence(Table, tablename="mpr_sequence"):
    """An edit: clips of one or more assets laid end to end (backend.jobs.sequences checks them)."""

    name = Varchar(length=200)
    clips = JSON(default=[])  # [{"sourceId": int, "start": seconds, "end": seconds}, ...] in play order
    created_by = Integer(null=True, default=None)  # BaseUser id of who made it (None: a tool)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow(), auto_update=TimestamptzNow().python)


class TranscodeJob(Table, tablename="transcode_job"):
    source = ForeignKey(references=MediaAsset, on_delete=OnDelete.cascade, index=True)
    preset = ForeignKey(references=TranscodePreset, on_delete=OnDelete.set_null, null=True)
    preset_snapshot = JSON(default={})  # the PresetSpec as it was when the job was created
    trim_start = DoublePrecision(null=True, default=None)
    trim_end = DoublePrecision(null=True, default=None)
    accurate_trim = Boolean(default=True)
    output_filename = Varchar(length=512, default="")
    output_key = Varchar(length=1024, default="")
    output_asset = ForeignKey(references=MediaAsset, on_delete=OnDelete.set_null, null=True)
    status = Varchar(length=16, default=QUEUED, index=True)
    progress = DoublePrecision(default=0.0)  # percent 0..100
    fps = DoublePrecision(null=True, default=None)
    speed = DoublePrecision(null=True, default=None)
    eta_seconds = DoublePrecision(null=True, default=None)
    attempt = Integer(default=1)
    max_attempts = Integer(default=3)
    priority = Integer(default=0, index=True)  # higher runs first
    executor = Varchar(length=16, default="local")
    execution_id = Varchar(length=2048, default="")
    callback_nonce = Varchar(length=64, default="")  # the dispatched attempt's nonce; callbacks must sign it
    worker_id = Varchar(length=128, default="")
    error = Text(default="")
    log_tail = Text(default="")
    plan = JSON(default={})  # how it ran: chunks, concurrency, trim mode notes
    spec = JSON(default={})  # the JobSpec (backend.pipeline.spec) the current attempt runs with
    created_by = Integer(null=True, default=None)  # BaseUser id of who queued it (None: a tool)
    template_id = Integer(null=True, default=None)  # the OutputTemplate a several-output job came from
    template_snapshot = JSON(default={})  # that template as it was when the job was created
    outputs = JSON(default=[])  # one record per rendition/file: status, key, size, bitrate, verification
    playback_key = Varchar(length=1024, default="")  # the package's master playlist in the output area
    sequence_id = Integer(null=True, default=None)  # the Sequence a sequence render came from
    sequence_snapshot = JSON(default={})  # that sequence as rendered: {name, clips: [{sourceId, start, end, ...}]}
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    started_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
    heartbeat_at = Timestamptz(null=True, default=None)  # last progress seen; stall detection
    updated_at = Timestamptz(default=TimestamptzNow(), auto_update=TimestamptzNow().python)


class JobTransition(Table, tablename="job_transition"):
    job = ForeignKey(references=TranscodeJob, on_delete=OnDelete.cascade, index=True)
    at = Timestamptz(default=TimestamptzNow())
    from_status = Varchar(length=16, default="")
    to_status = Varchar(length=16)
    attempt = Integer(default=1)
    reason = Text(default="")


class AutomationRule(Table, tablename="automation_rule"):
    """When an input asset becomes ready and matches (backend.catalog.rule_match), queue a job with
    a preset or an output template (backend.jobs.rules). Empty / null match fields match anything."""
    name = Varchar(length=128, unique=True)
    enabled = Boolean(default=True)
    priority = Integer(default=0)  # the job's priority; rules are also tried in this order (highest first)
    path_glob = Varchar(length=512, default="")  # fnmatch on the input key ("news/*.mov"); "" = any
    path_prefix = Varchar(length=512, default="")  # the key starts with this ("news/"); "" = any
    containers = JSON(default=[])  # any of these (ffprobe format names, e.g. "mov", "matroska"); [] = any
    video_codecs = JSON(default=[])  # any of these (h264, hevc, prores, …); [] = any
    audio_codecs = JSON(default=[])
    min_duration = DoublePrecision(null=True, default=None)  # seconds
    max_duration = DoublePrecision(null=True, default=None)
    min_width = Integer(null=True, default=None)
    max_width = Integer(null=True, default=None)
    min_height = Integer(null=True, default=None)
    max_height = Integer(null=True, default=None)
    tags = JSON(default=[])  # the asset carries all of these
    preset_id = Integer(null=True, default=None)  # the action: one preset …
    template_id = Integer(null=True, default=None)  # … or one output template
    output_pattern = Varchar(length=256, default="{stem}-{preset}")  # backend.jobs.rules.expand_pattern
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow(), auto_update=TimestamptzNow().python)


class RuleFiring(Table, tablename="automation_rule_firing"):
    """One rule met one version of one asset: at most once (`fire_key` is unique), so a rescan, a
    repeated event or two processes never queue the same job twice."""
    rule = ForeignKey(references=AutomationRule, on_delete=OnDelete.cascade, index=True)
    asset = ForeignKey(references=MediaAsset, on_delete=OnDelete.cascade, index=True)
    fire_key = Varchar(length=200, unique=True)  # "<rule>:<asset>:<version>"
    job_id = Integer(null=True, default=None)  # the job it queued (None: refused, see error)
    error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())


class UserRole(Table, tablename="mpr_user_role"):
    """The MPR role of a piccolo `BaseUser` (viewer | editor | admin); no row: see accounts.role_of."""
    user_id = Integer(unique=True)
    role = Varchar(length=16, default="viewer")


class UserSession(Table, tablename="mpr_session"):
    """A browser session (kind "session") or a one-time login link (kind "link"); only the
    SHA-256 of the secret is stored."""
    token_hash = Varchar(length=64, unique=True)
    kind = Varchar(length=8, default="session")
    user_id = Integer(index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)
    client = Varchar(length=64, default="")


class ApiToken(Table, tablename="mpr_api_token"):
    """A personal API token: `mpr_<prefix>_<secret>`; the prefix finds the row, the secret's
    SHA-256 is compared in constant time."""
    user_id = Integer(index=True)
    name = Varchar(length=128, default="")
    prefix = Varchar(length=16, unique=True)
    secret_hash = Varchar(length=64)
    scope = Varchar(length=8, default="read")  # read | write | admin (each includes the ones before)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class AuditEvent(Table, tablename="mpr_audit_event"):
    """Who (user, token or the master token) did what to which object, when, and whether it was allowed."""
    at = Timestamptz(default=TimestamptzNow(), index=True)
    actor = Varchar(length=200, default="")
    user_id = Integer(null=True, default=None)
    token_id = Integer(null=True, default=None)
    action = Varchar(length=64)
    object_type = Varchar(length=32, default="")
    object_id = Varchar(length=64, default="")
    ok = Boolean(default=True)
    detail = Text(default="")
    client = Varchar(length=64, default="")


class WebhookEndpoint(Table, tablename="mpr_webhook_endpoint"):
    """Where events are POSTed: a URL, the event types it wants, and the secret deliveries are signed
    with (kept as is: signing needs it; never shown after creation, see docs/webhooks.md)."""
    url = Varchar(length=2048)
    secret = Varchar(length=128, default="", secret=True)
    event_types = JSON(default=[])  # ["job.succeeded", ...]; empty: every event type
    description = Varchar(length=256, default="")
    active = Boolean(default=True)
    created_by = Integer(null=True, default=None)  # BaseUser id of the admin who added it (None: a tool)
    created_at = Timestamptz(default=TimestamptzNow())


class WebhookDelivery(Table, tablename="mpr_webhook_delivery"):
    """One event for one endpoint: the outbox row the dispatcher sends until delivered or failed.

    `body` is the exact JSON sent (the signature covers it); `event_id` stays the same across
    retries and redeliveries of the event."""
    endpoint = ForeignKey(references=WebhookEndpoint, on_delete=OnDelete.cascade, index=True)
    event_id = Varchar(length=64, index=True)
    event_type = Varchar(length=32)
    subject = Varchar(length=64, default="", index=True)  # "job:12" / "asset:3": what the event is about
    body = Text(default="")
    status = Varchar(length=16, default="pending", index=True)  # pending | delivered | failed
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    last_attempt_at = Timestamptz(null=True, default=None)
    response_code = Integer(null=True, default=None)
    latency_ms = Integer(null=True, default=None)
    error = Text(default="")
    redelivery_of = Integer(null=True, default=None)  # the delivery this one replays (redeliverWebhook)
    created_at = Timestamptz(default=TimestamptzNow())


ACCOUNT_TABLES = (UserRole, UserSession, ApiToken, AuditEvent)
RULE_TABLES = (AutomationRule, RuleFiring)
WEBHOOK_TABLES = (WebhookEndpoint, WebhookDelivery)
ALL_TABLES = (MediaAsset, TranscodePreset, OutputTemplate, Sequence, TranscodeJob, JobTransition, *RULE_TABLES,
              *ACCOUNT_TABLES,
              *WEBHOOK_TABLES)

# DDL Piccolo's column options cannot express; run by the migrations and by `create_tables`.
EXTRA_DDL = (
    "CREATE UNIQUE INDEX IF NOT EXISTS media_asset_location ON media_asset (storage_area, storage_key)",
    "CREATE INDEX IF NOT EXISTS transcode_job_claim ON transcode_job (status, executor, priority, created_at)",
)
# PostgreSQL only: trigram indexes serve the substring search of api/graphql/filters.py (ILIKE
# '%text%' on filenames and tags), which a b-tree cannot; SQLite scans, which is fine at its size.
# The expressions are the filters' own (`CAST(tags AS TEXT)`), or the planner would not use them.
POSTGRES_DDL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS media_asset_filename_trgm ON media_asset USING gin (filename gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS media_asset_tags_trgm ON media_asset USING gin ((CAST(tags AS TEXT)) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS transcode_job_output_trgm ON transcode_job USING gin (output_filename gin_trgm_ops)",
)


# Both engines: the library's sort orders (api/graphql/queries.py ASSET_ORDERS) as b-trees, so a
# sorted first page and every cursor page (a `(key, id) > (…)` seek) read LIMIT rows off an index
# instead of sorting the table: one per order with the area first (the UI always filters by area)
# and one without (area "all"). The key expressions are the orders' own, or no planner uses them.
LIBRARY_ORDER_DDL = (
    "CREATE INDEX IF NOT EXISTS media_asset_area_id ON media_asset (storage_area, id)",
    "CREATE INDEX IF NOT EXISTS media_asset_area_name ON media_asset (storage_area, LOWER(filename), id)",
    "CREATE INDEX IF NOT EXISTS media_asset_name ON media_asset (LOWER(filename), id)",
    "CREATE INDEX IF NOT EXISTS media_asset_area_duration ON media_asset (storage_area, COALESCE(duration, -1.0), id)",
    "CREATE INDEX IF NOT EXISTS media_asset_duration ON media_asset (COALESCE(duration, -1.0), id)",
    "CREATE INDEX IF NOT EXISTS media_asset_area_size ON media_asset (storage_area, size, id)",
    "CREATE INDEX IF NOT EXISTS media_asset_size ON media_asset (size, id)",
)


def engine_ddl(engine) -> tuple[str, ...]:
    """The DDL beyond the Table classes for this engine: EXTRA_DDL and LIBRARY_ORDER_DDL, plus
    POSTGRES_DDL on PostgreSQL."""
    from piccolo.engine.postgres import PostgresEngine

    return EXTRA_DDL + LIBRARY_ORDER_DDL + (POSTGRES_DDL if isinstance(engine, PostgresEngine) else ())
