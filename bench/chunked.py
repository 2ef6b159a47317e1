"""Chunked vs single-pass encoding: measured here, and modelled for 1 h of 1080p on AWS.

1. Locally, side by side on one 1080p30 clip (cached in bench/out): the single pass MPR runs
   today vs `encode_chunks` (the same plan the Lambda runs), wall time and CPU time of FFmpeg.
2. Speeds for the model, measured here: one chunk encoded alone (megapixels per CPU-second,
   which does not depend on how busy this shared machine is), the audio encoded alone
   (x realtime per CPU-second) and the stream-copy join (MB/s).
3. A model of the AWS wall time for 1 h of 1080p30 at 1, 10, 50 and 200-way parallelism, for
   the deployed 3008 MB Lambda and a 10240 MB one, from those speeds and the assumptions printed
   with it (start-up, S3 throughput, bitrates). Target: >= 30x realtime at 50-way.

    .venv/bin/python bench/chunked.py [--seconds 12] [--preset "H.264 1080p"] [--concurrency 2]
"""
from __future__ import annotations

import argparse
import asyncio
import math
import os
import resource
import shutil
import sys
import tempfile
import time
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.media.binaries import ffmpeg_path  # noqa: E402
from backend.media.chunking import (  # noqa: E402
    audio_command, concat_list, plan_chunks, read_frame_index, stream_stats,
)
from backend.media.clips import generate_clip  # noqa: E402
from backend.media.command import Trim, build_command, expected_duration  # noqa: E402
from backend.media.presets import builtin_preset  # noqa: E402
from backend.media.probe import probe  # noqa: E402
from backend.media.runner import run_ffmpeg  # noqa: E402
from backend.pipeline.chunked import encode_chunks  # noqa: E402

CACHE = Path(__file__).resolve().parent / "out"
MB = 1_000_000

# ---- stated assumptions of the AWS model (not measurable here) ----------------------------
HOUR = 3600.0
FPS = 30.0
PIXELS = 1920 * 1080
SOURCE_MBIT = 8.0  # 1080p30 H.264 source bitrate
OUTPUT_MBIT = 6.0  # "H.264 1080p" (veryfast CRF 21) output on real footage; lavfi clips are far smaller
AUDIO_MBIT = 0.16
VCPU_PER_MB = 1 / 1769  # Lambda: one vCPU per 1769 MB of memory
EXTRA_VCPU_EFFICIENCY = 0.75  # x264 threads beyond the 2 cores measured here scale at 75 %
COLD_START_S = 2.5  # container-image Lambda with ffmpeg (~70 MB), first invocation of a worker
SFN_STATE_S = 0.3  # Step Functions scheduling per state / Map iteration
S3_STREAM_MBPS = 80.0  # one HTTP stream (FFmpeg reading a presigned URL), MB/s
S3_PARALLEL_MBPS = 250.0  # boto3 multi-part transfers from one Lambda, MB/s
S3_FIRST_BYTE_S = 0.05
MAX_CHUNK_ENCODE_S = 600.0  # keep every invocation well under Lambda's 900 s
TARGET_AT_50 = 30.0


@dataclass
class Timed:
    wall: float
    cpu: float  # user + sys of the FFmpeg children


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


async def timed(coro) -> tuple[Timed, object]:
    cpu0, t0 = children_cpu(), time.perf_counter()
    result = await coro
    return Timed(time.perf_counter() - t0, children_cpu() - cpu0), result


