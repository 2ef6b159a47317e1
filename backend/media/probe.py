"""ffprobe → typed `MediaInfo`, refusing files ffprobe itself would wave through.

ffprobe exits 0 on many damaged inputs, so besides its exit status this module checks that
there is an audio or video stream, a duration, and — without decoding — that the data really
reaches the end the container claims: one ffprobe call also lists the packets after a seek to
the end (`-read_intervals`), and a last packet that ends well before the container duration
(or a "partial file" warning) means the file is truncated. One call, ~20 ms for a local file.
"""
from __future__ import annotations

import asyncio
import math
import json
import os
import subprocess
from dataclasses import asdict, dataclass, field, fields
from fractions import Fraction
from pathlib import Path
from typing import Any

from . import limits
from .binaries import ffprobe_path
from .paths import display_name, ff_target, is_url
from .webp import WebPError, webp_info

# Codecs of still images / image animations: a zero duration is fine for these.
IMAGE_CODECS = frozenset({"mjpeg", "png", "gif", "webp", "bmp", "tiff", "jpegls", "jpeg2000"})
_TRUNCATION_MARKERS = ("partial file", "File ended prematurely", "moov atom not found")
_SEEK_TO_END = "999999"  # -read_intervals start: seeks to the last keyframe, reads to EOF


class ProbeError(Exception):
    """The input is not a usable media file; str(e) says why in words a person understands."""


class NotMediaError(ProbeError):
    """ffprobe finds no audio, video or picture at all (text, HTML, an archive…), as opposed to
    damaged media: uploads of such files are refused instead of kept as assets in error."""


def _failure(reason: str) -> ProbeError:
    return NotMediaError(reason) if reason.startswith("not a media file") else ProbeError(reason)


def _looks_like_text(src) -> bool:
    """Whether a local file starts like text or markup (HTML, SVG, XML, script) rather than binary."""
    if is_url(src):
        return False
    try:
        with open(os.fspath(src), "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return False
    return True


class _AnimatedWebP(Exception):
    """ffprobe found a WebP it cannot size (animated WebP has no decoder in ffmpeg)."""


MAX_WEBP_DOWNLOAD = 64 * 1024 * 1024


@dataclass(frozen=True)
class VideoInfo:
    codec: str
    width: int
    height: int
    fps: float
    rotation: int = 0  # clockwise degrees a player turns the picture: 0, 90, 180 or 270
    pix_fmt: str = ""
    nb_frames: int | None = None
    # frames a packet's decode time may run ahead of its presentation (ffprobe's has_b_frames)
    reorder_delay: int = 0
    # seconds of the video stream itself when the container says (an MP4 track's); for checking a
    # stream copy's video start only, not kept by the catalog, so not part of equality
    duration: float | None = field(default=None, compare=False)

    @property
    def display_width(self) -> int:
        return self.height if self.rotation in (90, 270) else self.width

    @property
    def display_height(self) -> int:
        return self.width if self.rotation in (90, 270) else self.height


@dataclass(frozen=True)
class AudioInfo:
    codec: str
    channels: int
    sample_rate: int
    # bits/s of the stream when the container says; for chunked jobs' audio copy only, not kept by
    # the catalog, so not part of equality
    bit_rate: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Loudness:
    """EBU R128 measurement of a file's audio (`backend.media.analysis`): integrated loudness
    (LUFS), its gating threshold (LUFS), loudness range (LU) and true peak (dBTP)."""

    integrated: float
    threshold: float
    range: float
    true_peak: float


@dataclass(frozen=True)
class MediaInfo:
    format_name: str
    duration: float
    size: int
    bit_rate: int | None = None
    video: VideoInfo | None = None
    audio: AudioInfo | None = None
    loudness: Loudness | None = None  # known after analysis; used by loudness-normalising presets

    @property
    def has_video(self) -> bool:
        return self.video is not None

    @property
    def has_audio(self) -> bool:
        return self.audio is not None

    @property
    def is_image(self) -> bool:
        """A still picture or an image animation (jpg, png, gif, webp) rather than a video."""
        return self.video is not None and self.audio is None and self.video.codec in IMAGE_CODECS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MediaInfo":
        def pick(klass, data):
            if data is None:
                return None
            if isinstance(data, klass):
                return data
            names = {f.name for f in fields(klass)}
            return klass(**{k: v for k, v in data.items() if k in names})

        names = {f.name for f in fields(cls)} - {"video", "audio", "loudness"}
        base = {k: v for k, v in d.items() if k in names}
        return cls(**base, video=pick(VideoInfo, d.get("video")), audio=pick(AudioInfo, d.get("audio")),
                   loudness=pick(Loudness, d.get("loudness")))


# ---------------------------------------------------------------- ffprobe invocation

_ENTRIES = (
    "format=format_name,duration,size,bit_rate,start_time"
    ":stream=index,codec_type,codec_name,width,height,avg_frame_rate,r_frame_rate,pix_fmt,"
    "nb_frames,has_b_frames,channels,sample_rate,duration,bit_rate"
    ":stream_tags=rotate:stream_side_data=rotation:stream_disposition=attached_pic"
    ":packet=stream_index,pts_time,dts_time,duration_time,pos,size"
)


def probe_argv(target: str, seek: bool = True) -> list[str]:
    """ffprobe argv; `seek=False` lists every packet (for inputs that cannot seek, e.g. one JPEG)."""
    interval = ["-read_intervals", _SEEK_TO_END] if seek else []
    return [
        ffprobe_path(), "-hide_banner", "-v", "warning", "-of", "json",
        "-show_entries", _ENTRIES, *interval, target,
    ]


def _seek_failed(rc: int, stderr: str) -> bool:
    return rc != 0 and "Could not read packets in interval" in stderr


def _precheck(src) -> None:
    if is_url(src):
        return
    path = Path(os.fspath(src))
    name = path.name
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ProbeError(f"file not found: {name}") from None
    except PermissionError:
        raise ProbeError(f"permission denied: {name}") from None
    if path.is_dir():
        raise ProbeError(f"{name} is a directory, not a media file")
    if st.st_size == 0:
        raise ProbeError("empty file (0 bytes)")


_MP4_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"pnot", b"styp", b"sidx"}


