"""`run_ladder`: one job, several outputs, from a JobSpec with a `ladder` (an output template).

The streaming package is ONE guarded FFmpeg run (`media.ladder.ladder_command`: the source
decoded once, `split` into every rendition and the storyboard tiler, CMAF segments with HLS and
DASH views), then `media.packaging.finish_package` measures and checks it and writes the master
playlist. Ordinary file outputs and the poster reuse `run_single` (each its own pass, checked
like any job's output). Everything lands in `outdir`; the adapter stores that folder under the
job's output prefix. Progress is shared between the steps by weight.
"""
from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from backend.media.ladder import MANIFEST, MASTER, Ladder, fit_ladder, ladder_command, storyboard_command
from backend.media.packaging import PackageError, finish_package, write_storyboard_vtt
from backend.media.templates import TemplateSpec, output_file_name
from backend.media.probe import MediaInfo
from backend.media.verify import VerificationError

from .guard import run_guarded
from .reporter import Reporter, Share, call, progress_sink
from .single import run_single
from .spec import JobSpec, SpecError


@dataclass
class LadderResult:
    ladder: Ladder
    outputs: list[dict]  # one per rendition / file / poster / storyboard, skipped rungs included
    files: list[str] = field(default_factory=list)  # every file written, relative to outdir
    playback: str | None = None  # the master playlist, relative to outdir
    primary: tuple[str, MediaInfo] | None = None  # the first ordinary file: the job's output asset
    log_tail: str = ""

    def note(self) -> str:
        done = [o for o in self.outputs if o["status"] == "succeeded"]
        text = f"{len(done)} output(s) verified"
        skipped = [o for o in self.outputs if o["status"] == "skipped"]
        if skipped:
            text += "; skipped " + "; ".join(f"{o['name']} ({o['reason']})" for o in skipped)
        return text

    def record(self) -> dict:
        return {"mode": "ladder", **self.ladder.summary()}


def playback_name(ladder: Ladder) -> str:
    """The package's entry file: the HLS master, or the DASH manifest of a DASH-only package."""
    return MASTER if ladder.packaging != "dash" else MANIFEST


async def finish_rendition_package(outdir: Path, ladder: Ladder) -> list[dict]:
    """Measure and check the package FFmpeg wrote into `outdir`, write its master playlist; one
    output record per rendition. Raises VerificationError."""
    try:
        measured = await asyncio.to_thread(finish_package, outdir, ladder)
    except PackageError as exc:
        raise VerificationError(f"package check failed: {exc}") from exc
    return rendition_records(measured, outdir, ladder)


def rendition_records(measured, outdir: Path, ladder: Ladder) -> list[dict]:
    """`job.outputs` records of the measured renditions (keys relative to the package folder)."""
    records = []
    for m in measured:
        out = {"name": m.rung.name, "role": "rendition", "kind": m.rung.kind, "status": "succeeded",
               "key": m.rung.playlist if ladder.packaging != "dash" else None,
               "size": m.media_bytes + (Path(outdir) / m.init).stat().st_size,
               "bitrate": m.average, "peak_bitrate": m.peak, "duration": round(m.duration, 3),
               "segments": len(m.segments), "codecs": m.codecs,
               "verification": f"{len(m.segments)} segments, {m.duration:.3f} s"
                               + (", keyframe-aligned" if m.rung.kind == "video" else "")}
        if m.rung.kind == "video":
            out.update(width=m.rung.width, height=m.rung.height, frame_rate=m.frame_rate)
        records.append(out)
    return records


async def finish_storyboard(outdir: Path, ladder: Ladder) -> dict:
    """Tile the thumbnails FFmpeg wrote into sprite sheets with their WebVTT; the output record."""
    try:
        vtt, sheets = await asyncio.to_thread(write_storyboard_vtt, outdir, ladder)
    except PackageError as exc:
        raise VerificationError(f"storyboard: {exc}") from exc
    return {"name": "storyboard", "role": "storyboard", "status": "succeeded", "key": vtt,
            "size": sum(p.stat().st_size for p in Path(outdir).glob("storyboard*")),
            "verification": f"{sheets} sprite sheet(s), one thumbnail every {ladder.storyboard.interval:g} s"}


