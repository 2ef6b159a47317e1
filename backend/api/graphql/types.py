"""GraphQL object types (names as in docs/architecture.md), built from catalog rows (`.select()` dicts).

Plain columns are plain attributes (graphql-core's default resolver, fast); related rows
(source/output assets, presets, history) come through the request's DataLoaders; playback URLs
through the storages.
"""
from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Generic, TypeVar

import strawberry
from strawberry.scalars import JSON

from backend.api import system
from backend.api.graphql.context import api, download_url, package_url, playback_url
from backend.catalog.statuses import ASSET_STATUSES, JOB_STATUSES
from backend.catalog.tables import MediaAsset as AssetTable
from backend.catalog.tables import TranscodeJob as JobTable
from backend.jobs.jobspec import trim_mode as job_trim_mode
from backend.jobs.sequence_copy import stream_copy_check
from backend.media.presets import PresetSpec, summarize


def _json(value, default):
    if value is None:
        return default
    if isinstance(value, (bytes, str)):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return value


def _opt_id(value) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


def _loudness(row: dict) -> "Loudness | None":
    values = [row.get(k) for k in ("loudness_integrated", "loudness_range", "loudness_true_peak")]
    if any(v is None for v in values):
        return None
    return Loudness(integrated=values[0], range=values[1], true_peak=values[2])


def related(loader, key, cls):
    """`cls` for the row `key` of `loader`: at once when the row is already loaded (the list
    resolvers prefetch a page's related rows in one query), else an awaitable that batches."""
    if key is None:
        return None
    future = loader.cache_map.get(key)
    if future is not None and future.done() and not future.cancelled() and future.exception() is None:
        row = future.result()
        return cls.from_row(row) if row else None

    async def load():
        row = await loader.load(key)
        return cls.from_row(row) if row else None

    return load()


# The GraphQL enums take their values from backend.catalog.statuses (QUEUED = "queued", …).
JobStatus = strawberry.enum(enum.Enum("JobStatus", [(s.upper(), s) for s in JOB_STATUSES]),
                            description="Where a job is in its lifecycle.")
AssetStatus = strawberry.enum(enum.Enum("AssetStatus", [(s.upper(), s) for s in ASSET_STATUSES]),
                              description="Whether an asset was probed successfully.")


@strawberry.type(description="A stretch of a file, in seconds from its start.")
class TimeRange:
    start: float
    end: float


@strawberry.type(description="EBU R128 measurement of the file's audio.")
class Loudness:
    integrated: float = strawberry.field(description="Integrated loudness, LUFS.")
    range: float = strawberry.field(description="Loudness range (LRA), LU.")
    true_peak: float = strawberry.field(description="True peak, dBTP.")


def _times(value) -> list[float]:
    return [float(t) for t in _json(value, []) or [] if isinstance(t, (int, float)) and not isinstance(t, bool)]


def _ranges(value) -> list[TimeRange]:
    out = []
    for item in _json(value, []) or []:
        if isinstance(item, (list, tuple)) and len(item) == 2:
            out.append(TimeRange(start=float(item[0]), end=float(item[1])))
    return out


