"""Synthetic test and demo clips from FFmpeg's lavfi sources (`testsrc2`, `smptebars`,
`mandelbrot` + `sine`), so tests and `mpr demo` need no downloaded media.
"""
from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import ffmpeg

from .binaries import ffmpeg_path

PATTERNS = ("testsrc2", "smptebars", "mandelbrot")

# Fast settings per encoder: clip generation must take seconds, not minutes.
_FAST = {
    "libx264": {"preset": "ultrafast", "pix_fmt": "yuv420p"},
    "libx265": {"preset": "ultrafast", "pix_fmt": "yuv420p", "x265-params": "log-level=error"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": 8, "row-mt": 1, "pix_fmt": "yuv420p"},
    "libvpx": {"deadline": "realtime", "cpu-used": 8, "pix_fmt": "yuv420p"},
    "libsvtav1": {"preset": 12, "pix_fmt": "yuv420p"},
    "mjpeg": {"pix_fmt": "yuvj420p"},
}


class ClipError(RuntimeError):
    """ffmpeg could not generate the clip."""


def generate_clip(
    path: str | Path,
    *,
    duration: float = 3.0,
    width: int = 320,
    height: int = 240,
    fps: float = 25,
    video: bool = True,
    audio: bool = True,
    vcodec: str = "libx264",
    acodec: str = "aac",
    gop: int | None = None,
    extra_args: Sequence[str] = (),
    pattern: str = "testsrc2",
    frequency: int = 440,
    sample_rate: int = 48000,
    channels: int = 2,
    rotation: int = 0,
    timeout: float = 120,
) -> Path:
    """Write a synthetic clip to `path` (container from its extension) and return the absolute path.

    `extra_args` are output options placed just before the file name (e.g. ("-movflags", "+faststart")
    or ("-g", "10")). `rotation` (clockwise degrees) is stored as display-matrix metadata, the way
    phones tag portrait video: the stored picture stays `width`x`height`.
    """
    if not (video or audio):
        raise ValueError("a clip needs video or audio")
    if pattern not in PATTERNS:
        raise ValueError(f"pattern must be one of {PATTERNS}, got {pattern!r}")
    out = Path(path).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    streams = []
    opts: dict[str, object] = {}
    if video:
        size = f"{width}x{height}"
        src = f"{pattern}=size={size}:rate={fps}"
        if pattern == "mandelbrot":
            src += ":maxiter=64"
        v = ffmpeg.input(src, f="lavfi", t=duration)
        streams.append(v.video)
        opts["vcodec"] = vcodec
        opts.update(_FAST.get(vcodec, {}))
        if gop:
            opts["g"] = gop
            if vcodec in ("libx264", "libx265"):
                opts["keyint_min"] = gop
                opts["sc_threshold"] = 0
    if audio:
        a = ffmpeg.input(
            f"sine=frequency={frequency}:sample_rate={sample_rate}", f="lavfi", t=duration
        )
        streams.append(a.audio)
        opts["acodec"] = acodec
        opts["ac"] = channels
    node = ffmpeg.output(*streams, str(out), **opts)
    argv = node.global_args("-hide_banner", "-nostdin", "-loglevel", "error").overwrite_output()
    argv = argv.compile(cmd=ffmpeg_path())
    if extra_args:
        at = len(argv) - 1 - argv[::-1].index(str(out))
        argv = argv[:at] + list(extra_args) + argv[at:]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    _check(proc, out)
    if rotation % 360 and video:
        _set_rotation(out, rotation % 360, timeout)
    return out


def _check(proc: subprocess.CompletedProcess, out: Path) -> None:
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise ClipError(f"could not generate {out.name}: {' | '.join(tail) or proc.returncode}")


def _set_rotation(out: Path, rotation: int, timeout: float) -> None:
    """Remux with a display matrix (stream copy): -display_rotation is counter-clockwise."""
    tmp = out.with_name(out.stem + ".rot" + out.suffix)
    argv = [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-display_rotation:v:0", str(-rotation), "-i", str(out), "-map", "0", "-c", "copy", str(tmp),
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    _check(proc, out)
    tmp.replace(out)


# The marked clip: (seconds, picture, sound) per shot, hard cuts between shots.
MARKED_SHOTS = (
    (3.0, "testsrc2", "tone"),
    (2.0, "smptebars", "silence"),
    (1.0, "black", "tone"),
    (2.0, "mandelbrot", "tone"),
)
TONE_AMPLITUDE = 0.1  # -20 dBFS peak


def marked_shots(shots=MARKED_SHOTS) -> dict[str, list]:
    """What `generate_marked_clip` puts where: cuts, black and silence ranges, in seconds."""
    cuts, black, silence, t = [], [], [], 0.0
    for i, (length, picture, sound) in enumerate(shots):
        if i:
            cuts.append(t)
        if picture == "black":
            black.append((t, t + length))
        if sound == "silence":
            silence.append((t, t + length))
        t += length
    return {"cuts": cuts, "black": black, "silence": silence, "duration": t}


def generate_marked_clip(path: str | Path, *, width: int = 320, height: int = 240, fps: int = 25,
                         shots=MARKED_SHOTS, timeout: float = 120) -> Path:
    """A clip with known content for analysis tests: shots of different lavfi sources joined by hard
    cuts, a 1 kHz tone at -20 dBFS (stereo) or digital silence under each, one shot plain black."""
    out = Path(path).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    args: list[str] = []
    labels = []
    for i, (length, picture, sound) in enumerate(shots):
        size = f"{width}x{height}"
        video = (f"color=black:s={size}:r={fps}" if picture == "black" else
                 f"{picture}=s={size}:r={fps}" + (":maxiter=64" if picture == "mandelbrot" else ""))
        audio = (f"aevalsrc={TONE_AMPLITUDE}*sin(2*PI*1000*t)|{TONE_AMPLITUDE}*sin(2*PI*1000*t):s=48000"
                 if sound == "tone" else "anullsrc=r=48000:cl=stereo")
        args += ["-f", "lavfi", "-t", f"{length:g}", "-i", video, "-f", "lavfi", "-t", f"{length:g}", "-i", audio]
        labels.append(f"[{2 * i}:v][{2 * i + 1}:a]")
    graph = "".join(labels) + f"concat=n={len(shots)}:v=1:a=1[v][a]"
    argv = [ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args,
            "-filter_complex", graph, "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast",
            "-pix_fmt", "yuv420p", "-g", str(2 * fps), "-c:a", "aac", "-b:a", "128k", str(out)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    _check(proc, out)
    return out


def make_demo_clips(folder: str | Path) -> list[Path]:
    """Write three short sample clips into `folder` (for `mpr demo`) and return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [
        generate_clip(
            folder / "Test pattern 720p.mp4", duration=20, width=1280, height=720, fps=30,
            gop=60, extra_args=("-movflags", "+faststart"),
        ),
        generate_clip(
            folder / "Color bars 1080p.mp4", duration=10, width=1920, height=1080, fps=25,
            pattern="smptebars", frequency=1000, gop=50, extra_args=("-movflags", "+faststart"),
        ),
        generate_clip(
            folder / "Mandelbrot 360p.webm", duration=8, width=640, height=360, fps=25,
            pattern="mandelbrot", vcodec="libvpx-vp9", acodec="libopus", frequency=660,
        ),
    ]