def audio_clip(seconds: int = 120) -> Path:
    """Pink noise under a tone, as PCM: sound the AAC coder has to work at, like real footage."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"chunk-bench-sound-{seconds}s.wav"
    if not path.exists():
        subprocess.run([
            ffmpeg_path(), "-v", "error", "-y",
            "-f", "lavfi", "-i", f"anoisesrc=color=pink:amplitude=0.2:sample_rate=48000:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=330:sample_rate=48000:duration={seconds}",
            "-filter_complex", "[0][1]amix=inputs=2,aformat=channel_layouts=stereo", "-c:a", "pcm_s16le",
            str(path),
        ], check=True)
    return path


def source_clip(seconds: int) -> Path:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"chunk-bench-1080p-{seconds}s.mp4"
    if not path.exists():
        tmp = path.with_suffix(".tmp.mp4")
        generate_clip(tmp, duration=seconds, width=1920, height=1080, fps=30, gop=60,
                      extra_args=("-movflags", "+faststart"))
        tmp.rename(path)
    return path


# ---- the model ------------------------------------------------------------------------------
def lambda_speed(mp_per_cpu_s: float, memory_mb: int) -> tuple[float, float]:
    """(vCPUs, megapixels/s of one chunk encode) for a Lambda of `memory_mb`."""
    vcpu = memory_mb * VCPU_PER_MB
    effective = min(vcpu, 2.0) + max(0.0, vcpu - 2.0) * EXTRA_VCPU_EFFICIENCY
    return vcpu, mp_per_cpu_s * effective


def model(parallel: int, mp_per_s: float, audio_x_per_cpu_s: float, join_mbps: float, per_file_s: float) -> dict:
    content_mp = HOUR * FPS * PIXELS / 1e6
    encode_all = content_mp / mp_per_s  # one Lambda, all the video
    waves = max(1, math.ceil(encode_all / parallel / MAX_CHUNK_ENCODE_S))
    chunks = parallel * waves
    chunk_s = HOUR / chunks
    encode = chunk_s * FPS * PIXELS / 1e6 / mp_per_s
    read = S3_FIRST_BYTE_S + chunk_s * SOURCE_MBIT / 8 / S3_STREAM_MBPS
    upload = S3_FIRST_BYTE_S + chunk_s * OUTPUT_MBIT / 8 / S3_PARALLEL_MBPS
    per_chunk = COLD_START_S + SFN_STATE_S + read + encode + upload
    video = waves * per_chunk
    source_mb = HOUR * (SOURCE_MBIT + AUDIO_MBIT) / 8
    audio = COLD_START_S + SFN_STATE_S + source_mb / S3_PARALLEL_MBPS + HOUR / audio_x_per_cpu_s
    out_mb = HOUR * (OUTPUT_MBIT + AUDIO_MBIT) / 8
    join = (COLD_START_S + SFN_STATE_S + out_mb / S3_PARALLEL_MBPS  # download the chunks
            + chunks * per_file_s + out_mb / join_mbps  # concat copy + the +faststart rewrite
            + out_mb / S3_PARALLEL_MBPS)  # upload the output
    total = SFN_STATE_S + max(video, audio) + join
    without_audio = SFN_STATE_S + video + join
    return {"P": parallel, "chunks": chunks, "chunk_s": chunk_s, "waves": waves, "encode": encode,
            "video": video, "audio": audio, "join": join, "total": total, "x": HOUR / total,
            "x_video": HOUR / without_audio}


# ---- measurements ---------------------------------------------------------------------------
async def measure(args) -> dict:
    src = source_clip(args.seconds)
    info = probe(src)
    spec = builtin_preset(args.preset)
    trim = Trim()
    work = Path(tempfile.mkdtemp(prefix="mpr-bench-chunked-"))
    try:
        single_out = work / "single.mp4"
        argv = build_command(src, single_out, spec, trim, info)
        single, _ = await timed(run_ffmpeg(argv, duration=expected_duration(trim, info), output=single_out))

        target = args.chunk_seconds or max(2.0, args.seconds / (2 * args.concurrency))
        plan = plan_chunks(info, spec, trim, index=read_frame_index(src), target_seconds=target,
                           max_concurrency=args.concurrency)
        chunked_out = work / "chunked.mp4"
        chunked, result = await timed(encode_chunks(plan, src, chunked_out, None, args.concurrency))

        # one chunk alone, the audio alone (on realistic sound: lavfi's pure sine is a pathological
        # case for FFmpeg's AAC coder), the join alone (few large chunks, then many small ones)
        middle = plan.chunks[len(plan.chunks) // 2]
        one = work / "one-chunk.mp4"
        chunk_t, _ = await timed(run_ffmpeg(plan.chunk_command(middle.index, src, one),
                                            duration=middle.frames / info.video.fps, output=one))
        sound = audio_clip()
        sound_info = probe(sound, strict=False)  # probe() refuses PCM WAV (its end-of-file check)
        audio_job = replace(plan.audio, start=0.0, end=sound_info.duration)
        audio_path = work / f"audio{plan.audio.ext}"
        audio_t, _ = await timed(run_ffmpeg(audio_command(audio_job, sound_info, sound, audio_path),
                                            duration=sound_info.duration, output=audio_path))
        big = work / "big.mp4"
        (work / "big.ffconcat").write_text(concat_list([one] * 50))
        await run_ffmpeg(plan.join_command(work / "big.ffconcat", big), duration=1.0, output=big)
        joined = work / "joined.mp4"
        (work / "few.ffconcat").write_text(concat_list([big] * 4))
        join_t, _ = await timed(run_ffmpeg(plan.join_command(work / "few.ffconcat", joined, audio_path),
                                           duration=1.0, output=joined))
        join_mb = joined.stat().st_size / MB
        (work / "many.ffconcat").write_text(concat_list([one] * 100))
        many_t, _ = await timed(run_ffmpeg(plan.join_command(work / "many.ffconcat", joined, audio_path),
                                           duration=1.0, output=joined))
        many_mb = joined.stat().st_size / MB
        per_file = max(0.0, (many_t.cpu - many_mb * join_t.cpu / join_mb) / 100)
        return {
            "src": src, "info": info, "spec": spec, "plan": plan, "single": single, "chunked": chunked,
            "frames": (stream_stats(single_out).video_frames, result.stats.video_frames),
            "out_mbit": chunked_out.stat().st_size * 8 / MB / info.duration,
            "chunk": chunk_t, "chunk_mp": middle.frames * PIXELS / 1e6,
            "audio": audio_t, "audio_s": sound_info.duration, "join": join_t, "join_mb": join_mb,
            "per_file": per_file,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(m: dict, args) -> None:
    info, plan = m["info"], m["plan"]
    print(f"source: {m['src'].name}, {info.duration:.0f} s of {info.video.width}x{info.video.height} "
          f"at {info.video.fps:g} fps; preset {m['spec'].name!r}; {os.cpu_count()} cores here, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"\n1) locally, side by side ({len(plan.chunks)} chunks of ~{plan.target_seconds:g} s, "
          f"{args.concurrency} at a time)")
    print(f"   {'':14}{'wall s':>8}{'x realtime':>12}{'FFmpeg CPU s':>14}{'frames':>8}")
    for name, t, frames in (("single pass", m["single"], m["frames"][0]),
                            ("chunked", m["chunked"], m["frames"][1])):
        print(f"   {name:14}{t.wall:8.1f}{info.duration / t.wall:12.2f}{t.cpu:14.1f}{frames:8d}")
    print(f"   chunked / single wall time: {m['chunked'].wall / m['single'].wall:.2f}")

    mp_cpu = m["chunk_mp"] / m["chunk"].cpu
    audio_x = m["audio_s"] / m["audio"].cpu
    join_mbps = m["join_mb"] / m["join"].cpu
    print("\n2) speeds measured here (per CPU-second, so independent of this machine's load)")
    print(f"   one chunk: {m['chunk_mp']:.0f} MP in {m['chunk'].cpu:.1f} CPU-s = {mp_cpu:.1f} MP/CPU-s "
          f"({mp_cpu * 1e6 / PIXELS:.1f} fps of 1080p per core)")
    print(f"   audio ({plan.audio.spec['audio_codec']} {plan.audio.spec['audio_bitrate']} kbit/s, one thread): "
          f"{audio_x:.0f}x realtime per CPU-s")
    print(f"   join (concat stream copy + faststart rewrite): {join_mbps:.0f} MB per CPU-s, "
          f"+{m['per_file'] * 1000:.0f} ms per chunk file opened")
    print(f"   output bitrate of this lavfi clip: {m['out_mbit']:.2f} Mbit/s (the model assumes "
          f"{OUTPUT_MBIT:g} Mbit/s of real footage)")

    print(f"\n3) model: 1 h of 1080p{FPS:g} on AWS Lambda + Step Functions")
    print(f"   assumptions: cold start {COLD_START_S} s per invocation, {SFN_STATE_S} s per state; "
          f"source {SOURCE_MBIT:g} Mbit/s, read by FFmpeg at {S3_STREAM_MBPS:g} MB/s;\n"
          f"   downloads/uploads (chunks, audio source, output) at {S3_PARALLEL_MBPS:g} MB/s; vCPUs = "
          f"memory/1769 MB, beyond 2 at {EXTRA_VCPU_EFFICIENCY:.0%}; a Lambda vCPU = one core here;\n"
          f"   more waves when one chunk would take over {MAX_CHUNK_ENCODE_S:g} s; audio and join at "
          f"the speeds above (single-threaded)")
    for memory in (3008, 10240):
        vcpu, mp_s = lambda_speed(mp_cpu, memory)
        print(f"\n   Lambda {memory} MB ({vcpu:.1f} vCPU): one chunk encodes at {mp_s:.0f} MP/s = "
              f"{mp_s * 1e6 / PIXELS / FPS:.2f}x realtime of 1080p30")
        print(f"   {'ways':>6}{'chunks':>8}{'chunk s':>9}{'waves':>7}{'video s':>9}{'audio s':>9}"
              f"{'join s':>8}{'total s':>9}{'x realtime':>12}{'x w/o audio':>13}")
        for p in (1, 10, 50, 200):
            r = model(p, mp_s, audio_x, join_mbps, m["per_file"])
            flag = ""
            if p == 50:
                flag = "  <- target >= 30x: " + ("met" if r["x"] >= TARGET_AT_50 else "NOT met")
            print(f"   {p:6d}{r['chunks']:8d}{r['chunk_s']:9.1f}{r['waves']:7d}{r['video']:9.0f}"
                  f"{r['audio']:9.0f}{r['join']:8.0f}{r['total']:9.0f}{r['x']:12.1f}{r['x_video']:13.1f}{flag}")
    print("\n   'x w/o audio': the same job if the audio branch were never the longest (audio copied, or")
    print("   encoded in overlapping segments): the whole-audio AAC encode is one thread for the whole hour.")
    print("   Inline Map runs at most 40 iterations at once: 50- and 200-way need the DISTRIBUTED Map")
    print("   mode, and several such jobs at once a Lambda concurrency quota above the default 1000.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=12, help="length of the 1080p30 test clip")
    parser.add_argument("--preset", default="H.264 1080p")
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--chunk-seconds", type=float, default=None)
    args = parser.parse_args()
    report(asyncio.run(measure(args)), args)


if __name__ == "__main__":
    main()
