"""Sequences to and from editing tools: `export_sequence` (a saved sequence as otio | edl | fcpxml |
xml text) and `import_sequence` (such a text into a new sequence, matching every clip's media to
an asset by file name and reporting, per clip, what did not match). The format work is
`backend.media.interchange` (OpenTimelineIO, no database); this module adds the assets.

Timeline rate: the highest frame rate among the sequence's sources, so every clip's range is whole
frames of the output and a round trip gives the same clips to the frame. An EDL without a rate is
read at the first standard rate that fits (media.interchange.EDL_RATES) unless `rate` is given.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from backend.catalog.statuses import READY
from backend.catalog.tables import MediaAsset
from backend.jobs import sequences
from backend.jobs.errors import DomainError
from backend.media.interchange import InterchangeError, TimelineClip, file_name, read_timeline, write_timeline

DEFAULT_RATE = 25.0


@dataclass
class ImportReport:
    sequence: dict | None
    clips: list[dict] = field(default_factory=list)  # per clip: index, name, matched, sourceId, start, end, message

    @property
    def unmatched(self) -> int:
        return sum(1 for c in self.clips if not c["matched"])


def _rate(assets) -> float:
    rates = [a["frame_rate"] for a in assets if a.get("frame_rate")]
    return float(max(rates)) if rates else DEFAULT_RATE


async def export_sequence(sequence_id: int, fmt: str) -> str:
    row = await sequences.load(sequence_id)
    clips = sequences.clips_of(row)
    if not clips:
        raise DomainError("INVALID_SEQUENCE", f"sequence {row['name']!r} has no clips to export")
    ids = sorted({int(c["sourceId"]) for c in clips})
    assets = {a["id"]: a for a in await MediaAsset.select().where(MediaAsset.id.is_in(ids))}
    missing = [c["sourceId"] for c in clips if int(c["sourceId"]) not in assets]
    if missing:
        raise DomainError("INVALID_SEQUENCE", f"the sequence uses deleted assets ({', '.join(map(str, missing))})")
    rate = _rate(assets.values())
    timeline = [TimelineClip(name=assets[int(c["sourceId"])]["filename"], start=float(c["start"]), end=float(c["end"]),
                             url=assets[int(c["sourceId"])]["storage_key"],
                             duration=assets[int(c["sourceId"])]["duration"]) for c in clips]
    try:
        return write_timeline(row["name"], timeline, rate, fmt)
    except InterchangeError as exc:
        raise DomainError("INVALID_INPUT", str(exc)) from None


def _index(assets: list[dict]) -> dict[str, dict]:
    """Ready video assets by file name (display name and stored file name; exact, then lower case)."""
    found: dict[str, dict] = {}
    for asset in sorted(assets, key=lambda a: a["id"]):  # the oldest asset of a name wins
        for name in (asset["filename"], posixpath.basename(asset["storage_key"] or "")):
            if name:
                found.setdefault(name, asset)
                found.setdefault(name.lower(), asset)
    return found


async def import_sequence(name: str | None, fmt: str, content: str, *, rate: float | None = None,
                          created_by: int | None = None) -> ImportReport:
    """A new sequence from `content`: the clips whose media matched an asset, in order; the report
    says for each clip whether it matched and, if not, why. Nothing matched: no sequence is made."""
    try:
        title, clips = read_timeline(content, fmt, rate)
    except InterchangeError as exc:
        raise DomainError("INVALID_INPUT", str(exc)) from None
    assets = await MediaAsset.select().where((MediaAsset.status == READY) & (MediaAsset.video_codec != ""))
    index = _index(assets)
    report = ImportReport(sequence=None)
    kept: list[dict] = []
    for i, clip in enumerate(clips):
        wanted = file_name(clip)
        asset = index.get(wanted) or index.get(wanted.lower()) or index.get(clip.name) or index.get(clip.name.lower())
        entry = {"index": i, "name": wanted, "reel": clip.reel, "start": clip.start, "end": clip.end,
                 "matched": asset is not None, "sourceId": asset["id"] if asset else None, "message": ""}
        if asset is None:
            what = f"reel {clip.reel!r}, " if clip.reel else ""
            entry["message"] = f"no ready video asset named {wanted!r} ({what}clip {i + 1}); upload or scan it first"
        else:
            try:
                checked, _ = await sequences.check_clips([{"sourceId": asset["id"], "start": clip.start, "end": clip.end}])
                kept.append(checked[0])
                entry.update(start=checked[0]["start"], end=checked[0]["end"])
            except DomainError as exc:
                entry.update(matched=False, message=exc.message.replace("clip 1", f"clip {i + 1}", 1))
        report.clips.append(entry)
    if not kept:
        raise DomainError("INVALID_SEQUENCE", "no clip of the timeline matched a ready asset: "
                          + "; ".join(c["message"] for c in report.clips[:5]))
    report.sequence = await sequences.create_sequence(name or title or "imported sequence", kept, created_by)
    return report
