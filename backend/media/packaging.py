"""Finish a ladder package FFmpeg wrote (`backend.media.ladder`): measure every rendition's
segments, write `master.m3u8` from what was measured (BANDWIDTH = peak segment bitrate,
AVERAGE-BANDWIDTH = mean, RESOLUTION, CODECS, FRAME-RATE, the audio as an EXT-X-MEDIA group),
set the DASH manifest's `bandwidth` to the same peaks so both views agree, write the storyboard's
WebVTT cues, and check the package (every rendition covers the trim, segment boundaries equal
across video renditions). FFmpeg's own master declares the nominal encoder rate, which is not
what a player sees on the wire; this one is measured.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from .ladder import MANIFEST, MASTER, STORYBOARD_PATTERN, STORYBOARD_VTT, THUMB_PATTERN, Ladder, Rung

MPD_NS = "{urn:mpeg:dash:schema:mpd:2011}"
_EXTINF = re.compile(r"#EXTINF:([0-9.]+)")
_MAP = re.compile(r'#EXT-X-MAP:URI="([^"]+)"')


class PackageError(Exception):
    """The package FFmpeg wrote is incomplete or inconsistent; the message says what."""


@dataclass
class Measured:
    rung: Rung
    init: str
    segments: list[tuple[float, str, int]] = field(default_factory=list)  # (duration, uri, bytes)
    codecs: str = ""
    frame_rate: float | None = None

    @property
    def duration(self) -> float:
        return sum(d for d, _, _ in self.segments)

    @property
    def media_bytes(self) -> int:
        return sum(n for _, _, n in self.segments)

    @property
    def peak(self) -> int:
        return max((math.ceil(n * 8 / d) for d, _, n in self.segments if d > 0), default=0)

    @property
    def average(self) -> int:
        return math.ceil(self.media_bytes * 8 / self.duration) if self.duration > 0 else 0

    def boundaries(self) -> list[float]:
        times, t = [], 0.0
        for d, _, _ in self.segments:
            times.append(round(t, 3))
            t += d
        return times


def read_media_playlist(path: Path) -> tuple[str, list[tuple[float, str]]]:
    """(init segment uri, [(duration, uri)]) of an HLS media playlist FFmpeg wrote."""
    init, segments, pending = "", [], None
    for line in path.read_text().splitlines():
        line = line.strip()
        if m := _MAP.match(line):
            init = m.group(1)
        elif m := _EXTINF.match(line):
            pending = float(m.group(1))
        elif line and not line.startswith("#") and pending is not None:
            segments.append((pending, line))
            pending = None
    return init, segments


def _tidy_media_playlist(path: Path) -> None:
    """Drop the wall-clock PROGRAM-DATE-TIME lines FFmpeg adds (this is video on demand)."""
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#EXT-X-PROGRAM-DATE-TIME")]
    if "#EXT-X-PLAYLIST-TYPE:VOD" not in lines:
        lines.insert(1, "#EXT-X-PLAYLIST-TYPE:VOD")
    path.write_text("\n".join(lines) + "\n")


def _manifest_attrs(mpd: Path) -> dict[str, dict[str, str]]:
    """Representation id → its attributes (the adaptation set's frameRate folded in)."""
    root = ElementTree.parse(mpd).getroot()
    reps: dict[str, dict[str, str]] = {}
    for aset in root.iter(f"{MPD_NS}AdaptationSet"):
        for rep in aset.iter(f"{MPD_NS}Representation"):
            attrs = dict(rep.attrib)
            if "frameRate" not in attrs and "frameRate" in aset.attrib:
                attrs["frameRate"] = aset.attrib["frameRate"]
            reps[attrs.get("id", "")] = attrs
    return reps


def _rate(text: str | None) -> float | None:
    if not text:
        return None
    num, _, den = text.partition("/")
    try:
        return float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return None


def measure(outdir: Path, ladder: Ladder) -> list[Measured]:
    outdir = Path(outdir)
    reps = _manifest_attrs(outdir / MANIFEST)
    measured = []
    for rung in ladder.rungs:
        playlist = outdir / rung.playlist
        if not playlist.is_file():
            raise PackageError(f"{rung.name}: FFmpeg wrote no media playlist")
        _tidy_media_playlist(playlist)
        init, entries = read_media_playlist(playlist)
        if not init or not (outdir / init).is_file() or not entries:
            raise PackageError(f"{rung.name}: the playlist lists no init segment or no media segments")
        segments = []
        for duration, uri in entries:
            path = outdir / uri
            if not path.is_file() or path.stat().st_size == 0:
                raise PackageError(f"{rung.name}: segment {uri} is missing or empty")
            segments.append((duration, uri, path.stat().st_size))
        attrs = reps.get(str(rung.index), {})
        measured.append(Measured(rung, init, segments, attrs.get("codecs", ""), _rate(attrs.get("frameRate"))))
    return measured


def check(measured: list[Measured], ladder: Ladder) -> None:
    """Every rendition covers the trim (within one segment's rounding), video renditions cut at the
    same instants, and no segment is longer than the target plus one frame."""
    frame = max((1.0 / m.rung.fps for m in measured if m.rung.fps), default=0.04)
    reference = None
    for m in measured:
        if abs(m.duration - ladder.length) > max(0.1, 2 * frame):
            raise PackageError(f"{m.rung.name}: {m.duration:.3f} s of segments for a {ladder.length:.3f} s trim")
        if m.rung.kind != "video":
            continue
        longest = max(d for d, _, _ in m.segments)
        if longest > ladder.segment_seconds + frame + 1e-3:
            raise PackageError(f"{m.rung.name}: a {longest:.3f} s segment (target {ladder.segment_seconds:g} s)")
        if reference is None:
            reference = m
        elif m.boundaries() != reference.boundaries():
            raise PackageError(f"{m.rung.name}: segment boundaries differ from {reference.rung.name}'s")


def _variant(m: Measured, audio: Measured | None) -> str:
    peak = m.peak + (audio.peak if audio else 0)
    average = m.average + (audio.average if audio else 0)
    attrs = [f"BANDWIDTH={peak}", f"AVERAGE-BANDWIDTH={average}"]
    codecs = [c for c in (m.codecs, audio.codecs if audio else "") if c]
    if m.rung.kind == "video":
        attrs.append(f"RESOLUTION={m.rung.width}x{m.rung.height}")
        attrs.append(f'CODECS="{",".join(codecs)}"')
        if m.frame_rate:
            attrs.append(f"FRAME-RATE={m.frame_rate:.3f}")
        if audio:
            attrs.append('AUDIO="audio"')
    else:
        attrs.append(f'CODECS="{",".join(codecs)}"')
    return f"#EXT-X-STREAM-INF:{','.join(attrs)}\n{m.rung.playlist}"


def write_master(outdir: Path, measured: list[Measured]) -> str:
    video = [m for m in measured if m.rung.kind == "video"]
    audio = [m for m in measured if m.rung.kind == "audio"]
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if video:
        track = audio[0] if audio else None
        if track:
            channels = track.rung.preset.channels or 2
            lines.append(f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="{track.rung.name}",DEFAULT=YES,'
                         f'AUTOSELECT=YES,CHANNELS="{channels}",URI="{track.rung.playlist}"')
        lines += [_variant(m, track) for m in video]
    else:
        lines += [_variant(m, None) for m in audio]
    text = "\n".join(lines) + "\n"
    (Path(outdir) / MASTER).write_text(text)
    return text


def patch_manifest(outdir: Path, measured: list[Measured]) -> None:
    """Set each DASH Representation's bandwidth to its measured peak (as the HLS master says)."""
    path = Path(outdir) / MANIFEST
    text = path.read_text()
    for m in measured:
        text = re.sub(rf'(<Representation id="{m.rung.index}"[^>]*?bandwidth=")\d+"', rf'\g<1>{m.peak}"', text)
    path.write_text(text)


def _clock(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _tile_sheets(outdir: Path, thumbs: list[Path], sb) -> list[Path]:
    """Tile the thumbnails into sheets of columns x rows (row by row), remove the thumbnails."""
    from PIL import Image  # noqa: PLC0415 - only storyboards need it

    per_sheet = sb.columns * sb.rows
    sheets = []
    for n in range(0, len(thumbs), per_sheet):
        sheet = Image.new("RGB", (sb.columns * sb.width, sb.rows * sb.height))
        for cell, thumb in enumerate(thumbs[n:n + per_sheet]):
            with Image.open(thumb) as img:
                row, col = divmod(cell, sb.columns)
                sheet.paste(img.convert("RGB").resize((sb.width, sb.height)), (col * sb.width, row * sb.height))
        path = outdir / (STORYBOARD_PATTERN % (n // per_sheet + 1))
        sheet.save(path, "JPEG", quality=80)
        sheets.append(path)
    for thumb in thumbs:
        thumb.unlink(missing_ok=True)
    return sheets


def write_storyboard_vtt(outdir: Path, ladder: Ladder) -> tuple[str, int]:
    """Tile FFmpeg's thumbnails into sprite sheets and write `storyboard.vtt` (one cue per
    thumbnail: sheet#xywh=…); (file name, sheets)."""
    sb = ladder.storyboard
    outdir = Path(outdir)
    thumbs = sorted(outdir.glob(THUMB_PATTERN.replace("%05d", "[0-9]" * 5)))
    if sb is None or not thumbs:
        raise PackageError("FFmpeg wrote no storyboard thumbnails")
    thumbs = thumbs[:sb.thumbnails(ladder.length)]  # fps may emit one more frame at the very end
    sheets = _tile_sheets(outdir, thumbs, sb)
    for extra in outdir.glob(THUMB_PATTERN.replace("%05d", "[0-9]" * 5)):
        extra.unlink()
    per_sheet = sb.columns * sb.rows
    count = len(thumbs)
    cues = ["WEBVTT", ""]
    for i in range(count):
        start = i * sb.interval
        end = min((i + 1) * sb.interval, ladder.length)
        sheet, cell = divmod(i, per_sheet)
        row, col = divmod(cell, sb.columns)
        cues += [f"{_clock(start)} --> {_clock(end)}",
                 f"{sheets[sheet].name}#xywh={col * sb.width},{row * sb.height},{sb.width},{sb.height}", ""]
    (outdir / STORYBOARD_VTT).write_text("\n".join(cues))
    return STORYBOARD_VTT, len(sheets)


def finish_package(outdir: Path, ladder: Ladder) -> list[Measured]:
    """Measure, check, write master.m3u8 and fix manifest.mpd; drop the view the template did
    not ask for (packaging "hls" or "dash"). Raises PackageError."""
    outdir = Path(outdir)
    measured = measure(outdir, ladder)
    check(measured, ladder)
    write_master(outdir, measured)
    patch_manifest(outdir, measured)
    if ladder.packaging == "hls":
        (outdir / MANIFEST).unlink(missing_ok=True)
    elif ladder.packaging == "dash":
        for path in [outdir / MASTER, *(outdir / m.rung.playlist for m in measured)]:
            path.unlink(missing_ok=True)
    return measured