def _looks_like_mp4(src) -> bool:
    """Whether a local file starts with an ISO-BMFF box (unknown for URLs: assume yes)."""
    if is_url(src):
        return True
    try:
        with open(os.fspath(src), "rb") as fh:
            head = fh.read(8)
    except OSError:
        return True
    return len(head) == 8 and head[4:8] in _MP4_BOXES


def _stderr_reason(stderr: str, src=None) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    text = "\n".join(lines)
    if "moov atom not found" in text:
        if not _looks_like_mp4(src):
            return "not a media file (named like an MP4 but has no MP4 structure)"
        return "truncated or incomplete MP4/MOV (moov atom not found)"
    if "Invalid data found when processing input" in text:
        return "not a media file (ffprobe: invalid data found when processing input)"
    if "No such file or directory" in text:
        return "file not found"
    if "Permission denied" in text:
        return "permission denied"
    for ln in reversed(lines):
        if "Server returned" in ln or "HTTP error" in ln:
            return f"could not read URL ({ln.split(': ', 1)[-1]})"
    last = lines[-1] if lines else "no output"
    # "[mov,mp4 @ 0x...] message" / "path: message" -> message
    if last.startswith("[") and "] " in last:
        last = last.split("] ", 1)[1]
    return f"ffprobe failed: {last.split(': ', 1)[-1] if ': ' in last else last}"


def _num(value, kind=float):
    if value in (None, "", "N/A"):
        return None
    try:
        return kind(value) if kind is not int else int(float(value))
    except (TypeError, ValueError):
        return None


def _rate(text: str | None) -> float:
    if not text or text in ("0/0", "N/A"):
        return 0.0
    try:
        return float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        return 0.0


def _rotation(stream: dict) -> int:
    for sd in stream.get("side_data_list") or []:
        if "rotation" in sd:
            # display matrix angle is counter-clockwise; report the clockwise turn a player applies
            return int(round(-float(sd["rotation"]))) % 360
    tag = (stream.get("tags") or {}).get("rotate")
    if tag not in (None, ""):
        try:
            return int(round(float(tag))) % 360
        except ValueError:
            pass
    return 0