@strawberry.type(description="A media file MPR knows about: an input, or an output a job made.")
class MediaAsset:
    id: strawberry.ID
    filename: str
    storage_area: str
    storage_key: str
    size: float = strawberry.field(description="Bytes (a Float: files pass 2 GiB).")
    status: AssetStatus
    error_message: str
    duration: float | None
    container: str
    video_codec: str
    audio_codec: str
    width: int | None
    height: int | None
    frame_rate: float | None
    bitrate: float | None
    audio_channels: int | None
    audio_sample_rate: int | None
    rotation: int
    pix_fmt: str
    tags: list[str]
    comments: str
    filmstrip_frames: int
    created_by_id: strawberry.ID | None = strawberry.field(description="The user who uploaded it (null: a scan or a tool).")
    loudness: Loudness | None = strawberry.field(description="EBU R128 loudness; null until measured or without audio.")
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    _poster_key: strawberry.Private[str]
    _filmstrip_key: strawberry.Private[str]
    _waveform_key: strawberry.Private[str]
    _etag: strawberry.Private[str] = ""  # the version signed media links bind (S3: the object's ETag)
    # the analysis columns, parsed only when asked for: a listing selects none of them, and a long
    # video's keyframes are thousands of numbers (json.loads of each row's arrays cost more than the row)
    _scene_cuts: strawberry.Private[object] = None
    _keyframes: strawberry.Private[object] = None
    _black_ranges: strawberry.Private[object] = None
    _silence_ranges: strawberry.Private[object] = None

    @classmethod
    def from_row(cls, row: dict) -> "MediaAsset":
        tags = _json(row.get("tags"), [])
        return cls(
            id=strawberry.ID(str(row["id"])),
            filename=row["filename"],
            storage_area=row["storage_area"],
            storage_key=row["storage_key"],
            size=row["size"] or 0,
            status=AssetStatus(row["status"]),
            error_message=row["error_message"] or "",
            duration=row["duration"],
            container=row["container"] or "",
            video_codec=row["video_codec"] or "",
            audio_codec=row["audio_codec"] or "",
            width=row["width"],
            height=row["height"],
            frame_rate=row["frame_rate"],
            bitrate=row["bitrate"],
            audio_channels=row["audio_channels"],
            audio_sample_rate=row["audio_sample_rate"],
            rotation=row["rotation"] or 0,
            pix_fmt=row["pix_fmt"] or "",
            tags=[str(t) for t in tags] if isinstance(tags, list) else [],
            comments=row["comments"] or "",
            filmstrip_frames=row["filmstrip_frames"] or 0,
            created_by_id=_opt_id(row.get("created_by")),
            loudness=_loudness(row),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            _poster_key=row["poster_key"] or "",
            _filmstrip_key=row["filmstrip_key"] or "",
            _waveform_key=row.get("waveform_key") or "",
            _etag=row.get("etag") or "",
            _scene_cuts=row.get("scene_cuts"),
            _keyframes=row.get("keyframes"),
            _black_ranges=row.get("black_ranges"),
            _silence_ranges=row.get("silence_ranges"),
        )

    @strawberry.field(description="Seconds where a new shot starts (scene score above the threshold).")
    def scene_cuts(self) -> list[float]:
        return _times(self._scene_cuts)

    @strawberry.field(description="Seconds of the video's keyframes (where a stream copy can start).")
    def keyframes(self) -> list[float]:
        return _times(self._keyframes)

    @strawberry.field(description="Stretches of black picture.")
    def black_ranges(self) -> list[TimeRange]:
        return _ranges(self._black_ranges)

    @strawberry.field(description="Stretches of silence (below -50 dB for 0.5 s or more).")
    def silence_ranges(self) -> list[TimeRange]:
        return _ranges(self._silence_ranges)

    @strawberry.field(description="URL that plays the file (byte ranges on local storage, presigned on S3).")
    def media_url(self, info: strawberry.Info) -> str | None:
        return playback_url(api(info), self.storage_area, self.storage_key, asset=int(self.id), etag=self._etag)

    @strawberry.field(description="URL of the poster frame (JPEG), if one was made.")
    def poster_url(self, info: strawberry.Info) -> str | None:
        return playback_url(api(info), "thumbs", self._poster_key, asset=int(self.id)) if self._poster_key else None

    @strawberry.field(description="URL of the filmstrip sprite: `filmstripFrames` tiles side by side.")
    def filmstrip_url(self, info: strawberry.Info) -> str | None:
        return playback_url(api(info), "thumbs", self._filmstrip_key, asset=int(self.id)) if self._filmstrip_key else None

    @strawberry.field(description="URL of the audio peaks file: `MPRPEAK1`, peaks per second and count "
                                  "(uint32 LE), then a (min, max) signed byte pair per 10 ms (see docs/analysis.md).")
    def waveform_url(self, info: strawberry.Info) -> str | None:
        return playback_url(api(info), "thumbs", self._waveform_key, asset=int(self.id)) if self._waveform_key else None


