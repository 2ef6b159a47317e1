"""Sequence render: MPR (`run_sequence`: one FFmpeg per clip in parallel, the audio once, a stream-copy
join) vs one hand-written FFmpeg `concat`-filter command doing the same edit, on 1080p sources.

1. Three 1080p sources (30, 25 and 24 fps; the 24 fps one without audio), cached in bench/out.
2. A 10-clip sequence of them rendered with "H.264 1080p" by MPR (its time without the cut check,
   and the check's own time, printed apart) and by ONE ffmpeg: per clip `-ss/-t` inputs, the same
   conform chain (fps, scale, pad, setsar, format; aresample or anullsrc), `concat=n=10:v=1:a=1`,
   the same x264/AAC settings. Wall-time ratio MPR / concat filter (goal <= 0.7 on 2 cores).
3. Audio at the cuts, per-clip AAC vs the whole sequence once (MPR's choice): samples decoded
   after the join vs the samples the video's length asks for.

No asserts: numbers only. Speed depends on the machine and on how busy it is.

    .venv/bin/python bench/sequence.py [--seconds 8] [--clips 10] [--concurrency 2]
"""
from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.media.binaries import ffmpeg_path  # noqa: E402
from backend.media.chunking import concat_list, stream_stats  # noqa: E402
from backend.media.clips import generate_clip  # noqa: E402
from backend.media.command import _audio_codec_args, _video_codec_args  # noqa: E402
from backend.media.presets import builtin_preset  # noqa: E402
from backend.media.probe import probe  # noqa: E402
from backend.media.sequence import (  # noqa: E402
    ClipRange, audio_command, canvas_for, clip_command, clip_frames, clip_samples, video_filters,
)
from backend.pipeline import JobSpec, Location, NullReporter  # noqa: E402
from backend.pipeline.sequence import run_sequence  # noqa: E402
from backend.pipeline.spec import SequenceClip, SequenceSpec  # noqa: E402

CACHE = Path(__file__).resolve().parent / "out"


def sources(seconds: float) -> list[Path]:
    CACHE.mkdir(parents=True, exist_ok=True)
    made = []
    for name, fps, audio in (("seq-1080p30.mp4", 30, True), ("seq-1080p25.mp4", 25, True),
                             ("seq-1080p24-silent.mp4", 24, False)):
        path = CACHE / f"{seconds:g}s-{name}"
        if not path.exists():
            generate_clip(path, duration=seconds, width=1920, height=1080, fps=fps, audio=audio, timeout=600)
        made.append(path)
    return made


def edit(paths: list[Path], count: int, seconds: float) -> list[tuple[Path, float, float]]:
    """`count` clips of about 1.6 s, cycling through the sources and through their length."""
    clips = []
    for i in range(count):
        src = paths[i % len(paths)]
        start = round((i * 0.7) % max(0.1, seconds - 2.0), 3)
        clips.append((src, start, round(start + 1.6, 3)))
    return clips