def _parse(out: str, stderr: str, src, strict: bool = True) -> MediaInfo:
    try:
        data = json.loads(out or "{}")
    except json.JSONDecodeError:
        raise ProbeError("ffprobe returned unreadable output") from None
    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    vstream = next(
        (s for s in streams if s.get("codec_type") == "video"
         and not (s.get("disposition") or {}).get("attached_pic")),
        None,
    )
    astream = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if vstream is None and astream is None:
        if not fmt and not streams:
            raise NotMediaError("not a media file")
        raise NotMediaError("not a media file: no audio or video streams")

    video = None
    if vstream is not None and vstream.get("codec_name") == "webp" and not vstream.get("width"):
        raise _AnimatedWebP()
    if vstream is not None:
        width, height = _num(vstream.get("width"), int) or 0, _num(vstream.get("height"), int) or 0
        if width <= 0 or height <= 0:
            if _looks_like_text(src):  # e.g. HTML or SVG markup named like a picture
                raise NotMediaError("not a media file (text or markup, named like a picture)")
            raise ProbeError("video stream has no picture size (damaged or unsupported)")
        fps = _rate(vstream.get("avg_frame_rate")) or _rate(vstream.get("r_frame_rate"))
        video = VideoInfo(
            codec=vstream.get("codec_name") or "unknown",
            width=width, height=height, fps=round(fps, 3),
            rotation=_rotation(vstream),
            pix_fmt=vstream.get("pix_fmt") or "",
            nb_frames=_num(vstream.get("nb_frames"), int),
            reorder_delay=_num(vstream.get("has_b_frames"), int) or 0,
            duration=_num(vstream.get("duration")),
        )
    audio = None
    if astream is not None:
        audio = AudioInfo(
            codec=astream.get("codec_name") or "unknown",
            channels=_num(astream.get("channels"), int) or 0,
            sample_rate=_num(astream.get("sample_rate"), int) or 0,
            bit_rate=_num(astream.get("bit_rate"), int),
        )

    duration = _num(fmt.get("duration"))
    if not duration:
        durations = [_num(s.get("duration")) for s in (vstream, astream) if s]
        duration = max([d for d in durations if d] or [0.0])
    size = _num(fmt.get("size"), int)
    if size is None and not is_url(src):
        size = Path(os.fspath(src)).stat().st_size
    info = MediaInfo(
        format_name=fmt.get("format_name") or "",
        duration=round(float(duration or 0.0), 6),
        size=size or 0,
        bit_rate=_num(fmt.get("bit_rate"), int),
        video=video,
        audio=audio,
    )
    if info.is_image or not strict:
        return info
    if info.duration <= 0:
        raise ProbeError("no duration: not a playable audio/video file")
    _check_complete(info, data.get("packets") or [], stderr, _num(fmt.get("start_time")) or 0.0)
    return info


def _check_complete(info: MediaInfo, packets: list[dict], stderr: str, start: float) -> None:
    for marker in _TRUNCATION_MARKERS:
        if marker.lower() in stderr.lower():
            raise ProbeError(f"truncated file ({marker}; container says {info.duration:.2f} s)")
    if not packets:
        raise ProbeError(
            f"truncated file: no data could be read near the end (container says {info.duration:.2f} s)"
        )
    if "Estimating duration from bitrate" in stderr:
        return  # the container has no real duration (raw AAC/MP3): nothing to compare against
    last_end = 0.0
    for p in packets:
        t = _num(p.get("pts_time"))
        if t is None:
            t = _num(p.get("dts_time"))
        if t is None:
            continue
        last_end = max(last_end, t + (_num(p.get("duration_time")) or 0.0))
    reached = last_end - start
    tolerance = max(0.5, min(0.02 * info.duration, 5.0))
    if info.duration - reached > tolerance:
        raise ProbeError(
            f"truncated file: data ends at {max(reached, 0):.2f} s but the container says "
            f"{info.duration:.2f} s"
        )


def probe(path_or_url, timeout: float | None = None, *, strict: bool = True) -> MediaInfo:
    """Probe a local file or an http(s) URL; raise ProbeError with a readable reason.

    `strict=False` skips the duration and truncation checks (used to describe outputs).
    """
    timeout = timeout or limits.LIMITS.probe_timeout  # MPR_PROBE_TIMEOUT
    _precheck(path_or_url)
    target = ff_target(path_or_url)
    try:
        proc = subprocess.run(
            probe_argv(target), capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL, errors="replace", **limits.probe_spawn_options(),
        )
        if _seek_failed(proc.returncode, proc.stderr):
            proc = subprocess.run(
                probe_argv(target, seek=False), capture_output=True, text=True, timeout=timeout,
                stdin=subprocess.DEVNULL, errors="replace", **limits.probe_spawn_options(),
            )
    except subprocess.TimeoutExpired:
        raise ProbeError(f"ffprobe timed out after {timeout:g} s on {display_name(path_or_url)}") from None
    if proc.returncode != 0:
        raise _failure(_stderr_reason(proc.stderr, path_or_url))
    try:
        return _parse(proc.stdout, proc.stderr, path_or_url, strict)
    except _AnimatedWebP:
        return webp_media_info(path_or_url, timeout)