@strawberry.type(description="A named set of encoding choices; builtin presets are read-only.")
class TranscodePreset:
    id: strawberry.ID
    name: str
    description: str
    builtin: bool
    kind: str
    container: str
    video_codec: str
    crf: int | None
    video_bitrate: int | None
    speed_preset: str
    max_width: int | None
    max_height: int | None
    fps: float | None
    audio_codec: str
    audio_bitrate: int | None
    channels: int | None
    sample_rate: int | None
    loudness_target: float | None = strawberry.field(description="Integrated loudness the sound is normalised to, LUFS; null: not normalised.")
    true_peak_ceiling: float | None = strawberry.field(description="True-peak ceiling of the normalised sound, dBTP.")
    created_at: dt.datetime | None
    updated_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: dict) -> "TranscodePreset":
        return cls(
            id=strawberry.ID(str(row["id"])),
            name=row["name"],
            description=row["description"] or "",
            builtin=bool(row["builtin"]),
            kind=row["kind"],
            container=row["container"],
            video_codec=row["video_codec"] or "",
            crf=row["crf"],
            video_bitrate=row["video_bitrate"],
            speed_preset=row["speed_preset"] or "",
            max_width=row["max_width"],
            max_height=row["max_height"],
            fps=row["fps"],
            audio_codec=row["audio_codec"] or "",
            audio_bitrate=row["audio_bitrate"],
            channels=row["channels"],
            sample_rate=row["sample_rate"],
            loudness_target=row.get("loudness_target"),
            true_peak_ceiling=row.get("true_peak_ceiling"),
            created_at=row.get("created_at"),
            updated_at=row.get("updated_at"),
        )

    @strawberry.field(description='One readable line, e.g. "H.264 CRF 23 (veryfast), max 1280x720 · AAC 128 kbit/s · .mp4".')
    def summary(self) -> str:
        try:
            return summarize(PresetSpec.from_dict(self.__dict__))
        except Exception:  # a hand-edited row must not break a listing
            return self.name


@strawberry.type(description="One output of an output template: a preset plus its role.")
class TemplateOutput:
    role: str = strawberry.field(description="rendition | file | poster | storyboard")
    preset: JSON | None = strawberry.field(description="The preset's fields (null for a storyboard).")
    interval: float | None = strawberry.field(description="Storyboard: seconds between thumbnails.")

    @strawberry.field(description="One readable line about this output.")
    def summary(self) -> str:
        if self.preset is None:
            return f"storyboard, one thumbnail every {self.interval or 2:g} s"
        try:
            return f"{self.preset.get('name', '')}: {summarize(PresetSpec.from_dict(self.preset))}"
        except Exception:  # a hand-edited row must not break a listing
            return str(self.preset.get("name", ""))


@strawberry.type(description="A named list of outputs (renditions of a streaming package, files, a poster, "
                             "a storyboard); builtin templates are read-only.")
class OutputTemplate:
    id: strawberry.ID
    name: str
    description: str
    builtin: bool
    segment_seconds: float
    packaging: str = strawberry.field(description="hls+dash | hls | dash")
    outputs: list[TemplateOutput]
    created_at: dt.datetime | None
    updated_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: dict) -> "OutputTemplate":
        outputs = _json(row.get("outputs"), [])
        return cls(
            id=strawberry.ID(str(row["id"])), name=row["name"], description=row["description"] or "",
            builtin=bool(row["builtin"]), segment_seconds=row["segment_seconds"] or 4.0,
            packaging=row["packaging"] or "hls+dash",
            outputs=[TemplateOutput(role=str(o.get("role", "")), preset=o.get("preset"), interval=o.get("interval"))
                     for o in outputs if isinstance(o, dict)],
            created_at=row.get("created_at"), updated_at=row.get("updated_at"),
        )


@strawberry.type(description="One output of a several-output job: a rendition of its package, a file, "
                             "the poster or the storyboard.")
