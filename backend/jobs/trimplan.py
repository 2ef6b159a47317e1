"""What a trim will do before it runs (the `trimPlan` query): for the smart mode, how many
seconds are re-encoded at the start and end and how many copied, computed from the source's own
keyframes (`backend.media.smartcut`); for the other modes, the one-line rule they follow.

The keyframe index is read once per source file (one ffprobe of the packets, no decode) and kept
in a small cache keyed by the source location, size and modification time.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass

from backend.catalog.ingest import media_info_from_asset
from backend.catalog.statuses import READY
from backend.catalog.tables import MediaAsset, TranscodePreset
from backend.catalog.presets import preset_spec_from_row
from backend.jobs.errors import DomainError, not_found
from backend.jobs.service import check_trim_mode, validate_trim
from backend.media.presets import PresetSpec
from backend.media.probe import ProbeError, keyframe_lead
from backend.media.smartcut import SmartCutError, VideoStream, plan_smartcut, read_stream
from backend.storage import Storages

CACHE_SIZE = 8
_streams: OrderedDict[tuple, VideoStream] = OrderedDict()
COPY = PresetSpec("smart cut", "copy", "mp4")


@dataclass
class TrimPlan:
    mode: str
    description: str
    head_seconds: float = 0.0
    tail_seconds: float = 0.0
    copy_seconds: float = 0.0
    encode_seconds: float = 0.0
    frames: int | None = None
    fallback: str = ""


async def _stream(storages: Storages, asset: dict) -> VideoStream:
    storage = storages.get(asset["storage_area"])
    target = storage.probe_source(asset["storage_key"])
    key = (asset["storage_area"], asset["storage_key"], asset["size"], str(asset.get("updated_at") or ""))
    if key in _streams:
        _streams.move_to_end(key)
        return _streams[key]
    stream = await asyncio.to_thread(read_stream, target)
    _streams[key] = stream
    while len(_streams) > CACHE_SIZE:
        _streams.popitem(last=False)
    return stream


async def trim_plan(storages: Storages, *, source_id: int, start: float | None, end: float | None,
                    mode: str | None, preset_id: int | None = None) -> TrimPlan:
    """The plan of cutting asset `source_id` from `start` to `end` in `mode` (default: smart)."""
    asset = await MediaAsset.select().where(MediaAsset.id == source_id).first()
    if asset is None:
        raise not_found("asset", source_id)
    if asset["status"] != READY or not asset["duration"]:
        raise DomainError("ASSET_NOT_READY", f"asset {asset['filename']!r} is {asset['status']}; choose a ready asset")
    spec = COPY
    if preset_id is not None:
        row = await TranscodePreset.select().where(TranscodePreset.id == preset_id).first()
        if row is None:
            raise not_found("preset", preset_id)
        spec = preset_spec_from_row(row)
    info = media_info_from_asset(asset)
    a, b = validate_trim(start, end, asset["duration"], asset["frame_rate"])
    mode = check_trim_mode(mode or ("smart" if spec.kind == "copy" else None), spec, info)
    if mode == "accurate":
        return TrimPlan(mode, f"re-encodes all {b - a:.2f} s (frame accurate)", encode_seconds=b - a)
    try:
        if mode == "keyframe":
            target = storages.get(asset["storage_area"]).probe_source(asset["storage_key"])
            lead = await asyncio.to_thread(keyframe_lead, target, a)
            early = f"{lead:.2f} s before the in point" if lead else "at the in point"
            return TrimPlan(mode, f"copies {b - a + (lead or 0):.1f} s without re-encoding, starting at the "
                                  f"keyframe {early}", copy_seconds=b - a + (lead or 0))
        plan = plan_smartcut(await _stream(storages, asset), a, b, spec.container)
    except (ProbeError, SmartCutError) as exc:
        raise DomainError("INVALID_TRIM", f"cannot plan this cut: {exc}") from exc
    return TrimPlan(mode, plan.describe(), plan.head_seconds, plan.tail_seconds, plan.copy_seconds,
                    plan.encode_seconds, plan.frames, plan.fallback)