async def _run_async(argv: list[str], timeout: float) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, **limits.probe_spawn_options(),
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


async def probe_async(path_or_url, timeout: float | None = None, *, strict: bool = True) -> MediaInfo:
    """`probe` without blocking the event loop."""
    timeout = timeout or limits.LIMITS.probe_timeout  # MPR_PROBE_TIMEOUT
    _precheck(path_or_url)
    target = ff_target(path_or_url)
    try:
        rc, out, err = await _run_async(probe_argv(target), timeout)
        if _seek_failed(rc, err):
            rc, out, err = await _run_async(probe_argv(target, seek=False), timeout)
    except asyncio.TimeoutError:
        raise ProbeError(f"ffprobe timed out after {timeout:g} s on {display_name(path_or_url)}") from None
    if rc != 0:
        raise _failure(_stderr_reason(err, path_or_url))
    try:
        return _parse(out, err, path_or_url, strict)
    except _AnimatedWebP:
        return await asyncio.to_thread(webp_media_info, path_or_url, timeout)


def webp_media_info(path_or_url, timeout: float = 30) -> MediaInfo:
    """MediaInfo of a WebP image/animation, read by `webp.webp_info` (ffmpeg cannot decode
    animated WebP); URLs are downloaded to a temporary file first (at most 64 MiB)."""
    import tempfile
    import urllib.request

    if is_url(path_or_url):
        with tempfile.NamedTemporaryFile(suffix=".webp") as tmp:
            try:
                with urllib.request.urlopen(path_or_url, timeout=timeout) as resp:  # noqa: S310 - http(s) only
                    data = resp.read(MAX_WEBP_DOWNLOAD + 1)
            except OSError as exc:
                raise ProbeError(f"could not read URL ({exc})") from None
            if len(data) > MAX_WEBP_DOWNLOAD:
                raise ProbeError("WebP file too large to inspect")
            tmp.write(data)
            tmp.flush()
            return _webp_info_to_media(Path(tmp.name), len(data))
    path = Path(os.fspath(path_or_url))
    return _webp_info_to_media(path, path.stat().st_size)


def _webp_info_to_media(path: Path, size: int) -> MediaInfo:
    try:
        meta = webp_info(path)
    except WebPError as exc:
        raise ProbeError(f"damaged WebP image: {exc}") from None
    fps = meta["frames"] / meta["duration"] if meta["duration"] > 0 else 0.0
    return MediaInfo(
        format_name="webp", duration=round(meta["duration"], 6), size=size, bit_rate=None,
        video=VideoInfo("webp", meta["width"], meta["height"], round(fps, 3), 0, "yuv420p", meta["frames"]),
        audio=None,
    )


async def keyframes_before(path_or_url, times: list[float], timeout: float = 30) -> list[float | None]:
    """For each of `times` (seconds from the container's start, as `-ss` counts them), the time of
    the video keyframe at or before it, or None where there is none. One ffprobe run that seeks to
    each time and reads one packet (`-read_intervals t%+#1,...`): no decoding, a few milliseconds
    however long the file. ffprobe seeks to absolute timestamps, so a container whose clock does
    not start at 0 (MPEG-TS: 1.4 s) takes a second run at the shifted positions.
    """
    _precheck(path_or_url)
    start, keys = 0.0, set()
    for _ in range(2):
        argv = [
            ffprobe_path(), "-hide_banner", "-v", "error", "-select_streams", "v:0",
            "-show_entries", "format=start_time:packet=pts_time,dts_time,flags", "-of", "csv=p=1",
            "-read_intervals", ",".join(f"{start + t:.6f}%+#1" for t in [0.0, *sorted(times)]),
            ff_target(path_or_url),
        ]
        try:
            rc, out, err = await _run_async(argv, timeout)
        except asyncio.TimeoutError:
            raise ProbeError(f"ffprobe timed out after {timeout:g} s") from None
        if rc != 0:
            raise ProbeError(_stderr_reason(err))
        container_start, keys = _keyframe_csv(out)
        if abs(container_start - start) < 1e-3:
            break
        start = container_start
    keys = sorted(round(k - start, 6) for k in keys)
    return [max((k for k in keys if k <= t + 1e-3), default=None) for t in times]