class JobOutput:
    name: str
    role: str
    kind: str
    status: str = strawberry.field(description="succeeded | skipped (a rendition above the source's size).")
    reason: str
    key: str | None = strawberry.field(description="Storage key in the output area (a media playlist for a rendition).")
    size: float | None = strawberry.field(description="Bytes (init + media segments for a rendition).")
    bitrate: float | None = strawberry.field(description="Average bit/s.")
    peak_bitrate: float | None = strawberry.field(description="Peak segment bit/s (the declared BANDWIDTH).")
    duration: float | None
    width: int | None
    height: int | None
    frame_rate: float | None
    segments: int | None
    codecs: str
    verification: str

    @classmethod
    def from_dict(cls, d: dict) -> "JobOutput":
        return cls(name=str(d.get("name", "")), role=str(d.get("role", "")), kind=str(d.get("kind") or ""),
                   status=str(d.get("status", "")), reason=str(d.get("reason") or ""), key=d.get("key"),
                   size=d.get("size"), bitrate=d.get("bitrate"), peak_bitrate=d.get("peak_bitrate"),
                   duration=d.get("duration"), width=d.get("width"), height=d.get("height"),
                   frame_rate=d.get("frame_rate"), segments=d.get("segments"), codecs=str(d.get("codecs") or ""),
                   verification=str(d.get("verification") or ""))

    @strawberry.field(description="URL of a file, poster or storyboard output (null for renditions: play playbackUrl).")
    def url(self, info: strawberry.Info) -> str | None:
        if not self.key or self.status != "succeeded" or self.role == "rendition":
            return None
        if self.role == "storyboard":
            return package_url(api(info), "out", self.key)
        return playback_url(api(info), "out", self.key)


@strawberry.type(description="One recorded status change of a job.")
class JobTransition:
    at: dt.datetime | None
    from_status: str
    to_status: str
    attempt: int
    reason: str

    @classmethod
    def from_row(cls, row: dict) -> "JobTransition":
        return cls(at=row["at"], from_status=row["from_status"] or "", to_status=row["to_status"],
                   attempt=row["attempt"], reason=row["reason"] or "")


