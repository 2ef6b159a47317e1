"""Could this sequence be joined by stream copy (no re-encode)? The rule, once, with its reasons.

A sequence joins by stream copy only when every clip's source shares the codec parameters a
decoder needs to run on across a cut (video codec, size, frame rate, pixel format; audio codec,
sample rate and channels, or no audio in any of them) and every clip starts on a keyframe of its
source (a copied clip starting between keyframes would begin with frames that reference pictures
it does not carry). Keyframe times come from the source's analysis (`MediaAsset.keyframes`); a
source not analysed yet cannot be judged.

`renderSequence` re-encodes every clip today (docs/sequences.md); this check is what the UI shows
next to Render (GraphQL `Sequence.streamCopy`), and what a stream-copy render mode would require.
"""
from __future__ import annotations

import bisect
import dataclasses
import json

from backend.jobs.service import timecode


@dataclasses.dataclass(frozen=True)
class StreamCopyCheck:
    possible: bool
    reasons: list[str]  # why not, one line per problem (empty when possible)


def _params(asset: dict) -> dict:
    rate = asset.get("frame_rate")
    return {"video": asset.get("video_codec") or "", "size": (asset.get("width"), asset.get("height")),
            "fps": round(float(rate), 3) if rate else None, "pix_fmt": asset.get("pix_fmt") or "",
            "audio": asset.get("audio_codec") or "",
            "audio_rate": asset.get("audio_sample_rate") if asset.get("audio_codec") else None,
            "channels": asset.get("audio_channels") if asset.get("audio_codec") else None}


def _describe(p: dict) -> str:
    w, h = p["size"]
    audio = f"{p['audio']} {p['audio_rate']} Hz {p['channels']} ch" if p["audio"] else "no audio"
    return f"{p['video'] or '?'} {w}×{h} {p['fps'] or '?'} fps {p['pix_fmt'] or '?'}, {audio}"


def _keyframes(asset: dict) -> list[float]:
    value = asset.get("keyframes")
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return sorted(float(t) for t in value or [])


def _on_keyframe(start: float, keyframes: list[float], fps: float | None) -> tuple[bool, float | None, float | None]:
    """(start is a keyframe within half a frame, the keyframe before, the keyframe after)."""
    half = 0.5 / fps if fps else 0.02
    if start <= half:
        return True, 0.0, None  # a file starts with a keyframe
    i = bisect.bisect_left(keyframes, start - half)
    after = keyframes[i] if i < len(keyframes) else None
    before = keyframes[i - 1] if i > 0 else None
    return (after is not None and abs(after - start) <= half), before, after


def stream_copy_check(clips: list[dict], assets: dict[int, dict]) -> StreamCopyCheck:
    """`clips`: [{sourceId, start, end}] in play order; `assets`: MediaAsset rows by id."""
    if not clips:
        return StreamCopyCheck(False, ["the sequence has no clips"])
    reasons: list[str] = []
    first = None
    for index, clip in enumerate(clips, start=1):
        asset = assets.get(int(clip["sourceId"]))
        if asset is None:
            reasons.append(f"clip {index}: its asset no longer exists")
            continue
        name = asset.get("filename") or f"asset {asset.get('id')}"
        params = _params(asset)
        if first is None:
            first = (index, params)
        elif params != first[1]:
            reasons.append(f"clip {index} ({name}) is {_describe(params)}; clip {first[0]} is {_describe(first[1])}")
        start = float(clip["start"])
        keyframes = _keyframes(asset)
        if not keyframes and start > 0:
            reasons.append(f"clip {index} ({name}): its source's keyframes are not known yet (not analysed)")
            continue
        on, before, after = _on_keyframe(start, keyframes, params["fps"])
        if not on:
            around = " and ".join(timecode(t) for t in (before, after) if t is not None)
            reasons.append(f"clip {index} ({name}) starts at {timecode(start)}, between keyframes"
                           + (f" ({around})" if around else ""))
    return StreamCopyCheck(not reasons, reasons)