def concat_filter_command(spec, canvas, clips, infos, dst) -> list[str]:
    """The one-command reference: the same edit as a single filter graph."""
    argv = [ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    chains, labels = [], []
    n = 0
    for i, ((src, start, end), info) in enumerate(zip(clips, infos)):
        frames = clip_frames(start, end, canvas.fps)
        length = frames / canvas.fps
        argv += ["-ss", f"{start:.6f}", "-t", f"{length + 0.1:.6f}", "-i", str(src)]
        v = n
        n += 1
        chains.append(f"[{v}:v:0]{video_filters(canvas)},trim=end_frame={frames}[v{i}]")
        if info.audio is not None:
            a = f"{v}:a:0"
        else:
            argv += ["-f", "lavfi", "-t", f"{length + 0.1:.6f}", "-i",
                     f"anullsrc=r={canvas.sample_rate}:cl={canvas.layout}"]
            a = f"{n}:a:0"
            n += 1
        samples = clip_samples(frames, canvas)
        chains.append(f"[{a}]aresample={canvas.sample_rate},aformat=sample_fmts=fltp:channel_layouts={canvas.layout},"
                      f"asetpts=PTS-STARTPTS,apad,atrim=end_sample={samples}[a{i}]")
        labels.append(f"[v{i}][a{i}]")
    graph = ";".join(chains) + f";{''.join(labels)}concat=n={len(clips)}:v=1:a=1[vout][aout]"
    argv += ["-filter_complex", graph, "-map", "[vout]", "-map", "[aout]"]
    for key, value in {**_video_codec_args(spec, canvas.fps), **_audio_codec_args(spec)}.items():
        argv += [f"-{key}", str(value)]
    return argv + ["-movflags", "+faststart", str(dst), "-y"]


def audio_modes(spec, canvas, ranges, paths, work: Path) -> None:
    """Per-clip AAC joined by the concat demuxer vs MPR's whole-sequence audio, decoded sample counts."""
    want = sum(clip_samples(clip_frames(c.start, c.end, canvas.fps), canvas) for c in ranges)
    parts = []
    for i, (clip, src) in enumerate(zip(ranges, paths)):
        video, audio, both = work / f"pc{i}.mp4", work / f"pa{i}.m4a", work / f"pcav{i}.mp4"
        subprocess.run(clip_command(spec, canvas, clip, src, video), check=True, capture_output=True)
        subprocess.run(audio_command(spec, canvas, [clip], [src], audio), check=True, capture_output=True)
        subprocess.run([ffmpeg_path(), "-v", "error", "-i", str(video), "-i", str(audio), "-map", "0:v", "-map", "1:a",
                        "-c", "copy", str(both), "-y"], check=True)
        parts.append(both)
    listing = work / "perclip.ffconcat"
    listing.write_text(concat_list(parts))
    perclip = work / "perclip.mp4"
    subprocess.run([ffmpeg_path(), "-v", "error", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                    str(perclip), "-y"], check=True)
    whole = work / "whole.m4a"
    subprocess.run(audio_command(spec, canvas, ranges, paths, whole), check=True, capture_output=True)
    for name, path in (("per-clip AAC, concat demuxer", perclip), ("whole sequence once (MPR)", whole)):
        pcm = subprocess.run([ffmpeg_path(), "-v", "error", "-i", str(path), "-map", "0:a", "-ac", "1", "-f", "s16le", "-"],
                             capture_output=True, check=True).stdout
        got = len(pcm) // 2
        print(f"  audio, {name}: {got} samples decoded, video needs {want}: "
              f"{(got - want) / canvas.sample_rate * 1000:+.1f} ms ({(got - want) / len(ranges):+.0f} samples per clip)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each 1080p source")
    parser.add_argument("--clips", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--preset", default="H.264 1080p")
    args = parser.parse_args()

    spec = builtin_preset(args.preset)
    paths = sources(args.seconds)
    clips = edit(paths, args.clips, args.seconds)
    infos = [probe(src) for src, _, _ in clips]
    canvas = canvas_for(spec, infos)
    frames = sum(clip_frames(a, b, canvas.fps) for _, a, b in clips)
    print(f"sequence: {len(clips)} clips of 3 1080p sources (30/25/24 fps, one silent), {frames} frames at "
          f"{canvas.fps:g} fps, {canvas.width}x{canvas.height}, preset {spec.name!r}")

    with tempfile.TemporaryDirectory(prefix="mpr-bench-seq-", dir=CACHE) as tmp:
        work = Path(tmp)
        job = JobSpec(source=Location(area="in", key=paths[0].name), output=Location(area="out", key="seq.mp4"),
                      preset=spec.to_dict(), trim_mode="accurate",
                      sequence=SequenceSpec(tuple(SequenceClip(Location(area="in", key=src.name), a, b, info.to_dict())
                                                  for (src, a, b), info in zip(clips, infos)), canvas.to_dict()))
        started = time.monotonic()
        result = asyncio.run(run_sequence(job, [src for src, _, _ in clips], work / "mpr.mp4", NullReporter(),
                                          concurrency=args.concurrency, workdir=work, check_cuts=True))
        mpr_total = time.monotonic() - started
        mpr_render = result.stages["clips"] + result.stages["join"]

        started = time.monotonic()
        subprocess.run(concat_filter_command(spec, canvas, clips, infos, work / "filter.mp4"), check=True)
        reference = time.monotonic() - started
        ref_frames = stream_stats(work / "filter.mp4").video_frames

        print(f"MPR run_sequence (concurrency {args.concurrency}): render {mpr_render:.1f} s "
              f"(clips + audio {result.stages['clips']:.1f} s, join {result.stages['join']:.2f} s), "
              f"cut check {result.stages['verify']:.1f} s, total {mpr_total:.1f} s, {result.check.frames} frames")
        print(f"one ffmpeg, concat filter: {reference:.1f} s, {ref_frames} frames")
        print(f"wall-time ratio MPR render / concat filter: {mpr_render / reference:.2f} "
              f"(with the cut check: {mpr_total / reference:.2f}; goal <= 0.7 on 2 cores)")
        audio_modes(spec, canvas, [ClipRange(a, b, info) for (_, a, b), info in zip(clips, infos)],
                    [src for src, _, _ in clips], work)


if __name__ == "__main__":
    main()
