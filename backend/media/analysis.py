"""What a file shows and sounds like, in ONE FFmpeg pass: audio peaks, scene cuts, black segments,
silences and EBU R128 loudness. Knows nothing of the catalog; `backend.catalog.analysis` stores it.

The pass decodes the source once. Video: the keyframes (`select` of key frames into `showinfo`),
and a 64 px thumbnail (nearest neighbour, almost free) fed to `scdet` (scene score, cuts above
SCENE_THRESHOLD) and `blackdetect`. Audio: split
three ways, the original channels into `ebur128=peak=true` (integrated loudness, its gating
threshold, loudness range, true peak: the measurement a linear `loudnorm` needs) and
`silencedetect`, and a mono mix as 8-bit PCM on stdout, reduced here to one (min, max) pair per
10 ms. The detectors report on stderr, which is parsed line by line; only matching lines are kept.

Peaks are stored as a small binary file (`encode_peaks`): the 8-byte magic `MPRPEAK1`, peaks per
second and pair count (little-endian uint32 each), then one signed byte pair (min, max) per 10 ms,
full scale = ±127. An hour of sound is 720 kB; the UI draws it on a canvas.
"""
from __future__ import annotations

import asyncio
import os
import contextlib
import re
import struct
import subprocess
from array import array
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageChops

from .binaries import ffmpeg_path
from .paths import ff_target
from .probe import Loudness, MediaInfo
from .thumbnails import MAX_TILES, POSTER_WIDTH, FilmstripInfo, one_pass_graph
from . import limits
from .runner import pick_message

PEAKS_PER_SECOND = 100  # one (min, max) pair per 10 ms
PEAKS_MAGIC = b"MPRPEAK1"
_HEADER = struct.Struct("<8sII")
SCENE_THRESHOLD = 10.0  # scdet score (0..100) above which a frame starts a new shot
BLACK_MIN_SECONDS = 0.1
BLACK_PIXEL_THRESHOLD = 0.10
SILENCE_NOISE_DB = -50
SILENCE_MIN_SECONDS = 0.5
ANALYSIS_VERSION = 1  # bump when what is measured changes: the backfill then measures again
TIMEOUT_BASE_SECONDS = 120.0  # the pass is stopped after this + TIMEOUT_PER_MEDIA_SECOND × duration
TIMEOUT_PER_MEDIA_SECOND = 8.0  # a single decoding thread on a busy machine, 4K HEVC included
TIMEOUT_MAX_SECONDS = 4 * 3600.0


def pass_timeout(info: MediaInfo) -> float:
    """How long the analysis of this source may run before it is stopped (a bounded ingest)."""
    return min(TIMEOUT_MAX_SECONDS, TIMEOUT_BASE_SECONDS + TIMEOUT_PER_MEDIA_SECOND * max(info.duration or 0.0, 0.0))

_KEYFRAME = re.compile(r"\bpts_time:\s*(-?[\d.]+)")
MAX_KEYFRAMES = 20000
_SCENE = re.compile(r"lavfi\.scd\.score:\s*([\d.]+),\s*lavfi\.scd\.time:\s*([\d.]+)")
_BLACK = re.compile(r"black_start:\s*([\d.]+)\s+black_end:\s*([\d.]+)")
_SIL_START = re.compile(r"silence_start:\s*(-?[\d.]+)")
_SIL_END = re.compile(r"silence_end:\s*(-?[\d.]+)")
_SUMMARY = re.compile(r"^\s*(I|Threshold|LRA|Peak):\s*(-?[\d.]+|-inf|inf|nan)\s")


class AnalysisError(Exception):
    """The analysis pass failed; str(e) says why."""


@dataclass(frozen=True)
class Pictures:
    """Poster and filmstrip to make in the same pass (the video is decoded anyway): where to write
    them and the filmstrip's shape, as `thumbnails.make_thumbnails` takes them."""

    poster: Path
    filmstrip: Path
    frames: int = 12
    tile_width: int = 160
    poster_width: int = POSTER_WIDTH


def can_make_pictures(info: MediaInfo) -> bool:
    """Whether the analysis pass can also make the poster and filmstrip of this source."""
    return (info.video is not None and not info.is_image and info.video.codec != "webp"
            and (info.duration or 0) > 0)


@dataclass(frozen=True)
class Analysis:
    """Times in seconds from the start of the file; ranges are (start, end)."""

    duration: float
    scene_cuts: tuple[float, ...] = ()
    keyframes: tuple[float, ...] = ()
    black_ranges: tuple[tuple[float, float], ...] = ()
    silence_ranges: tuple[tuple[float, float], ...] = ()
    loudness: Loudness | None = None
    peaks: bytes = b""  # encode_peaks(...) output; empty without audio
    notes: list[str] = field(default_factory=list)
    pictures: FilmstripInfo | None = None  # the filmstrip, when Pictures were asked for and made


