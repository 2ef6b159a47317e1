"""The audio of a chunked job, made off the critical path: copied from the source, or encoded
in a few segments whose AAC packets join into the very track one whole encode would write.

`audio_mode` picks, for the preset and the source:

- **copy** — the job covers the whole source and its audio already is what the preset asks:
  AAC (the only codec copied), same channel count and sample rate, and a bit rate at most
  `COPY_BITRATE_SLACK` (1.25x) of the preset's (a smaller one is copied too: re-encoding cannot
  add what is not there). The source's own track, priming and all, is stream-copied.
- **segments** — AAC at the source's sample rate (no resampler, whose phase would restart at
  every segment): the range is cut into parts of about `part_seconds`, on 1024-sample AAC frame
  boundaries. Part i > 0 starts `PREROLL_PACKETS` frames early and runs `POSTROLL_PACKETS` late;
  of what it writes (ADTS), the priming and pre-roll packets are dropped and exactly the packets
  the whole encode would have at those positions are kept. An AAC packet's MDCT window spans
  its own and the previous frame, so every kept packet is computed from the same samples as the
  whole encode's; the decoder's overlap-add at a join then cancels aliasing as anywhere else.
  The kept packets are concatenated (`join_adts`) and muxed with the whole encode's timestamps
  (`setts_filter`: first packet at -1024, the last one shortened to the range's end), so the
  joined track has the same packets, priming and sample count as a whole encode.
- **whole** — anything else (MP3, Opus, resampling, a range too short to split): one encode.

`backend.media.audio_joins.check_audio_joins` verifies a joined track (sample count, no
discontinuity at the joins).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from ..presets import PresetSpec
from ..probe import MediaInfo
from .commands import setts_filter  # noqa: F401 - the join's half of the packet join
from .plan import AudioPart

AAC_FRAME = 1024  # samples per AAC-LC packet; FFmpeg's encoder primes with one packet
PREROLL_PACKETS = 16  # ~0.34 s at 48 kHz: the source decoder's seek garbage and the encoder's state settle
POSTROLL_PACKETS = 4  # the encoder looks ahead to choose windows; its last kept packet sees real input
AUDIO_PART_SECONDS = 300.0  # one part per ~5 min: 12 encodes for an hour, each ~4 s of one core
COPY_BITRATE_SLACK = 1.25
DEFAULT_AAC_KBPS = 128  # FFmpeg's AAC default when the preset names no bit rate
COPY_CONTAINERS = ("mp4", "mov", "mkv")


def audio_mode(spec: PresetSpec, info: MediaInfo, whole_range: bool) -> tuple[str, str]:
    """("copy" | "segments" | "whole", why) for the audio of a chunked job."""
    src = info.audio
    if src is None or not spec.audio_codec:
        return "none", "no audio"
    if spec.audio_codec != "aac":
        return "whole", f"{spec.audio_codec} is encoded whole (only AAC is segmented)"
    if spec.container not in COPY_CONTAINERS:
        return "whole", f"AAC in {spec.container} is encoded whole"
    rate_kept = not spec.sample_rate or spec.sample_rate == src.sample_rate
    want_kbps = spec.audio_bitrate or DEFAULT_AAC_KBPS
    if (whole_range and src.codec == "aac" and rate_kept and (not spec.channels or spec.channels == src.channels)
            and src.bit_rate and src.bit_rate <= COPY_BITRATE_SLACK * want_kbps * 1000):
        return "copy", (f"the source's AAC ({src.channels} ch, {src.sample_rate} Hz, "
                        f"{src.bit_rate // 1000} kbit/s) already matches the preset")
    if not rate_kept:
        return "whole", f"resampling {src.sample_rate} to {spec.sample_rate} Hz is encoded whole"
    if not src.sample_rate:
        return "whole", "the source's sample rate is unknown"
    return "segments", ""


def plan_parts(start: float, end: float, sample_rate: int, part_seconds: float = AUDIO_PART_SECONDS
               ) -> tuple[int, int, tuple[AudioPart, ...]]:
    """(samples, packets, parts) of a segmented AAC encode of [start, end).

    The whole encode of N samples writes ceil(N / 1024) + 1 packets: packet k >= 1 decodes to
    samples [(k-1)*1024, k*1024) and its MDCT covers samples [(k-1)*1024, (k+1)*1024)
    (packet 0 is the priming). Part i keeps packets [first_i, first_{i+1}); its input starts
    PREROLL_PACKETS packets before, so its local packet m is global packet m + offset/1024.
    """
    samples = int(round((end - start) * sample_rate))
    packets = math.ceil(samples / AAC_FRAME) + 1
    count = max(1, min(int(round((end - start) / max(part_seconds, 1.0))),
                       (packets - 1) // (4 * PREROLL_PACKETS)))
    firsts = [0] + [round(i * packets / count) for i in range(1, count)] + [packets]
    parts = []
    for i in range(count):
        first, after = firsts[i], firsts[i + 1]
        if i == 0:
            offset, skip = 0, 0
        else:
            offset, skip = (first - PREROLL_PACKETS) * AAC_FRAME, PREROLL_PACKETS
        stop = samples if i == count - 1 else min(samples, (after + POSTROLL_PACKETS) * AAC_FRAME)
        parts.append(AudioPart(i, offset, stop - offset, skip, after - first, first))
    return samples, packets, tuple(parts)


# ---------------------------------------------------------------- joining the parts' packets

def adts_frames(data: bytes) -> list[bytes]:
    """Split an ADTS stream into its frames (one AAC packet each); ValueError if it is not one."""
    frames, i = [], 0
    while i < len(data):
        if len(data) - i < 7 or data[i] != 0xFF or (data[i + 1] & 0xF6) != 0xF0:
            raise ValueError(f"not an ADTS frame at byte {i}")
        length = ((data[i + 3] & 0x03) << 11) | (data[i + 4] << 3) | (data[i + 5] >> 5)
        if length < 7 or i + length > len(data):
            raise ValueError(f"truncated ADTS frame at byte {i}")
        frames.append(data[i:i + length])
        i += length
    return frames


def join_adts(paths: Sequence[str | Path], parts: Sequence[AudioPart], dst, packets: int) -> int:
    """Keep each part's packets (dropping its priming and pre-roll) and write them, in order, as
    one ADTS stream to `dst`; return the packet count (ValueError unless it is `packets`)."""
    total = 0
    with open(dst, "wb") as out:
        for path, part in zip(paths, parts, strict=True):
            frames = adts_frames(Path(path).read_bytes())
            kept = frames[part.skip:part.skip + part.keep]
            if len(kept) != part.keep:
                raise ValueError(f"audio part {part.index} wrote {len(frames)} packets; "
                                 f"{part.skip + part.keep} were needed")
            out.write(b"".join(kept))
            total += len(kept)
    if total != packets:
        raise ValueError(f"the joined audio has {total} packets, a whole encode writes {packets}")
    return total
