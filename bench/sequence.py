"""Sequence render: MPR (`run_sequence`: one FFmpeg per clip in parallel, the audio once, a stream-copy
join) vs one hand-written FFmpeg `concat`-filter command doing the same edit, on 1080p sources.

1. Three 1080p sources (30, 25 and 24 fps; the 24 fps one without audio), cached in bench/out.
2. A 10-clip sequence of them rendered with "H.264 1080p" by MPR (its time without the cut check,
   and the check's own time, printed apart) and by ONE ffmpeg: per clip `-ss/-t` inputs, the same
   conform chain (fps, scale, pad, setsar, format; aresample or anullsrc), `concat=n=10:v=1:a=1`,
   the same x264/AAC settings. Wall-time ratio MPR / concat filter (goal <= 0.7 on 2 cores).
3. Audio at the cuts, per-clip AAC vs the whole sequence once (MPR's choice): samples decoded
   after the join vs the samples the video's length asks for.
4. A model of the same render on AWS (sfn/transcode-sequence.asl.json) for a 20-clip, 30-minute
   sequence of 1080p30 sources: the executor's own plan (`aws_plan.sequence_mode`: items, parts),
   the wall time of the Map, the audio beside it and the join with its cut check, and what it
   costs. The AWS-side assumptions are bench/chunked.py's (stated there and printed); the speeds
   are measured here: x264 and AAC encode speed, the join's copy rate and the time of one cut
   comparison (from step 2, or from a short run with --aws-only).

No asserts: numbers only. Speed depends on the machine and on how busy it is.

    .venv/bin/python bench/sequence.py [--seconds 8] [--clips 10] [--concurrency 2]
    .venv/bin/python bench/sequence.py --aws-only      # just the AWS model (a few seconds of measuring)
"""
from __future__ import annotations

import argparse
import asyncio
import math
import resource
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
from backend.config import Settings  # noqa: E402
from backend.jobs.executors import aws_plan  # noqa: E402
from backend.pipeline import JobSpec, Location, NullReporter  # noqa: E402
from backend.pipeline.sequence import run_sequence  # noqa: E402
from backend.pipeline.spec import SequenceClip, SequenceSpec  # noqa: E402
from bench import chunked as aws  # noqa: E402  - the AWS model's stated assumptions (cold start, S3 rates, ...)

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
    parser.add_argument("--aws-only", action="store_true", help="only the AWS model (measures speeds briefly)")
    args = parser.parse_args()

    spec = builtin_preset(args.preset)
    paths = sources(args.seconds)
    if args.aws_only:
        with tempfile.TemporaryDirectory(prefix="mpr-bench-seq-", dir=CACHE) as tmp:
            speeds = measure_speeds(spec, paths[0], Path(tmp))
        aws_model(spec, speeds, join_mbps=400.0, check_s=0.9)
        print("   (join copy rate and cut comparison time: stated defaults; run without --aws-only to measure them)")
        return
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
        out_mb = (work / "mpr.mp4").stat().st_size / 1e6
        join_mbps = out_mb / max(result.stages["join"], 1e-3)
        check_s = result.stages["verify"] / max(1, len(result.check.cuts))
        speeds = measure_speeds(spec, paths[0], work)
        aws_model(spec, speeds, join_mbps=max(join_mbps, 1.0), check_s=check_s)


# ---- the AWS model: 20 clips, 30 minutes ------------------------------------------------------
AWS_CLIPS = 20
AWS_MINUTES = 30.0
LAMBDA_MB = 3008  # the deployed size (backend/awsdeploy/deploy.py)
# prices, us-east-1, x86, on-demand (stated, not measured)
LAMBDA_GB_S = 0.0000166667  # $ per GB-second
LAMBDA_REQUEST = 0.20 / 1e6  # $ per invocation
SFN_TRANSITION = 0.025 / 1000  # $ per Standard state transition
S3_PUT, S3_GET = 0.005 / 1000, 0.0004 / 1000  # $ per request


def cpu_seconds(argv: list[str]) -> tuple[float, float]:
    """(wall, CPU seconds of the child) of one FFmpeg run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    subprocess.run(argv, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.monotonic() - started, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def measure_speeds(spec, src: Path, work: Path) -> dict:
    """x264 MP per CPU-second of one 1080p clip at the preset's settings, and AAC x realtime (one thread)."""
    info = probe(src)
    canvas = canvas_for(spec, [info])
    clip = ClipRange(0.0, min(4.0, info.duration), info)
    frames = clip_frames(clip.start, clip.end, canvas.fps)
    _, cpu = cpu_seconds(clip_command(spec, canvas, clip, src, work / "speed.mp4"))
    noise = [ffmpeg_path(), "-v", "error", "-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.2:duration=120",
             "-ac", "2", "-ar", "48000", "-c:a", "aac", "-b:a", f"{spec.audio_bitrate or 128}k", "-threads", "1",
             "-f", "null", "-", "-y"]
    wall, _ = cpu_seconds(noise)
    return {"mp_per_cpu_s": frames * canvas.width * canvas.height / 1e6 / max(cpu, 1e-6), "aac_x": 120.0 / wall}


