"""An asset row as the `MediaInfo` (and stored loudness) that `backend.media` works with."""
from __future__ import annotations

from backend.catalog.tables import MediaAsset
from backend.media.probe import AudioInfo, Loudness, MediaInfo, VideoInfo


def loudness_of(row: MediaAsset | dict) -> Loudness | None:
    """The stored EBU R128 measurement of an asset row (instance or `.select()` dict), if any."""
    get = row.get if isinstance(row, dict) else lambda name, default=None: getattr(row, name, default)
    values = [get(n) for n in ("loudness_integrated", "loudness_threshold", "loudness_range",
                               "loudness_true_peak")]
    if any(v is None for v in values):
        return None
    return Loudness(*(float(v) for v in values))


# B-frame reordering assumed for assets probed before it was recorded: x264's default pyramid.
# Too high costs a stream copy a frame or two past the out point; too low, a GOP at its start.
ASSUMED_REORDER_DELAY = 2


def _reorder_delay(value) -> int:
    return ASSUMED_REORDER_DELAY if value is None else int(value)


def media_info_from_asset(row: MediaAsset | dict) -> MediaInfo:
    """The MediaInfo stored on an asset row (instance or `.select()` dict); ValueError if never probed."""
    get = row.get if isinstance(row, dict) else lambda name, default=None: getattr(row, name, default)
    if get("duration") is None:
        raise ValueError(f"asset {get('id')} has no media metadata (status {get('status')!r})")
    video = None
    if get("video_codec"):
        video = VideoInfo(
            codec=get("video_codec"), width=get("width") or 0, height=get("height") or 0,
            fps=get("frame_rate") or 0.0, rotation=get("rotation") or 0, pix_fmt=get("pix_fmt") or "",
            nb_frames=None, reorder_delay=_reorder_delay(get("reorder_delay")),
        )
    audio = None
    if get("audio_codec"):
        audio = AudioInfo(
            codec=get("audio_codec"), channels=get("audio_channels") or 0,
            sample_rate=get("audio_sample_rate") or 0,
        )
    return MediaInfo(
        format_name=get("container") or "", duration=get("duration"), size=get("size") or 0,
        bit_rate=get("bitrate"), video=video, audio=audio, loudness=loudness_of(row) if audio else None,
    )
