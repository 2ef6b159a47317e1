"""Checks of a streaming package on disk, read with real parsers (m3u8, mpegdash) and FFmpeg:
shared by the local ladder tests (tests/streaming/test_ladder_package.py) and the AWS ladder test
(tests/aws/test_executor_ladder.py), so both paths are held to the same package."""
from __future__ import annotations

import subprocess
from pathlib import Path

import m3u8
from mpegdash.parser import MPEGDASHParser

from backend.media.binaries import ffmpeg_path, ffprobe_path


def segment_bytes(folder: Path, playlist: m3u8.M3U8) -> list[bytes]:
    init = (folder / playlist.segment_map[0].uri).read_bytes()
    return [init + (folder / seg.uri).read_bytes() for seg in playlist.segments]


def first_packet(data: bytes, stream: str) -> tuple[float, str]:
    """(pts_time, flags) of the first packet of a segment (init prepended), read by ffprobe."""
    out = subprocess.run([ffprobe_path(), "-v", "error", "-select_streams", stream, "-show_entries",
                          "packet=pts_time,flags", "-read_intervals", "%+#1", "-of", "csv=p=0", "-i", "pipe:0"],
                         input=data, capture_output=True, check=True).stdout.decode().split()
    pts, flags = out[0].split(",")[:2]
    return float(pts), flags


def decodes(data: bytes) -> str:
    proc = subprocess.run([ffmpeg_path(), "-v", "error", "-xerror", "-i", "pipe:0", "-f", "null", "-"],
                          input=data, capture_output=True)
    return "" if proc.returncode == 0 and not proc.stderr.strip() else proc.stderr.decode()[-500:] or "failed"


def keyframe_starts(folder: Path, master: m3u8.M3U8) -> list[list[float]]:
    """Per video variant: the start time of each segment; asserts each starts with a keyframe."""
    starts = []
    for variant in master.playlists:
        times = []
        for data in segment_bytes(folder, m3u8.load(str(folder / variant.uri))):
            pts, flags = first_packet(data, "v:0")
            assert flags.startswith("K"), f"{variant.uri}: a segment starts without a keyframe"
            times.append(round(pts, 3))
        starts.append(times)
    return starts


def dash_and_hls_agree(folder: Path, master: m3u8.M3U8) -> None:
    """The DASH manifest lists the HLS master's video variants and audio group, with bandwidths
    that add up to the variants' (both are the measured peaks)."""
    mpd = MPEGDASHParser.parse(str(folder / "manifest.mpd"))
    reps = [(aset.content_type, rep) for aset in mpd.periods[0].adaptation_sets for rep in aset.representations]
    dash_video = sorted((r.width, r.height, r.bandwidth) for kind, r in reps if kind == "video")
    hls_video = sorted(tuple(v.stream_info.resolution) for v in master.playlists)
    assert [(w, h) for w, h, _ in dash_video] == hls_video
    assert sum(kind == "audio" for kind, _ in reps) == len(master.media) == 1
    audio_bw = next(r.bandwidth for kind, r in reps if kind == "audio")
    for v in master.playlists:
        w, h = v.stream_info.resolution
        video_bw = next(bw for dw, dh, bw in dash_video if (dw, dh) == (w, h))
        assert video_bw + audio_bw == v.stream_info.bandwidth