@strawberry.type(description="A transcode or trim of one source asset with one preset.")
class TranscodeJob:
    id: strawberry.ID
    status: JobStatus
    progress: float = strawberry.field(description="Percent, 0–100.")
    fps: float | None
    speed: float | None = strawberry.field(description="× realtime.")
    eta_seconds: float | None
    attempt: int
    max_attempts: int
    priority: int
    executor: str
    error: str
    log_tail: str
    trim_start: float | None
    trim_end: float | None
    accurate_trim: bool
    output_filename: str
    output_key: str
    created_by_id: strawberry.ID | None = strawberry.field(description="The user who queued it (null: a tool).")
    created_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    updated_at: dt.datetime | None
    _source_id: strawberry.Private[int]
    _preset_id: strawberry.Private[int | None]
    _output_asset_id: strawberry.Private[int | None]
    _preset_snapshot: strawberry.Private[object]
    _plan: strawberry.Private[object]
    _template_id: strawberry.Private[int | None] = None
    _template_snapshot: strawberry.Private[object] = None
    _outputs: strawberry.Private[object] = None
    _playback_key: strawberry.Private[str] = ""
    _sequence_id: strawberry.Private[int | None] = None
    _sequence_snapshot: strawberry.Private[object] = None

    @classmethod
    def from_row(cls, row: dict) -> "TranscodeJob":
        return cls(
            id=strawberry.ID(str(row["id"])),
            status=JobStatus(row["status"]),
            progress=row["progress"] or 0.0,
            fps=row["fps"],
            speed=row["speed"],
            eta_seconds=row["eta_seconds"],
            attempt=row["attempt"],
            max_attempts=row["max_attempts"],
            priority=row["priority"],
            executor=row["executor"] or "",
            error=row["error"] or "",
            log_tail=row["log_tail"] or "",
            trim_start=row["trim_start"],
            trim_end=row["trim_end"],
            accurate_trim=bool(row["accurate_trim"]),
            output_filename=row["output_filename"] or "",
            output_key=row["output_key"] or "",
            created_by_id=_opt_id(row.get("created_by")),
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            updated_at=row["updated_at"],
            _source_id=row["source"],
            _preset_id=row["preset"],
            _output_asset_id=row["output_asset"],
            _preset_snapshot=row.get("preset_snapshot"),
            _plan=row.get("plan"),
            _template_id=row.get("template_id"),
            _template_snapshot=row.get("template_snapshot"),
            _outputs=row.get("outputs"),
            _playback_key=row.get("playback_key") or "",
            _sequence_id=row.get("sequence_id"),
            _sequence_snapshot=row.get("sequence_snapshot"),
        )

    @strawberry.field(description="Seconds the output should last (trim window).")
    def duration(self) -> float | None:
        if self.trim_start is None or self.trim_end is None:
            return None
        return max(self.trim_end - self.trim_start, 0.0)

    @strawberry.field
    def source(self, info: strawberry.Info) -> MediaAsset | None:
        return related(api(info).loaders.asset, self._source_id, MediaAsset)

    @strawberry.field(description="The registered output, once the job succeeded.")
    def output_asset(self, info: strawberry.Info) -> MediaAsset | None:
        return related(api(info).loaders.asset, self._output_asset_id, MediaAsset)

    @strawberry.field(description="The preset row (null if it was deleted; see presetSnapshot).")
    def preset(self, info: strawberry.Info) -> TranscodePreset | None:
        return related(api(info).loaders.preset, self._preset_id, TranscodePreset)

    @strawberry.field(description="The preset as it was when the job was created.")
    def preset_snapshot(self) -> JSON:
        return _json(self._preset_snapshot, {})

    @strawberry.field(description="How the trim is cut: keyframe, smart or accurate (as createJob's TrimMode).")
    def trim_mode(self) -> str:
        return job_trim_mode({"plan": _json(self._plan, {}), "accurate_trim": self.accurate_trim})

    @strawberry.field(description="How the job runs or ran (trim mode, chunks, …).")
    def plan(self) -> JSON:
        return _json(self._plan, {})

    @strawberry.field(description="Every status change, oldest first.")
    async def history(self, info: strawberry.Info) -> list[JobTransition]:
        rows = await api(info).loaders.history.load(int(self.id))
        return [JobTransition.from_row(r) for r in rows]

    def _single_output(self) -> bool:
        """A succeeded job with one output file (not a streaming package: one playlist alone is no download)."""
        return (self.status is JobStatus.SUCCEEDED and bool(self.output_key)
                and not self.output_key.endswith((".m3u8", ".mpd")))

    @strawberry.field(description="URL that plays the output, once it exists (null for a streaming package: see "
                                  "playbackUrl; null once the output asset was deleted: see outputDeleted).")
    def output_url(self, info: strawberry.Info) -> str | None:
        if not self._single_output() or self._output_asset_id is None:
            return None
        return playback_url(api(info), "out", self.output_key)

    @strawberry.field(description="URL that downloads the output (served as an attachment, so the browser saves "
                                  "it); null when outputUrl is.")
    def download_url(self, info: strawberry.Info) -> str | None:
        if not self._single_output() or self._output_asset_id is None:
            return None
        return download_url(api(info), "out", self.output_key, asset=self._output_asset_id)

    @strawberry.field(description="True when the job succeeded but its output was deleted from the library "
                                  "(deleteAsset): it has no outputUrl or downloadUrl any more.")
    def output_deleted(self) -> bool:
        return self._single_output() and self._output_asset_id is None


    @strawberry.field(description="The output template the job was made from (null for a one-preset job).")
    def template_id(self) -> strawberry.ID | None:
        return None if self._template_id is None else strawberry.ID(str(self._template_id))

    @strawberry.field(description="The output template as it was when the job was created ({} for a one-preset job).")
    def template_snapshot(self) -> JSON:
        return _json(self._template_snapshot, {})

    @strawberry.field(description="Each rendition/file of a template job, with its status, size, bitrate and "
                                  "verification (skipped renditions say why).")
    def outputs(self) -> list[JobOutput]:
        return [JobOutput.from_dict(o) for o in _json(self._outputs, []) if isinstance(o, dict)]

    @strawberry.field(description="The streaming package's master playlist (HLS; the DASH manifest for a "
                                  "DASH-only template), under a signed link that covers the package folder.")
    def playback_url(self, info: strawberry.Info) -> str | None:
        if self.status is not JobStatus.SUCCEEDED or not self._playback_key:
            return None
        return package_url(api(info), "out", self._playback_key)

    @strawberry.field(description="The sequence a sequence render came from (null for other jobs).")
    def sequence_id(self) -> strawberry.ID | None:
        return _opt_id(self._sequence_id)

    @strawberry.field(description="The sequence as it was when it was rendered: name and clips, each with its "
                                  "source's file and media info ({} for other jobs).")
    def sequence_snapshot(self) -> JSON:
        return _json(self._sequence_snapshot, {})

    @strawberry.field(description="The storyboard's WebVTT cues (sprite-sheet thumbnails), when the job made one.")
    def storyboard_url(self, info: strawberry.Info) -> str | None:
        if self.status is not JobStatus.SUCCEEDED:
            return None
        board = next((o for o in _json(self._outputs, []) if isinstance(o, dict) and o.get("role") == "storyboard"
                      and o.get("key")), None)
        return package_url(api(info), "out", board["key"]) if board else None


