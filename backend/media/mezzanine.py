"""The mezzanine preset: how a sequence is rendered once, as a high-quality intermediate, before an
output template's outputs are made from it (`renderSequence(id, templateId)`, docs/sequences.md).

A template's outputs (renditions, files, poster, storyboard) are made from ONE source, decoded
once for the whole package (`media.ladder`). A sequence is several sources, each conformed to one
canvas and joined (`media.sequence`), so its template job renders the sequence first into this
preset — H.264 at CRF 14 (`veryfast`), AAC 320 kbit/s, in MP4, so the sequence runner's conform,
join and cut check apply unchanged — and then runs the template on that file exactly as on an
asset. The cost is one extra encode (the intermediate); its quality is high enough that the
template's outputs, all at much lower rates, lose nothing visible to it.

Its size: no larger than the template's largest output asks for (`max_width` / `max_height`, the
largest of the template's video and image outputs; none when any of them keeps the source's size),
and, as every sequence canvas, never larger than the largest clip (`command.output_size` never
upscales). An audio-only template still needs a picture (a sequence is video clips): it gets a
small one, AUDIO_ONLY_HEIGHT px high, which no output uses.
"""
from __future__ import annotations

from .presets import PresetSpec, validate_preset
from .templates import TemplateSpec

MEZZANINE_NAME = "sequence mezzanine"
MEZZANINE_CRF = 14
MEZZANINE_SPEED = "veryfast"
MEZZANINE_AUDIO_KBPS = 320
AUDIO_ONLY_HEIGHT = 360


def _largest(values: list[int | None]) -> int | None:
    """The largest limit, or None (no limit) when there is none or any output has none."""
    if not values or any(v is None for v in values):
        return None
    return max(values)


def mezzanine_preset(template: TemplateSpec) -> PresetSpec:
    """The video preset a sequence is rendered with before `template` runs on the result."""
    pictures = [p for p in [*template.renditions, *template.files] + ([template.poster] if template.poster else [])
                if p.kind in ("video", "image")]
    if pictures:
        max_width = _largest([p.max_width for p in pictures])
        max_height = _largest([p.max_height for p in pictures])  # each >= every output's: never smaller
    else:  # audio-only outputs (and perhaps a storyboard): the picture is a by-product
        max_width, max_height = None, AUDIO_ONLY_HEIGHT
    channels = max([p.channels for p in [o.preset for o in template.outputs if o.preset] if p.channels] or [2])
    return validate_preset(PresetSpec(
        MEZZANINE_NAME, "video", "mp4", f"H.264 CRF {MEZZANINE_CRF} intermediate of a sequence for {template.name!r}",
        video_codec="libx264", crf=MEZZANINE_CRF, speed_preset=MEZZANINE_SPEED,
        max_width=max_width, max_height=max_height,
        audio_codec="aac", audio_bitrate=MEZZANINE_AUDIO_KBPS, channels=channels))