def aws_model(spec, speeds: dict, join_mbps: float, check_s: float) -> None:
    """Print the executor's plan and the modelled wall time and cost of 20 clips, 30 minutes on AWS."""
    seconds = AWS_MINUTES * 60 / AWS_CLIPS
    fps, width, height = aws.FPS, 1920, 1080
    canvas = {"width": width, "height": height, "fps": fps, "sample_rate": 48000, "channels": 2, "audio": True}
    source = {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": seconds + 60.0, "size": 1,
              "video": {"codec": "h264", "width": width, "height": height, "fps": fps},
              "audio": {"codec": "aac", "sample_rate": 48000, "channels": 2}}
    clips = tuple(SequenceClip(Location(bucket="in", key=f"source-{i % 3}.mp4"), 30.0, 30.0 + seconds, source)
                  for i in range(AWS_CLIPS))
    job = JobSpec(source=clips[0].input, output=Location(bucket="out", key="seq.mp4"), preset=spec.to_dict(),
                  trim_mode="accurate", sequence=SequenceSpec(clips, canvas))
    mode = aws_plan.sequence_mode(Settings().with_(sequence_state_machine_arn="arn:model"), {}, job)
    plan = mode.sequence
    vcpu, mp_s = aws.lambda_speed(speeds["mp_per_cpu_s"], LAMBDA_MB)
    start = aws.COLD_START_S + aws.SFN_STATE_S
    items = []
    for item in plan.items:
        clip_s = item.frames / fps
        skipped = item.first / fps  # a part decodes the clip from its in point and drops what precedes it
        read = aws.S3_FIRST_BYTE_S + (clip_s + skipped) * aws.SOURCE_MBIT / 8 / aws.S3_STREAM_MBPS
        encode = item.frames * width * height / 1e6 / mp_s
        upload = aws.S3_FIRST_BYTE_S + clip_s * aws.OUTPUT_MBIT / 8 / aws.S3_PARALLEL_MBPS
        items.append(start + read + encode + upload)
    waves = math.ceil(len(items) / plan.max_concurrency)
    video = waves * max(items)
    total_s = AWS_MINUTES * 60
    audio = start + total_s * (aws.SOURCE_MBIT + aws.AUDIO_MBIT) / 8 / aws.S3_STREAM_MBPS + total_s / speeds["aac_x"]
    out_mb = total_s * (aws.OUTPUT_MBIT + aws.AUDIO_MBIT) / 8
    cuts = 2 * AWS_CLIPS
    join_parts = {"download": out_mb / aws.S3_PARALLEL_MBPS, "copy": out_mb / join_mbps,
                  "cut check": cuts * check_s, "upload": out_mb / aws.S3_PARALLEL_MBPS}
    join = start + sum(join_parts.values())
    wall = aws.SFN_STATE_S + max(video, audio) + join
    gb = LAMBDA_MB / 1024
    lambda_s = sum(items) + audio + join
    transitions = 2 + 2 * len(items) + 2 + 2 + 1  # Parallel, Map, per item (enter/exit), audio, join, done
    requests = len(items) * 3 + 2 + len(items) * 2 + 4  # GETs/PUTs of parts, markers, output (approximate)
    cost = {"Lambda": lambda_s * gb * LAMBDA_GB_S + (len(items) + 2) * LAMBDA_REQUEST,
            "Step Functions": transitions * SFN_TRANSITION, "S3 requests": requests * (S3_PUT + S3_GET) / 2}
    print(f"\n4) model: {AWS_CLIPS} clips, {AWS_MINUTES:g} minutes of 1080p{fps:g} on AWS "
          f"(sfn/transcode-sequence.asl.json), preset {spec.name!r}")
    print(f"   measured here: x264 {speeds['mp_per_cpu_s']:.0f} MP per CPU-second, AAC {speeds['aac_x']:.0f}x realtime "
          f"(one thread), join copy {join_mbps:.0f} MB/s, one cut comparison {check_s:.2f} s")
    print(f"   assumed (bench/chunked.py): cold start {aws.COLD_START_S} s, {aws.SFN_STATE_S} s per state, source "
          f"{aws.SOURCE_MBIT:g} Mbit/s read at {aws.S3_STREAM_MBPS:g} MB/s, output {aws.OUTPUT_MBIT:g} Mbit/s, "
          f"transfers {aws.S3_PARALLEL_MBPS:g} MB/s; Lambda {LAMBDA_MB} MB = {vcpu:.1f} vCPU -> {mp_s:.0f} MP/s "
          f"= {mp_s * 1e6 / (width * height * fps):.2f}x realtime per clip")
    print(f"   the executor's plan: {plan.clips} clips as {len(plan.items)} Map items "
          f"(parts per clip {sorted(set(plan.summary()['clip_parts']))}), concurrency {plan.max_concurrency}, "
          f"{plan.frames} frames; reason: {mode.record['reason']}")
    print(f"   longest item: {max(items):.0f} s (start {start:.1f} s, then read + encode + upload); "
          f"{waves} wave(s): video {video:.0f} s; audio beside it {audio:.0f} s (one Lambda reads every clip's range "
          f"through a presigned URL and encodes {total_s:.0f} s of AAC)")
    print(f"   join {join:.0f} s: " + ", ".join(f"{k} {v:.0f} s" for k, v in join_parts.items()))
    print(f"   wall time {wall:.0f} s = {total_s / wall:.1f}x realtime; Lambda {lambda_s:.0f} s x {gb:.2f} GB; cost "
          + ", ".join(f"{k} ${v:.4f}" for k, v in cost.items()) + f" = ${sum(cost.values()):.3f} per render")
    one = total_s * width * height * fps / 1e6 / mp_s
    print(f"   for comparison, the whole video in ONE Lambda would take {one:.0f} s of encoding (Lambda stops at 900 s)")


if __name__ == "__main__":
    main()
