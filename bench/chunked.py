"""Chunked vs single-pass encoding: measured here, and modelled for 1 h of 1080p on AWS.

1. Locally, side by side on one 1080p30 clip (cached in bench/out): the single pass MPR runs
   today vs `encode_chunks` (the same plan the Lambda runs), wall time and CPU time of FFmpeg.
2. Speeds for the model, measured here: one chunk encoded alone (megapixels per CPU-second,
   which does not depend on how busy this shared machine is), the audio encoded (x realtime per
   CPU-second, whole and in segments with their pre-roll, packet join and join check included),
   the source's audio copied (MB of source per CPU-second) and the one-pass stream-copy join (MB/s).
3. A model of the AWS wall time for 1 h of 1080p30 at 1, 10, 50 and 200-way parallelism, for
   the deployed 3008 MB Lambda and a 10240 MB one, from those speeds and the assumptions printed
   with it (start-up, S3 throughput, bitrates), for each audio path (copy, segments, whole).
   Target: >= 60x realtime at 50-way on 3008 MB Lambdas with the audio path the planner picks.

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
from backend.media.audio_joins import check_audio_joins  # noqa: E402
from backend.media.chunking import (  # noqa: E402
    AUDIO_PART_SECONDS, audio_command, concat_list, join_adts, join_command, plan_chunks, plan_parts,
    read_frame_index, setts_filter, stream_stats,
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
HEAD_MB = 12.0  # the growing upload's first part: the MP4 index room (~11 MB for 1 h) + 1 MiB
MAX_INLINE_MAP = 40  # audio parts at once (the Map's MaxConcurrency)
TARGET_AT_50 = 60.0
IDLE_CHUNK_MP = 114.5  # x264 veryfast 1080p, MP per CPU-second, measured here at load 0.8 (docs/chunking.md)
AUDIO_PATHS = ("copy", "segments", "whole")


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


def audio_branch(mode: str, speeds: dict) -> float:
    """Seconds of the audio branch of the state machine for 1 h of audio, by path."""
    start = COLD_START_S + SFN_STATE_S
    source_mb = HOUR * (SOURCE_MBIT + AUDIO_MBIT) / 8
    audio_mb = HOUR * AUDIO_MBIT / 8
    if mode == "copy":  # parallel download of the source, the audio packets copied out, uploaded
        return start + source_mb / S3_PARALLEL_MBPS + source_mb / speeds["copy_mbps"] + audio_mb / S3_PARALLEL_MBPS
    if mode == "segments":  # parts of AUDIO_PART_SECONDS, each read through a presigned URL
        parts = math.ceil(HOUR / AUDIO_PART_SECONDS)
        waves = math.ceil(parts / MAX_INLINE_MAP)
        part_s = HOUR / parts
        read = S3_FIRST_BYTE_S + part_s * (SOURCE_MBIT + AUDIO_MBIT) / 8 / S3_STREAM_MBPS
        encode = part_s / speeds["segment_x"]
        return waves * (start + read + encode + S3_FIRST_BYTE_S + part_s * AUDIO_MBIT / 8 / S3_PARALLEL_MBPS)
    return start + source_mb / S3_PARALLEL_MBPS + HOUR / speeds["audio_x"]  # whole, one thread


def model(parallel: int, mp_per_s: float, speeds: dict, mode: str = "copy") -> dict:
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
    audio = audio_branch(mode, speeds)
    out_mb = HOUR * (OUTPUT_MBIT + AUDIO_MBIT) / 8
    parts = math.ceil(HOUR / AUDIO_PART_SECONDS) if mode == "segments" else 0
    copy_pass = chunks * speeds["per_file"] + out_mb / speeds["join_mbps"]  # one stream-copy pass
    upload = out_mb / S3_PARALLEL_MBPS  # goes up while the copy writes it (a growing multipart upload)
    join = (COLD_START_S + SFN_STATE_S + out_mb / S3_PARALLEL_MBPS  # download the chunks (and audio)
            + HOUR * AUDIO_MBIT / 8 / speeds["adts_mbps"] * (mode == "segments")  # keep the parts' packets
            + max(copy_pass, upload)
            + max(0, parts - 1) * speeds["check_s"]  # the audio join check, a short decode per join
            + HEAD_MB / S3_PARALLEL_MBPS)  # the head (index) part, sent last
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
        audio_job = replace(plan.audio, mode="whole", start=0.0, end=sound_info.duration, ext=".m4a")
        audio_path = work / "audio.m4a"
        audio_t, _ = await timed(run_ffmpeg(audio_command(audio_job, sound_info, sound, audio_path),
                                            duration=sound_info.duration, output=audio_path))
        # the same sound in segments of 30 s with their pre-roll, their packets kept and joined
        samples, packets, parts = plan_parts(0.0, sound_info.duration, 48000, 30.0)
        seg_job = replace(audio_job, mode="segments", ext=".aac", sample_rate=48000, samples=samples, packets=packets)
        seg_paths = [work / f"part-{p.index}.aac" for p in parts]
        seg_t = Timed(0.0, 0.0)
        for p, path in zip(parts, seg_paths):
            t, _ = await timed(run_ffmpeg(audio_command(seg_job, sound_info, sound, path, p),
                                          duration=p.samples / 48000, output=path))
            seg_t = Timed(seg_t.wall + t.wall, seg_t.cpu + t.cpu)
        t0 = time.process_time()
        join_adts(seg_paths, parts, work / "joined.aac", packets)
        adts_cpu = time.process_time() - t0
        adts_mb = (work / "joined.aac").stat().st_size / MB
        # the source's audio copied out of the 1080p clip (the whole file is read)
        copy_path = work / "copied.m4a"
        copy_job = replace(plan.audio, mode="copy", ext=".m4a")
        copy_t, _ = await timed(run_ffmpeg(audio_command(copy_job, info, src, copy_path),
                                           duration=info.duration, output=copy_path))
        big = work / "big.mp4"
        (work / "big.ffconcat").write_text(concat_list([one] * 50))
        await run_ffmpeg(join_command(plan.join, work / "big.ffconcat", big, frames=50 * middle.frames),
                         duration=1.0, output=big)
        joined = work / "joined.mp4"
        (work / "few.ffconcat").write_text(concat_list([big] * 4))
        join_t, _ = await timed(run_ffmpeg(join_command(plan.join, work / "few.ffconcat", joined, audio_path,
                                                        frames=200 * middle.frames),
                                           duration=1.0, output=joined))
        join_mb = joined.stat().st_size / MB
        (work / "many.ffconcat").write_text(concat_list([one] * 100))
        many_t, _ = await timed(run_ffmpeg(join_command(plan.join, work / "many.ffconcat", joined, audio_path,
                                                        frames=100 * middle.frames),
                                           duration=1.0, output=joined))
        many_mb = joined.stat().st_size / MB
        per_file = max(0.0, (many_t.cpu - many_mb * join_t.cpu / join_mb) / 100)
        # the join check on the segmented sound, muxed alone: a short decode around each join
        seg_mux = work / "segmented.m4a"
        subprocess.run([ffmpeg_path(), "-v", "error", "-y", "-i", str(work / "joined.aac"), "-c", "copy",
                        "-bsf:a", setts_filter(samples, packets),
                        str(seg_mux)], check=True)
        joins = [(p.first_packet - 1) * 1024 / 48000 for p in parts[1:]]
        cpu0, t0 = children_cpu(), time.process_time()
        report = check_audio_joins(seg_mux, joins, expected_samples=samples)
        check_cpu = children_cpu() - cpu0 + time.process_time() - t0
        return {
            "src": src, "info": info, "spec": spec, "plan": plan, "single": single, "chunked": chunked,
            "frames": (stream_stats(single_out).video_frames, result.stats.video_frames),
            "out_mbit": chunked_out.stat().st_size * 8 / MB / info.duration,
            "chunk": chunk_t, "chunk_mp": middle.frames * PIXELS / 1e6,
            "audio": audio_t, "audio_s": sound_info.duration, "join": join_t, "join_mb": join_mb,
            "per_file": per_file, "segments": seg_t, "parts": len(parts), "adts_mb": adts_mb, "adts_cpu": adts_cpu,
            "copy": copy_t, "copy_mb": src.stat().st_size / MB, "check_cpu": check_cpu, "joins": report.joins,
            "plan_audio": plan.audio_summary(),
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
    speeds = {
        "audio_x": m["audio_s"] / m["audio"].cpu,
        "segment_x": m["audio_s"] / m["segments"].cpu,
        "copy_mbps": m["copy_mb"] / max(m["copy"].cpu, 1e-3),
        "adts_mbps": m["adts_mb"] / max(m["adts_cpu"], 1e-3),
        "join_mbps": m["join_mb"] / m["join"].cpu,
        "per_file": m["per_file"],
        "check_s": m["check_cpu"] / max(1, len(m["joins"])),
    }
    print("\n2) speeds measured here (per CPU-second, so independent of this machine's load)")
    print(f"   one chunk: {m['chunk_mp']:.0f} MP in {m['chunk'].cpu:.1f} CPU-s = {mp_cpu:.1f} MP/CPU-s "
          f"({mp_cpu * 1e6 / PIXELS:.1f} fps of 1080p per core)")
    print(f"   audio whole ({plan.audio.spec['audio_codec']} {plan.audio.spec['audio_bitrate']} kbit/s, one thread): "
          f"{speeds['audio_x']:.0f}x realtime per CPU-s")
    print(f"   audio in {m['parts']} segments (30 s + pre-roll each): {speeds['segment_x']:.0f}x realtime per CPU-s; "
          f"keeping their packets {speeds['adts_mbps']:.0f} MB/CPU-s; join check "
          f"{speeds['check_s'] * 1000:.0f} CPU-ms per join, worst discontinuity "
          f"{max(j.discontinuity_db for j in m['joins']):.0f} dBFS")
    print(f"   audio copied out of the source: {speeds['copy_mbps']:.0f} MB of source per CPU-s")
    print(f"   join (one stream-copy pass, index reserved in front): {speeds['join_mbps']:.0f} MB per CPU-s, "
          f"+{m['per_file'] * 1000:.0f} ms per chunk file opened")
    print(f"   output bitrate of this lavfi clip: {m['out_mbit']:.2f} Mbit/s (the model assumes "
          f"{OUTPUT_MBIT:g} Mbit/s of real footage)")
    print(f"   audio path of this job: {m['plan_audio']}")

    print(f"\n3) model: 1 h of 1080p{FPS:g} on AWS Lambda + Step Functions")
    print(f"   assumptions: cold start {COLD_START_S} s per invocation, {SFN_STATE_S} s per state; "
          f"source {SOURCE_MBIT:g} Mbit/s + AAC {AUDIO_MBIT * 1000:g} kbit/s, read by FFmpeg at "
          f"{S3_STREAM_MBPS:g} MB/s;\n"
          f"   downloads/uploads (chunks, audio source, output) at {S3_PARALLEL_MBPS:g} MB/s; vCPUs = "
          f"memory/1769 MB, beyond 2 at {EXTRA_VCPU_EFFICIENCY:.0%}; a Lambda vCPU = one core here;\n"
          f"   more waves when one chunk would take over {MAX_CHUNK_ENCODE_S:g} s; audio parts of "
          f"{AUDIO_PART_SECONDS:g} s; join single-threaded at the speed above, its upload overlapping it.\n"
          f"   Audio paths: copy = the planner's choice for this job (the whole hour, its AAC already "
          f"what the preset asks);\n   segments = a trimmed range or a source to re-encode; whole = "
          f"before (one AAC encode of the hour), for comparison.")
    for memory in (3008, 10240):
        vcpu, mp_s = lambda_speed(mp_cpu, memory)
        print(f"\n   Lambda {memory} MB ({vcpu:.1f} vCPU): one chunk encodes at {mp_s:.0f} MP/s = "
              f"{mp_s * 1e6 / PIXELS / FPS:.2f}x realtime of 1080p30")
        print(f"   {'ways':>6}{'chunks':>8}{'chunk s':>9}{'video s':>9}{'join s':>8}"
              + "".join(f"{'audio ' + a:>15}{'x ' + a:>12}" for a in AUDIO_PATHS))
        for p in (1, 10, 50, 200):
            rows = {a: model(p, mp_s, speeds, a) for a in AUDIO_PATHS}
            r = rows["copy"]
            line = (f"   {p:6d}{r['chunks']:8d}{r['chunk_s']:9.1f}{r['video']:9.0f}{r['join']:8.0f}"
                    + "".join(f"{rows[a]['audio']:15.0f}{rows[a]['x']:12.1f}" for a in AUDIO_PATHS))
            print(line)
        r50 = {a: model(50, mp_s, speeds, a) for a in AUDIO_PATHS}
        if memory == 3008:
            copy_x, seg_x = r50["copy"]["x"], r50["segments"]["x"]
            print(f"   50-way, 3008 MB, audio copied: {copy_x:.1f} (audio in segments {seg_x:.1f}; whole "
                  f"{r50['whole']['x']:.1f})  <- target >= {TARGET_AT_50:g}x: "
                  + ("met" if min(copy_x, seg_x) >= TARGET_AT_50 else "NOT met"))
            load = os.getloadavg()[0]
            _, idle_mp_s = lambda_speed(IDLE_CHUNK_MP, memory)
            idle = {a: model(50, idle_mp_s, speeds, a)["x"] for a in AUDIO_PATHS}
            print(f"   (load average {load:.1f} on {os.cpu_count()} cores inflates CPU-seconds; with the chunk speed of "
                  f"an idle run, {IDLE_CHUNK_MP:g} MP/CPU-s: copy {idle['copy']:.1f}x, segments "
                  f"{idle['segments']:.1f}x, whole {idle['whole']:.1f}x)")
            print(f"   at 50-way the job waits for: video {r50['copy']['video']:.0f} s, then the join "
                  f"{r50['copy']['join']:.0f} s (download {HOUR * (OUTPUT_MBIT + AUDIO_MBIT) / 8 / S3_PARALLEL_MBPS:.0f} s, "
                  f"copy pass {HOUR * (OUTPUT_MBIT + AUDIO_MBIT) / 8 / speeds['join_mbps']:.0f} s and upload "
                  f"{HOUR * (OUTPUT_MBIT + AUDIO_MBIT) / 8 / S3_PARALLEL_MBPS:.0f} s side by side); audio copy "
                  f"{r50['copy']['audio']:.0f} s / segments {r50['segments']['audio']:.0f} s run beside the video")
    print("\n   Inline Map runs at most 40 iterations at once: 50- and 200-way need the DISTRIBUTED Map")
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
