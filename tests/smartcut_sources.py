"""Short sources for the smart cut tests: x264 with B-frames (closed and open GOP, 2 s and 10 s
GOPs) and x265 (closed GOP), in MP4 and MPEG-TS, 320x240 at 25 fps with AAC sound."""
from __future__ import annotations

import subprocess
from pathlib import Path

from backend.media.binaries import ffmpeg_path

SOURCES = {
    # name: (seconds, codec args, container)
    "h264-gop2-mp4": (8, ["-c:v", "libx264", "-g", "50", "-bf", "3", "-x264-params", "scenecut=0"], "mp4"),
    "h264-gop2-ts": (8, ["-c:v", "libx264", "-g", "50", "-bf", "3", "-x264-params", "scenecut=0"], "ts"),
    "h264-gop10-mp4": (12, ["-c:v", "libx264", "-g", "250", "-bf", "3", "-x264-params", "scenecut=0"], "mp4"),
    "h264-open-mp4": (8, ["-c:v", "libx264", "-g", "50", "-bf", "3", "-x264-params", "scenecut=0:open-gop=1"], "mp4"),
    "hevc-gop2-mp4": (8, ["-c:v", "libx265", "-g", "50", "-tag:v", "hvc1",
                          "-x265-params", "log-level=error:open-gop=0:scenecut=0:bframes=3"], "mp4"),
    "hevc-open-mp4": (8, ["-c:v", "libx265", "-g", "50", "-tag:v", "hvc1",
                          "-x265-params", "log-level=error:open-gop=1:scenecut=0:bframes=3"], "mp4"),
    "hevc-gop2-ts": (8, ["-c:v", "libx265", "-g", "50",
                         "-x265-params", "log-level=error:open-gop=0:scenecut=0:bframes=3"], "ts"),
}


def make_source(folder: Path, name: str) -> Path:
    seconds, codec, container = SOURCES[name]
    out = folder / f"{name}.{container}"
    if out.exists():
        return out
    argv = [ffmpeg_path(), "-hide_banner", "-nostdin", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            *codec, "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k",
            "-f", "mpegts" if container == "ts" else "mp4", str(out)]
    subprocess.run(argv, check=True, capture_output=True, timeout=300)
    return out


def gray_frame(path: Path, index: int, width: int = 320, height: int = 240) -> bytes:
    """Frame number `index` (display order, counted from the first, decoded without seeking) as gray bytes."""
    proc = subprocess.run([ffmpeg_path(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v:0",
                           "-vf", f"select=eq(n\\,{index})", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                          check=True, capture_output=True, timeout=120)
    assert len(proc.stdout) == width * height, f"no frame {index} in {path.name}"
    return proc.stdout


def mean_abs_diff(a: bytes, b: bytes) -> float:
    return sum(abs(x - y) for x, y in zip(a, b)) / len(a)


def smart_cut_three_parts(folder: Path):
    """(source, output, result) of a smart cut with a re-encoded head, a copied middle and a
    re-encoded tail: in one frame before the keyframe at 2 s, out one frame after the one at 6 s."""
    import asyncio

    from backend.media.probe import probe
    from backend.media.smartcut import read_stream
    from backend.pipeline import JobSpec, Location, NullReporter
    from backend.pipeline.smartcut import run_smartcut

    src = make_source(folder, "h264-gop2-mp4")
    frames = read_stream(src).frames
    spec = JobSpec(source=Location(area="in", key="src"), output=Location(area="out", key="cut.mp4"),
                   preset={"name": "Trim only (stream copy)", "kind": "copy", "container": "mp4"},
                   trim_start=frames[49], trim_end=frames[151], accurate=True, trim_mode="smart")
    dst = folder / "cut.mp4"
    result = asyncio.run(run_smartcut(spec, src, dst, NullReporter(), info=probe(src)))
    assert result.plan.mode == "smart" and [p.kind for p in result.plan.parts] == ["encode", "copy", "encode"]
    return src, dst, result
