"""Checks a smart cut must pass before its job succeeds (see docs/smartcut.md):

- the whole output decodes with no error (`ffmpeg -v error … -f null -`, every stream);
- it holds exactly the frames between the in and out points;
- every copied part is bit-identical to the source: the packets' slice payloads (parameter sets,
  SEI and access unit delimiters set aside, as the join re-sends those) hash the same as the
  source's packets for the same frames;
- every re-encoded part has an SSIM of at least `MIN_SSIM` against the source frames, frame by
  frame (so the first and last frames are the source's frames at the in and out points);
- the audio starts within one audio frame of the video.
"""
from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .binaries import ffmpeg_path, ffprobe_path
from .paths import ff_target
from .smartcut import Part, SmartPlan, VideoStream, _drop_expr, exact_seek

MIN_SSIM = 0.98
PARAMETER_NALS = {"h264": "6|7|8|9", "hevc": "32|33|34|35|39|40"}
_SSIM_ALL = re.compile(r"All:([0-9.]+)")


class SmartCutVerificationError(Exception):
    """The smart cut output is not what was asked for; str(e) says how."""


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          errors="replace")


def decode_errors(path: Path, timeout: float = 3600) -> str:
    """Decode every stream of `path`; FFmpeg's error output ("" when clean)."""
    proc = _run([ffmpeg_path(), "-hide_banner", "-nostdin", "-v", "error", "-i", ff_target(path), "-map", "0",
                 "-f", "null", "-"], timeout)
    return (proc.stderr.strip() or (f"ffmpeg exited {proc.returncode}" if proc.returncode else ""))


def _packet_hashes(argv_input: list[str], codec: str, timeout: float, extra_bsf: str = "") -> list[str]:
    annexb = "h264_mp4toannexb" if codec == "h264" else "hevc_mp4toannexb"
    chain = ",".join(b for b in (extra_bsf, annexb, f"filter_units=remove_types={PARAMETER_NALS[codec]}") if b)
    proc = _run([ffmpeg_path(), "-hide_banner", "-nostdin", "-v", "error", *argv_input, "-map", "0:v:0",
                 "-c", "copy", "-bsf:v", chain, "-f", "framemd5", "-"], timeout)
    if proc.returncode != 0:
        raise SmartCutVerificationError(f"cannot read the packets: {proc.stderr.strip()[-300:]}")
    return [line.split(",")[5].strip() for line in proc.stdout.splitlines() if line and not line.startswith("#")]


def frame_count(path: Path, timeout: float = 3600) -> int:
    """Video packets (= frames) of `path`'s first video stream, read without decoding."""
    proc = _run([ffprobe_path(), "-v", "error", "-select_streams", "v:0", "-count_packets",
                 "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", ff_target(path)], timeout)
    try:
        return int(proc.stdout.strip().split(",")[0])
    except ValueError:
        raise SmartCutVerificationError(f"cannot count the output's frames: {proc.stderr.strip()[-200:]}") from None


def min_ssim(out: Path, out_start: float, out_origin: float, src, part: Part, stream: VideoStream,
             timeout: float = 3600) -> float:
    """Lowest per-frame SSIM of the output's frames from `out_start` s against the source's `part`.
    Both sides are picked by their own absolute timestamps (`-copyts` + `trim`): the output's
    clock starts at `out_origin`, the source's at its container start."""
    eps = 0.25 / float(stream.fps)
    before, src_trim = exact_seek(stream, part.start)
    out_seek = max(0.0, out_start - 1.0)
    proc = _run([ffmpeg_path(), "-hide_banner", "-nostdin", "-v", "error",
                 *(["-ss", f"{out_seek:.6f}"] if out_seek else []), "-i", ff_target(out),
                 *before, "-i", ff_target(src),
                 "-lavfi", f"[0:v:0]trim=start={out_origin + out_start - eps:.6f},setpts=PTS-STARTPTS[a];"
                           f"[1:v:0]trim=start={src_trim:.6f},setpts=PTS-STARTPTS[b];[a][b]ssim=stats_file=-",
                 "-frames:v", str(part.count), "-f", "null", "-"], timeout)
    values = [float(m.group(1)) for m in _SSIM_ALL.finditer(proc.stdout)]
    if proc.returncode != 0 or len(values) < part.count:
        raise SmartCutVerificationError(
            f"SSIM of the re-encoded frames at {part.start:.3f} s compared {len(values)} of {part.count} frames: "
            f"{proc.stderr.strip()[-200:]}")
    return min(values[:part.count])