def file_record(preset, role: str, name: str, outdir: Path, single) -> dict:
    """The output record of a `file` or `poster` output `run_single` made as `outdir/name`."""
    out_info = single.info
    return {"name": preset.name, "role": role, "kind": preset.kind, "status": "succeeded",
            "key": name, "size": (Path(outdir) / name).stat().st_size,
            "bitrate": out_info.bit_rate, "duration": round(out_info.duration or 0.0, 3),
            "width": out_info.video.display_width if out_info.video else None,
            "height": out_info.video.display_height if out_info.video else None,
            "verification": single.note()}


def package_weight(packaged: bool, video_rungs: int, storyboard: bool) -> float:
    """The package step's share of the work, in encodes: one for the decode and audio, one per
    video rung (a storyboard alone: a light pass)."""
    return 1.0 + video_rungs if packaged else (0.3 if storyboard else 0.0)


def file_weight(role: str) -> float:
    """A file output is one encode; a poster one frame."""
    return 1.0 if role == "file" else 0.1


def template_weight(template: TemplateSpec) -> float:
    """The work of a template's outputs before it is fitted to a source (every rung counted), in
    encodes: how `run_ladder` weighs its steps, for a caller that runs a stage before it."""
    video = sum(p.kind == "video" for p in template.renditions)
    return (package_weight(template.packaged, video, template.storyboard_interval is not None)
            + sum(file_weight("file") for _ in template.files) + (file_weight("poster") if template.poster else 0.0))


async def run_ladder(spec: JobSpec, src, outdir, reporter: Reporter, *, info: MediaInfo,
                     budget: float | None = None) -> LadderResult:
    """Make every output of the spec's template from `src` into `outdir` (created; emptied on
    failure). Raises FFmpegError, guard.StopRequested/BudgetExceeded, VerificationError."""
    template = spec.template
    if template is None:
        raise SpecError("run_ladder needs a spec with a ladder (an output template)")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    try:
        ladder = await asyncio.to_thread(fit_ladder, template, info, spec.trim)
    except ValueError as exc:
        raise VerificationError(str(exc)) from exc
    try:
        return await _run(spec, template, ladder, src, outdir, reporter, info, budget)
    except BaseException:
        shutil.rmtree(outdir, ignore_errors=True)
        raise


async def _run(spec, template, ladder, src, outdir, reporter, info, budget) -> LadderResult:
    result = LadderResult(ladder, [{"name": n, "role": "rendition", "status": "skipped", "reason": why}
                                   for n, why in ladder.skipped])
    package = package_weight(ladder.packaged, len(ladder.video), ladder.storyboard is not None)
    steps = [("package", package)] if package else []
    steps += [("file", file_weight("file")) for _ in template.files]
    steps += [("poster", file_weight("poster"))] if template.poster else []
    total = sum(w for _, w in steps) or 1.0
    start, tails = 0.0, []

    if package:
        share = package / total
        argv = ladder_command(src, outdir, ladder) if ladder.packaged else storyboard_command(src, outdir, ladder)
        tails.append(await run_guarded(argv, duration=ladder.length, output=None,
                                       on_progress=progress_sink(reporter, start=0.0, share=share),
                                       budget=budget, should_stop=reporter.should_stop))
        await call(reporter.heartbeat())
        start += share
        if ladder.packaged:
            result.outputs += await finish_rendition_package(outdir, ladder)
            result.playback = playback_name(ladder)
        if ladder.storyboard:
            result.outputs.append(await finish_storyboard(outdir, ladder))

    for role, preset in [("file", p) for p in template.files] + ([("poster", template.poster)] if template.poster else []):
        share = file_weight(role) / total
        name = output_file_name(preset)
        single = await run_single(replace(spec, preset=preset.to_dict(), ladder=None, plan=None), src, outdir / name,
                                  Share(reporter, start, share), info=info, budget=budget)
        start += share
        tails.append(single.log_tail)
        out_info = single.info
        result.outputs.append(file_record(preset, role, name, outdir, single))
        if role == "file" and result.primary is None:
            result.primary = (name, out_info)
    result.files = sorted(str(p.relative_to(outdir)) for p in outdir.rglob("*") if p.is_file())
    result.log_tail = "\n".join(t for t in tails[-3:] if t)
    return result