def run_ffprobe(argv: list[str], timeout: float, doing: str = "") -> str:
    """Run one bounded ffprobe (limits.probe_spawn_options) and return its stdout; ProbeError
    saying why when it times out or fails. `doing` names the work in the timeout message."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, errors="replace", **limits.probe_spawn_options())
    except subprocess.TimeoutExpired:
        raise ProbeError(f"ffprobe timed out after {timeout:g} s{' ' + doing if doing else ''}") from None
    if proc.returncode != 0:
        raise ProbeError(_stderr_reason(proc.stderr))
    return proc.stdout


def _keyframe_csv(out: str) -> tuple[float, set[float]]:
    """(container start time, keyframe times) from ffprobe's `format=start_time:packet=pts_time,
    dts_time,flags` output in `csv=p=1` form; times as the packets state them (absolute)."""
    start, keys = 0.0, set()
    for line in out.splitlines():
        section, *fields = line.strip().split(",")
        if section == "format" and fields:
            start = _num(fields[0]) or 0.0
        elif section == "packet" and len(fields) >= 3 and "K" in fields[2]:
            t = _num(fields[0]) if fields[0] not in ("", "N/A") else _num(fields[1])
            if t is not None:
                keys.add(round(t, 6))
    return start, keys


def keyframe_times(path_or_url, timeout: float = 60, *, interval: tuple[float, float] | None = None) -> list[float]:
    """Times (s) of the first video stream's keyframes, from packet flags (no decode), counted from
    the container's start as `-ss` counts them (an MPEG-TS clock may start at 1.4 s, say).

    `interval=(start, end)` reads from about `start` up to `end` (ffprobe seeks there; most
    containers land on the keyframe at or before `start`) instead of every packet of the file.
    """
    _precheck(path_or_url)
    argv = [
        ffprobe_path(), "-hide_banner", "-v", "error", "-select_streams", "v:0",
        "-show_entries", "format=start_time:packet=pts_time,dts_time,flags", "-of", "csv=p=1",
    ]
    if interval is not None:
        a = max(interval[0], 0.0)  # "+": from the container's start time, like -ss
        argv += ["-read_intervals", f"+{a:.6f}%+{max(interval[1] - a, 0.0):.6f}"]
    argv.append(ff_target(path_or_url))
    start, keys = _keyframe_csv(run_ffprobe(argv, timeout))
    return sorted({round(t - start, 6) for t in keys})


def _printed_error(value: float) -> float:
    """The most a time printed with 6 significant digits (FFmpeg's `%.6g` pts_time, which the
    analysis pass parses) can be off from the real one."""
    return 0.5 * 10 ** (math.floor(math.log10(max(abs(value), 1.0))) - 5)


def lead_from_keyframes(keyframes, start: float, *, complete: bool = True) -> float | None:
    """`keyframe_lead` from a stored list of keyframe times (`media.analysis`'s, kept on the asset),
    without reading the file; None when that list cannot decide it exactly, and the caller probes.

    The stored times may be rounded (6 significant digits) or a few µs off the packets': the
    answer is given only when no keyframe lies within that error of the decision (at or before `start`, with the 1 ms slack
    `keyframe_lead` allows), and the rounding stays under the 1 ms margin the copy's output-side cut
    keeps before the keyframe (so up to 1,000 s). `complete=False` (the list was capped) refuses
    in points past its last time.
    """
    if start <= 0:
        return 0.0
    times = sorted(float(t) for t in keyframes or ())
    if not times:
        return None
    # rounding of the printed times, and at least 0.2 ms: the analysis reads decoded frames through
    # the filter graph, whose times differ from the packets' by a few tens of µs (MPEG-TS: 23 µs)
    err = max(_printed_error(start + 1.0), 2e-4)
    if err > 5e-4:
        return None
    edge = start + 1e-3
    before = [t for t in times if t <= edge]
    after = [t for t in times if t > edge]
    if not before or (not after and not complete):
        return None
    if edge - before[-1] < err or (after and after[0] - edge < err):
        return None  # too close to call from rounded times
    return max(0.0, start - before[-1])


def keyframe_lead(path_or_url, start: float) -> float | None:
    """Seconds between the keyframe at or before `start` and `start`: where a stream copy from
    `start` must begin. None when the keyframes cannot be read."""
    if start <= 0:
        return 0.0
    try:
        # a seek near `start` reads a few packets; containers that land elsewhere: the whole index
        before = [t for t in keyframe_times(path_or_url, interval=(start, start + 0.1)) if t <= start + 1e-3]
        if not before:
            before = [t for t in keyframe_times(path_or_url) if t <= start + 1e-3]
    except ProbeError:
        return None
    return max(0.0, start - max(before)) if before else start