def _stream_starts(path: Path) -> dict[str, tuple[float, float]]:
    proc = _run([ffprobe_path(), "-v", "error", "-show_entries", "stream=codec_type,start_time,sample_rate",
                 "-of", "json", ff_target(path)], 60)
    out: dict[str, tuple[float, float]] = {}
    for s in json.loads(proc.stdout or "{}").get("streams", []):
        if s.get("codec_type") in ("video", "audio") and s["codec_type"] not in out:
            out[s["codec_type"]] = (float(s.get("start_time") or 0.0), float(s.get("sample_rate") or 0.0))
    return out


def verify_smartcut(out: Path, src, plan: SmartPlan, stream: VideoStream, *, audio_expected: bool,
                    timeout: float = 3600) -> dict:
    """Run every check; raise SmartCutVerificationError on the first that fails (in the order of
    the module docstring). Returns the figures.

    The checks are independent FFmpeg runs, so they run at the same time: the whole-file decode
    keeps the cores busy while the packet reads (I/O and md5) and the edges' SSIM overlap it. With a
    copied part the output's packet hashes also give its frame count (one packet per frame), so the
    file is not read a third time."""
    fps = float(stream.fps)
    starts = _stream_starts(out)
    has_copy = any(part.kind == "copy" for part in plan.parts)
    with ThreadPoolExecutor(max_workers=2 + len(plan.parts)) as pool:
        decoded = pool.submit(decode_errors, out, timeout)
        counted = (pool.submit(_packet_hashes, ["-i", ff_target(out)], stream.codec, timeout) if has_copy
                   else pool.submit(frame_count, out, timeout))
        checks, offset = [], 0
        for part in plan.parts:
            if part.kind == "copy":
                half, cs = 0.5 / fps, stream.container_start
                check = pool.submit(_packet_hashes, ["-copyts", "-ss", f"{max(0.0, part.start - 3.0):.6f}", "-i",
                                                     ff_target(src)], stream.codec, timeout,
                                    extra_bsf=_drop_expr(cs + part.start - half, cs + part.end - half))
            elif "video" in starts:
                check = pool.submit(min_ssim, out, offset / fps, starts["video"][0], src, part, stream, timeout)
            else:
                check = None
            checks.append((part, offset, check))
            offset += part.count
        errors = decoded.result()
        if errors:
            raise SmartCutVerificationError(f"the output does not decode cleanly: {errors[-300:]}")
        out_hashes = counted.result() if has_copy else None
        count = len(out_hashes) if out_hashes is not None else counted.result()
        if count != plan.frames:
            raise SmartCutVerificationError(f"the output has {count} frames, the range holds {plan.frames}")
        ssims, copied = [], 0
        for part, offset, check in checks:
            if check is None:
                raise SmartCutVerificationError("the output has no video stream")
            if part.kind == "copy":
                src_hashes = check.result()
                # closed GOPs: the part is a contiguous run in decode order too
                got = out_hashes[offset:offset + part.count]
                if len(src_hashes) != part.count or got != src_hashes:
                    same = sum(a == b for a, b in zip(got, src_hashes))
                    raise SmartCutVerificationError(
                        f"the copied part at {part.start:.3f} s is not bit-identical to the source "
                        f"({same} of {part.count} packets equal)")
                copied += part.count
            else:
                value = check.result()
                if value < MIN_SSIM:
                    raise SmartCutVerificationError(
                        f"the re-encoded frames at {part.start:.3f} s have SSIM {value:.4f} < {MIN_SSIM}")
                ssims.append(value)
    sync = None
    if audio_expected:
        if "audio" not in starts:
            raise SmartCutVerificationError("the output has no audio stream")
        (v0, _), (a0, rate) = starts["video"], starts["audio"]
        frame = 1152 / rate if rate else 0.05  # the longest common frame (MP3); AAC is 1024
        sync = a0 - v0
        if abs(sync) > frame:
            raise SmartCutVerificationError(f"audio starts {sync * 1000:.1f} ms from the video (more than one frame)")
    return {"frames": count, "copied_frames": copied, "min_ssim": min(ssims) if ssims else None,
            "audio_offset_ms": None if sync is None else round(sync * 1000, 2)}