@strawberry.type(description="One clip of a sequence: start..end seconds of an asset.")
class SequenceClip:
    source_id: strawberry.ID
    start: float
    end: float

    @strawberry.field(description="end - start, seconds.")
    def duration(self) -> float:
        return round(self.end - self.start, 6)

    @strawberry.field(description="The clip's asset (null if it was deleted).")
    def source(self, info: strawberry.Info) -> MediaAsset | None:
        return related(api(info).loaders.asset, int(self.source_id), MediaAsset)


@strawberry.type(description="A saved edit: clips of one or more assets laid end to end (docs/sequences.md).")
class Sequence:
    id: strawberry.ID
    name: str
    clips: list[SequenceClip]
    created_by_id: strawberry.ID | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: dict) -> "Sequence":
        clips = [SequenceClip(source_id=strawberry.ID(str(c["sourceId"])), start=float(c["start"]), end=float(c["end"]))
                 for c in _json(row.get("clips"), []) if isinstance(c, dict)]
        return cls(id=strawberry.ID(str(row["id"])), name=row["name"], clips=clips,
                   created_by_id=_opt_id(row.get("created_by")), created_at=row.get("created_at"),
                   updated_at=row.get("updated_at"))

    @strawberry.field(description="Seconds of all clips together.")
    def duration(self) -> float:
        return round(sum(c.end - c.start for c in self.clips), 6)

    @strawberry.field(description="Whether the clips could be joined by stream copy (same codec parameters, every "
                                  "clip starting on a keyframe) and why not; renders re-encode today.")
    async def stream_copy(self, info: strawberry.Info) -> SequenceStreamCopy:
        loader = api(info).loaders.asset
        ids = sorted({int(c.source_id) for c in self.clips})
        rows = {i: row for i, row in zip(ids, await loader.load_many(ids)) if row}
        check = stream_copy_check([{"sourceId": c.source_id, "start": c.start, "end": c.end} for c in self.clips],
                                  rows)
        return SequenceStreamCopy(possible=check.possible, reasons=check.reasons)


@strawberry.type(description="Whether a sequence could be joined without re-encoding (docs/sequences.md).")
class SequenceStreamCopy:
    possible: bool
    reasons: list[str] = strawberry.field(description="Why not, one line per problem (empty when possible).")


@strawberry.type(description="What importSequence did with one clip of the timeline.")
class ImportedClip:
    index: int
    name: str = strawberry.field(description="The file name the clip refers to.")
    reel: str = strawberry.field(description="Its EDL reel name, if any.")
    start: float
    end: float
    matched: bool
    source_id: strawberry.ID | None
    message: str = strawberry.field(description="Why it was not imported (empty when it was).")


@strawberry.type(description="The imported sequence and, per clip of the timeline, whether its media matched an asset.")
class ImportSequenceResult:
    sequence: Sequence
    clips: list[ImportedClip]
    unmatched: int


@strawberry.type(description="What a trim will do, from the source's keyframes (the trimPlan query).")
class TrimPlan:
    mode: str = strawberry.field(description="keyframe, smart or accurate")
    description: str = strawberry.field(description='e.g. "re-encodes 0.47 s at the start and 0.20 s at the end, copies 58.3 s"')
    head_seconds: float
    tail_seconds: float
    copy_seconds: float
    encode_seconds: float
    frames: int | None
    fallback: str = strawberry.field(description="Why a smart cut re-encodes the whole range (empty when it does not).")