# ---------------------------------------------------------------- peaks file

def encode_peaks(pairs: array, rate: int = PEAKS_PER_SECOND) -> bytes:
    """The waveform file: header + (min, max) signed bytes, `pairs` flat [min0, max0, min1, ...]."""
    return _HEADER.pack(PEAKS_MAGIC, rate, len(pairs) // 2) + pairs.tobytes()


def decode_peaks(data: bytes) -> tuple[int, list[tuple[int, int]]]:
    """(peaks per second, [(min, max), ...]) from a waveform file; ValueError when it is not one."""
    if len(data) < _HEADER.size:
        raise ValueError("waveform file is too short")
    magic, rate, count = _HEADER.unpack_from(data)
    if magic != PEAKS_MAGIC or len(data) != _HEADER.size + 2 * count or rate <= 0:
        raise ValueError("not a waveform file")
    body = array("b", data[_HEADER.size:])
    return rate, list(zip(body[0::2], body[1::2]))


# u8 sample -> the stored signed byte: 128 is silence, full scale is ±127 (0 would be -128)
_LOW_BYTE = bytes(max(v - 128, -127) & 0xFF for v in range(256))
_HIGH_BYTE = bytes(min(v - 128, 127) & 0xFF for v in range(256))


def _fold(img: Image.Image, pick) -> bytes:
    """Per row of `img` (one window of samples a row), the sample `pick` keeps: the row's left
    and right halves are combined pixel by pixel until one column is left (halves of an odd width
    share their middle column, which min and max do not mind). ~log2(window) C calls in all."""
    width, height = img.size
    while width > 1:
        half = (width + 1) // 2
        img = pick(img.crop((0, 0, half, height)), img.crop((width - half, 0, width, height)))
        width = half
    return img.tobytes()


class _PeakReducer:
    """Mono unsigned 8-bit PCM in (128 = silence: the peaks file keeps 8 bits anyway), one (min,
    max) signed pair per `window` samples out. The windows of each chunk are the rows of an 8-bit
    Pillow image and `_fold` takes their min and max with ImageChops.darker/lighter: the same bytes
    as min()/max() per window, a tenth of the CPU (pure Python iterates every sample)."""

    BATCH_WINDOWS = 512  # windows reduced at once: the ~60 Pillow calls of a batch cost ~0.1 ms

    def __init__(self, window: int) -> None:
        self.window = max(1, window)
        self.pending = bytearray()
        self.pairs = array("b")

    def _reduce(self, data: bytes) -> None:
        rows = len(data) // self.window
        img = Image.frombuffer("L", (self.window, rows), data, "raw", "L", 0, 1)
        pairs = bytearray(2 * rows)
        pairs[0::2] = _fold(img, ImageChops.darker).translate(_LOW_BYTE)
        pairs[1::2] = _fold(img, ImageChops.lighter).translate(_HIGH_BYTE)
        self.pairs.frombytes(pairs)

    def _flush(self) -> None:
        usable = len(self.pending) - len(self.pending) % self.window
        if usable:
            self._reduce(bytes(self.pending[:usable]))
            del self.pending[:usable]

    def feed(self, data: bytes) -> None:
        self.pending += data
        if len(self.pending) >= self.BATCH_WINDOWS * self.window:
            self._flush()

    def finish(self) -> array:
        self._flush()
        if data := self.pending:  # the last, shorter window
            self.pairs.frombytes(bytes((_LOW_BYTE[min(data)], _HIGH_BYTE[max(data)])))
        self.pending = bytearray()
        return self.pairs


# ---------------------------------------------------------------- the pass

def _spawn_options() -> dict:
    """How the pass's ffmpeg is started: bounded like the other FFmpeg runs of ingest (the
    probe/thumbnail memory cap, an environment without the server's secrets) and dying with this
    process (PR_SET_PDEATHSIG)."""
    return {"env": limits.child_env(),
            "preexec_fn": limits.child_preexec(os.getpid(), limits.LIMITS.probe_memory_bytes)}


async def _kill(proc: asyncio.subprocess.Process, readers: asyncio.Future) -> None:
    """Kill ffmpeg and reap it. The readers keep draining its pipes meanwhile: a pipe left full
    would never report EOF, and asyncio's wait() for the process would then never return."""
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    try:
        await asyncio.wait_for(readers, 10)
    except BaseException:  # noqa: BLE001 - its outcome does not matter any more
        readers.cancel()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(proc.wait(), 10)



def analysis_argv(src, info: MediaInfo, pictures: Pictures | None = None) -> list[str]:
    """ffmpeg argv of the analysis pass: detector reports on stderr, mono 8-bit PCM on stdout, and with
    `pictures` the poster and filmstrip JPEGs."""
    parts, maps, picture_outputs = [], [], []
    if pictures is not None and not can_make_pictures(info):
        raise AnalysisError("this source's pictures are made by thumbnails.make_thumbnails")
    if info.video is not None and not info.is_image:
        video = "[0:v:0]split=2[v][k];"
        if pictures is not None:
            if not 1 <= pictures.frames <= MAX_TILES:
                raise ValueError(f"frames must be between 1 and {MAX_TILES}, got {pictures.frames}")
            graph, picture_outputs, _ = one_pass_graph(
                info, pictures.poster, pictures.filmstrip, frames=pictures.frames,
                tile_width=pictures.tile_width, poster_width=pictures.poster_width, source="[t]", prefix="t")
            video = f"[0:v:0]split=3[v][k][t];{graph};"
        parts.append(
            video + "[k]select='eq(key,1)',showinfo=checksum=0,nullsink;"  # keyframes: a log line each
            "[v]scale=64:-2:flags=neighbor,"
            f"scdet=threshold={SCENE_THRESHOLD:g},"
            f"blackdetect=d={BLACK_MIN_SECONDS:g}:pix_th={BLACK_PIXEL_THRESHOLD:g}"
            + (",nullsink" if info.audio is not None else "[vo]")  # a graph needs one output
        )
    if info.audio is not None:
        parts.append(
            "[0:a:0]asplit=3[r][s][p];"
            "[r]ebur128=peak=true:framelog=quiet,anullsink;"
            f"[s]silencedetect=n={SILENCE_NOISE_DB}dB:d={SILENCE_MIN_SECONDS:g},anullsink;"
            "[p]aformat=sample_fmts=u8:channel_layouts=mono[pcm]"
        )
        maps = ["-map", "[pcm]", "-flush_packets", "0", "-f", "u8", "pipe:1"]
    else:
        maps = ["-map", "[vo]", "-f", "null", "-"]
    if not parts:
        raise AnalysisError("nothing to analyse: the source has neither audio nor moving pictures")
    # no deblocking when only the detectors look (a 64 px thumbnail): ~12 % less CPU to decode;
    # the poster and filmstrip are made from properly decoded frames
    fast = ["-skip_loop_filter", "all"] if info.video is not None and not info.is_image and pictures is None else []
    return [ffmpeg_path(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info", "-y",
            "-threads", "1", "-filter_complex_threads", "1", *fast, "-sn", "-dn", "-i", ff_target(src),
            "-filter_complex", ";".join(parts), *picture_outputs, *maps]


@dataclass
class _Log:
    cuts: list[float] = field(default_factory=list)
    keyframes: list[float] = field(default_factory=list)
    black: list[tuple[float, float]] = field(default_factory=list)
    silence: list[tuple[float, float]] = field(default_factory=list)
    open_silence: float | None = None
    summary: dict[str, float] = field(default_factory=dict)
    in_summary: bool = False
    tail: list[str] = field(default_factory=list)

    def line(self, text: str) -> None:
        if "showinfo" in text:
            if (m := _KEYFRAME.search(text)) and len(self.keyframes) < MAX_KEYFRAMES:
                self.keyframes.append(float(m.group(1)))
        elif m := _SCENE.search(text):
            self.cuts.append(float(m.group(2)))
        elif m := _BLACK.search(text):
            self.black.append((float(m.group(1)), float(m.group(2))))
        elif m := _SIL_START.search(text):
            self.open_silence = max(0.0, float(m.group(1)))
        elif m := _SIL_END.search(text):
            start = self.open_silence if self.open_silence is not None else 0.0
            self.silence.append((start, float(m.group(1))))
            self.open_silence = None
        elif "Summary:" in text and "ebur128" in text:
            self.in_summary = True
        elif self.in_summary and (m := _SUMMARY.match(text)):
            key = m.group(1)
            if key == "Threshold":  # the first threshold is the integrated one, the second LRA's
                key = "Threshold" if "Threshold" not in self.summary else "LRA threshold"
            self.summary.setdefault(key, float(m.group(2)))
        else:
            self.tail = (self.tail + [text])[-20:]


def _loudness(summary: dict[str, float]) -> Loudness | None:
    if not {"I", "Threshold", "LRA", "Peak"} <= summary.keys():
        return None
    return Loudness(integrated=summary["I"], threshold=summary["Threshold"], range=summary["LRA"],
                    true_peak=summary["Peak"])


def _finish(log: _Log, duration: float, fps: float | None) -> tuple[tuple, tuple, tuple]:
    frame = 1.0 / fps if fps else 0.04
    black = []
    for start, end in log.black:  # blackdetect ends a range at the last black frame's start
        if duration and end + 1.5 * frame >= duration:
            end = duration
        black.append((round(start, 4), round(end, 4)))
    silence = [(round(a, 4), round(b, 4)) for a, b in log.silence]
    if log.open_silence is not None and duration:  # silent to the end
        silence.append((round(log.open_silence, 4), round(duration, 4)))
    cuts = tuple(sorted({round(t, 4) for t in log.cuts if 0 < t < (duration or float("inf"))}))
    return cuts, tuple(black), tuple(silence)


async def analyze(src, info: MediaInfo, *, timeout: float | None = None,
                  pictures: Pictures | None = None) -> Analysis:
    """Run the analysis pass over `src` (a path or URL) described by `info`; with `pictures`, make
    the poster and filmstrip in the same pass (`Analysis.pictures` says whether both were made)."""
    argv = analysis_argv(src, info, pictures)
    timeout = pass_timeout(info) if timeout is None else timeout
    if pictures is not None:
        for path in (pictures.poster, pictures.filmstrip):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)
    rate = info.audio.sample_rate if info.audio and info.audio.sample_rate else 48000
    reducer = _PeakReducer(round(rate / PEAKS_PER_SECOND))
    log = _Log()
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, **_spawn_options(),
    )

    async def read_pcm() -> None:
        while chunk := await proc.stdout.read(1 << 16):
            reducer.feed(chunk)

    async def read_log() -> None:
        while raw := await proc.stderr.readline():
            log.line(raw.decode("utf-8", "replace").rstrip("\r\n"))

    readers = asyncio.ensure_future(asyncio.gather(read_pcm(), read_log()))
    try:
        done, _ = await asyncio.wait({readers}, timeout=timeout)
        if not done:
            raise AnalysisError(f"analysis took longer than {timeout:g} s and was stopped")
        await readers
        rc = await proc.wait()
    except BaseException:  # a timeout, a cancel, a reader's error: ffmpeg must not outlive this call
        await asyncio.shield(_kill(proc, readers))
        raise
    if rc != 0:
        raise AnalysisError(pick_message(log.tail, rc) or f"ffmpeg exited with {rc}")
    cuts, black, silence = _finish(log, info.duration or 0.0, info.video.fps if info.video else None)
    notes = []
    loudness = _loudness(log.summary) if info.audio is not None else None
    if info.audio is not None and loudness is None:
        notes.append("no loudness summary from ebur128")
    pairs = reducer.finish() if info.audio is not None else array("b")
    keyframes = tuple(sorted({round(max(t, 0.0), 4) for t in log.keyframes}))
    made = None
    if pictures is not None:
        made = one_pass_graph(info, pictures.poster, pictures.filmstrip, frames=pictures.frames,
                              tile_width=pictures.tile_width, poster_width=pictures.poster_width)[2]
        if not all(p.exists() and p.stat().st_size for p in (pictures.poster, pictures.filmstrip)):
            made = None  # e.g. the container promised more than the stream holds
            notes.append("the pass made no poster/filmstrip")
    return Analysis(pictures=made, duration=info.duration or 0.0, scene_cuts=cuts, keyframes=keyframes, black_ranges=black,
                    silence_ranges=silence, loudness=loudness,
                    peaks=encode_peaks(pairs) if info.audio is not None else b"", notes=notes)


__all__ = ["ANALYSIS_VERSION", "Analysis", "AnalysisError", "Pictures", "can_make_pictures", "PEAKS_PER_SECOND",
           "analysis_argv", "analyze", "decode_peaks", "encode_peaks", "measure_loudness"]


def measure_loudness(path, *, timeout: float = 600) -> Loudness:
    """EBU R128 measurement of a file's first audio stream (blocking; used to verify outputs)."""
    argv = [ffmpeg_path(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info", "-i", ff_target(path),
            "-map", "0:a:0", "-filter:a", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AnalysisError(f"loudness measurement took longer than {timeout:g} s") from None
    log = _Log()
    for line in proc.stderr.splitlines():
        log.line(line)
    loudness = _loudness(log.summary)
    if proc.returncode != 0 or loudness is None:
        raise AnalysisError(pick_message(log.tail, proc.returncode) or "no loudness summary from ebur128")
    return loudness