@strawberry.type(description="A job's status or progress changed (pushed by the jobUpdates subscription).")
class JobUpdate:
    job_id: strawberry.ID
    status: JobStatus
    progress: float
    fps: float | None
    speed: float | None
    eta_seconds: float | None
    attempt: int
    error: str

    @strawberry.field(description="The whole job as it is now (one extra query).")
    async def job(self, info: strawberry.Info) -> TranscodeJob | None:
        row = await JobTable.select().where(JobTable.id == int(self.job_id)).first()
        return TranscodeJob.from_row(row) if row else None


@strawberry.type
class StatusCount:
    status: JobStatus
    count: int


@strawberry.type(description="What this installation is and how busy it is (each field costs only when asked).")
class SystemStatus:
    executor: str
    workers: int
    storage: str
    database: str
    executor_alive: bool | None = strawberry.field(description="Null when this process runs no executor.")

    @strawberry.field(description="Jobs per status, every status listed.")
    async def job_counts(self) -> list[StatusCount]:
        rows = await JobTable.raw("SELECT status, COUNT(*) AS n FROM transcode_job GROUP BY status")
        counts = {r["status"]: int(r["n"]) for r in rows}
        return [StatusCount(status=s, count=counts.get(s.value, 0)) for s in JobStatus]

    @strawberry.field
    async def asset_count(self) -> int:
        return int(await AssetTable.count())

    @strawberry.field
    async def ffmpeg_version(self) -> str:
        return await system.ffmpeg_version_async()


@strawberry.type(description="What deleteAsset / deletePreset removed.")
class DeleteResult:
    id: strawberry.ID
    deleted: bool
    removed_files: list[str] = strawberry.field(description="Storage keys removed, as area/key.")
    removed_jobs: int
    message: str


@strawberry.type(description="Jobs deleted by deleteJob or deleteFinishedJobs.")
class JobDeletion:
    ids: list[strawberry.ID]
    count: int


@strawberry.type(description="What scanMediaFolder found.")
class ScanResult:
    added: int
    updated: int
    unchanged: int
    errors: int
    skipped: list[str]
    _asset_ids: strawberry.Private[list[int]]

    @strawberry.field(description="Every asset the scanned files map to.")
    async def assets(self, info: strawberry.Info) -> list[MediaAsset]:
        rows = await api(info).loaders.asset.load_many(self._asset_ids)
        return [MediaAsset.from_row(r) for r in rows if r]


@strawberry.type(description="A file a scan could not register as usable media, and why.")
class ScanFileError:
    key: str = strawberry.field(description="The file's path under the input folder.")
    message: str
    asset_id: strawberry.ID | None = strawberry.field(description="Its asset (status ERROR), if one was written.")


@strawberry.type(description="A folder scan running in the background (startMediaScan): `probed` of `total` files "
                             "to probe so far; `state` listing | probing | applying (the rules) | done | failed.")
class MediaScan:
    id: strawberry.ID
    prefix: str
    state: str
    total: int
    probed: int
    added: int
    updated: int
    unchanged: int
    errors: int
    skipped: int
    file_errors: list[ScanFileError]
    error: str = strawberry.field(description="Why the whole scan failed (state failed), else ''.")
    started_at: dt.datetime
    finished_at: dt.datetime | None

    @classmethod
    def from_run(cls, run) -> "MediaScan":
        return cls(
            id=strawberry.ID(run.id), prefix=run.prefix, state=run.state, total=run.total, probed=run.probed,
            added=run.added, updated=run.updated, unchanged=run.unchanged, errors=run.errors, skipped=run.skipped,
            file_errors=[ScanFileError(key=e.key, message=e.message,
                                       asset_id=strawberry.ID(str(e.asset_id)) if e.asset_id is not None else None)
                         for e in run.file_errors],
            error=run.error, started_at=run.started_at, finished_at=run.finished_at,
        )


# ------------------------------------------------------------------ cursor pagination
Node = TypeVar("Node")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[Node]):
    cursor: str
    node: Node


@strawberry.type(description="One page; pass pageInfo.endCursor as `after` for the next.")
class Connection(Generic[Node]):
    edges: list[Edge[Node]]
    page_info: PageInfo
    _count: strawberry.Private[object]  # async () -> int, run only when totalCount is asked

    @strawberry.field
    def nodes(self) -> list[Node]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="Rows matching the filters, all pages (costs a COUNT query).")
    async def total_count(self) -> int:
        return await self._count()
