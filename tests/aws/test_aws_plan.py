"""How the AWS executor decides between one Lambda run and chunks (backend/jobs/executors/aws_plan.py).
No AWS here: the decision, the chunk layout and the plan, on a small local clip."""
from __future__ import annotations

import pytest

from backend.config import Settings
from backend.jobs.executors import aws_plan
from backend.jobs.executors.aws_plan import choose_mode, chunk_layout
from backend.media.chunking import ChunkingError, ChunkPlan
from backend.media.clips import generate_clip
from backend.media.command import Trim
from backend.media.presets import BUILTIN_PRESETS
from backend.media.probe import probe

SPEC = next(p for p in BUILTIN_PRESETS if p.name == "H.264 480p")
COPY = next(p for p in BUILTIN_PRESETS if p.kind == "copy")
SINGLE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:mpr-transcode"
CHUNKED_ARN = SINGLE_ARN + "-chunked"


@pytest.fixture(scope="module")
def clip(clips_dir):
    return generate_clip(clips_dir / "aws-plan-24s.mp4", duration=24, width=160, height=90, fps=25, gop=50)


@pytest.fixture
def settings_both() -> Settings:
    return Settings(state_machine_arn=SINGLE_ARN, chunked_state_machine_arn=CHUNKED_ARN)


def test_layout():
    # 1 h of 1080p30 at x264 veryfast (~3547 s in one Lambda): 50 ways of 72 s, as docs/chunking.md shows
    assert chunk_layout(3600, 3547.4) == (72.0, 50)
    # a slow preset: chunks get shorter than 72 s so that each encodes in half the 600 s budget
    target, ways = chunk_layout(3600, 30000.0)
    assert ways == 50 and target == 36.0
    # a short source asked to run chunked: as many ways as 10 s chunks allow, never fewer than 2
    assert chunk_layout(25, 1.0) == (10.0, 3)
    assert chunk_layout(8, 1.0) == (10.0, 2)
    assert chunk_layout(20, 1.0, min_seconds=5) == (5.0, 4)


def test_requested_chunked_job_gets_a_plan(clip, settings_both):
    info = probe(clip)
    mode = choose_mode(settings_both, {"trim": "accurate", "chunked_requested": True}, info, SPEC, Trim(),
                       lambda: str(clip))
    assert mode.chunked and mode.state_machine_arn == CHUNKED_ARN
    plan = ChunkPlan.from_dict(mode.plan.to_dict())  # what travels in the execution input
    assert len(plan.chunks) == 2 and plan.total_frames == 600 and plan.max_concurrency == 3
    assert not plan.aligned  # a constant-frame-rate grid: nothing read but the header
    rec = mode.record
    assert rec["mode"] == "chunked" and rec["state_machine"] == "chunked"
    assert rec["reason"] == "chunked encoding requested" and rec["chunked_requested"] is True
    assert (rec["chunks"], rec["concurrency"], rec["frames"]) == (2, 3, 600)
    assert sum(rec["chunk_frames"]) == 600 and rec["trim"] == "accurate"


def test_variable_frame_rate_falls_back_to_the_scanned_index(clip, settings_both, monkeypatch):
    def refuse(info):
        raise ChunkingError("the source looks variable-frame-rate")

    monkeypatch.setattr(aws_plan, "grid_index", refuse)
    mode = choose_mode(settings_both, {"chunked_requested": True}, probe(clip), SPEC, Trim(1.0, 21.0),
                       lambda: str(clip))
    assert mode.chunked and mode.plan.aligned and mode.record["aligned_to_keyframes"] is True
    assert mode.plan.total_frames == 500


def test_single_pass_reasons(clip, settings_both, tmp_path):
    info = probe(clip)
    stale = {"mode": "chunked", "chunks": 9, "chunk_frames": [1], "concurrency": 9, "trim": "accurate"}

    small = choose_mode(settings_both, stale, info, SPEC, Trim(), lambda: str(clip))
    assert not small.chunked and small.state_machine_arn == SINGLE_ARN
    assert small.record["mode"] == "single" and small.record["reason"].startswith("single pass: about")
    assert small.record["reason"].endswith("fits the 600 s budget")
    assert "chunks" not in small.record and "chunk_frames" not in small.record  # left by an earlier attempt
    assert small.record["trim"] == "accurate"

    forbidden = choose_mode(settings_both, {"chunked_requested": False}, info, SPEC, Trim(), lambda: str(clip))
    assert forbidden.record["reason"] == "single pass requested"

    copy = choose_mode(settings_both, {"chunked_requested": True}, info, COPY, Trim(), lambda: str(clip))
    assert not copy.chunked and "not chunked" in copy.record["reason"]

    no_machine = choose_mode(Settings(state_machine_arn=SINGLE_ARN), {"chunked_requested": True}, info, SPEC,
                             Trim(), lambda: str(clip))
    assert not no_machine.chunked and no_machine.state_machine_arn == SINGLE_ARN
    assert no_machine.record["reason"] == ("chunked encoding requested, but MPR_CHUNKED_STATE_MACHINE_ARN is "
                                           "not set (run `mpr aws deploy`); single pass")

    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video" * 100)
    unreadable = choose_mode(settings_both, {"chunked_requested": True}, info, SPEC, Trim(), lambda: str(garbage))
    assert not unreadable.chunked and unreadable.record["reason"].startswith("chunking not possible (")


def test_long_job_is_chunked_without_being_asked(clip, settings_both, monkeypatch):
    """Above the budget by estimate (here: a budget of a fraction of a second)."""
    monkeypatch.setattr(aws_plan, "BUDGET_SECONDS", 0.001)
    mode = choose_mode(settings_both, {}, probe(clip), SPEC, Trim(), lambda: str(clip))
    assert mode.chunked and mode.record["reason"].startswith("chunked: about")
    assert mode.record["estimated_single_seconds"] is not None


def test_a_template_is_fitted_once_with_one_step_per_rendition_and_says_when_one_is_long():
    """`ladder_mode`: the ladder machine, the fitted rungs and steps recorded; a rendition whose
    single-pass estimate exceeds one Lambda run's budget is named in the reason (it is not chunked)."""
    from backend.media.probe import AudioInfo, MediaInfo, VideoInfo
    from backend.media.templates import builtin_template, validate_template
    from backend.pipeline import JobSpec, Location

    settings = Settings(state_machine_arn=SINGLE_ARN, ladder_state_machine_arn="arn:ladder")
    template = validate_template(builtin_template("Web ABR"))
    spec = JobSpec(source=Location(bucket="in", key="a.mp4"), output=Location(bucket="out", key="a/"),
                   preset=template.primary_preset.to_dict(), ladder=template.to_dict())
    for seconds, long in ((60.0, False), (4 * 3600.0, True)):
        info = MediaInfo("mov,mp4", seconds, 10**9, video=VideoInfo("h264", 1920, 1080, 30.0),
                         audio=AudioInfo("aac", 2, 48000))
        mode = aws_plan.ladder_mode(settings, {"template": "Web ABR", "chunks": 9}, template, spec, info)
        assert mode.state_machine_arn == "arn:ladder" and mode.plan is None and not mode.chunked
        record = mode.record
        assert (record["mode"], record["state_machine"], record["template"]) == ("ladder", "ladder", "Web ABR")
        assert "chunks" not in record  # a previous attempt's run keys are dropped
        assert record["renditions"] == ["1080p", "720p", "480p", "360p", "audio 128k"]
        assert [s["step"] for s in mode.ladder.steps] == ["rendition"] * 5 + ["storyboard"] and record["steps"] == 6
        assert ("1080p rendition needs about" in record["reason"]) is long, record["reason"]
        assert record["estimated_rendition_seconds"] > 0
        # no source to read the frames of (this test gives none): a long rendition stays one run, and says so
        assert ("renditions not split (no source" in record["reason"]) is long
        assert record["rendition_parts"] == [1] * 5


def test_a_long_rendition_is_cut_into_parts_of_whole_segments(clip, monkeypatch):
    """`ladder_mode` with the source at hand: a video rendition whose estimate exceeds half the
    budget gets `parts_for` parts (the sequence's rule), at most MAX_RENDITION_PARTS and one per
    segment, each starting on a segment multiple; a rung that converts the frame rate, the audio
    and a source of one segment stay whole; the plan travels in the spec."""
    from backend.media.templates import TemplateOutput, TemplateSpec, validate_template
    from backend.pipeline import JobSpec, Location
    from backend.pipeline.ladder_plan import LadderPlan

    def rung(height, width, fps=None):
        return TemplateOutput("rendition", SPEC.__class__(
            f"{height}p", "video", "mp4", video_codec="libx264", video_bitrate=200, max_width=width,
            max_height=height, fps=fps, audio_codec="aac", audio_bitrate=64, channels=2))

    template = validate_template(TemplateSpec("long", (rung(90, 160), rung(72, 128, fps=12)), segment_seconds=2.0))
    settings = Settings(ladder_state_machine_arn="arn:ladder")
    spec = JobSpec(source=Location(bucket="in", key="a.mp4"), output=Location(bucket="out", key="a/"),
                   preset=template.primary_preset.to_dict(), ladder=template.to_dict())
    info = probe(clip)

    def plan(trim_end=None):
        job = spec if trim_end is None else JobSpec.from_dict({**spec.to_dict(), "trim": {"start": 0.0, "end": trim_end}})
        mode = aws_plan.ladder_mode(settings, None, template, job, info, lambda: str(clip))
        return mode.ladder, mode.record

    ladder, record = plan()  # 24 s of 160x90: well within the budget
    assert record["rendition_parts"] == [1, 1, 1] and "part" not in str(ladder.steps)

    monkeypatch.setattr(aws_plan, "BUDGET_SECONDS", 0.001)
    ladder, record = plan()  # asked for 16 parts: one per 2 s segment, 12
    assert record["rendition_parts"] == [12, 1, 1] and record["steps"] == 14
    assert "the 90p rendition (about" in record["reason"] and "in 12 parts" in record["reason"]
    assert "the 72p rendition is not split (frame-rate conversion" in record["reason"]
    monkeypatch.setattr(aws_plan, "MAX_RENDITION_PARTS", 3)
    ladder, record = plan()
    parts = ladder.parts(0)
    assert [(p.first, p.frames) for p in parts] == [(0, 200), (200, 200), (400, 200)]  # 8 s each
    assert all((p.first / 25) % 2.0 == 0 for p in parts)
    steps = JobSpec.from_dict({**spec.to_dict(), "plan": ladder.to_dict()}).plan["steps"]
    assert LadderPlan.from_dict({"ladder": ladder.ladder.to_dict(), "steps": steps, "max_concurrency": 5}).parts(0) == parts
    ladder, record = plan(trim_end=1.5)  # shorter than one segment: nothing to cut
    assert record["rendition_parts"] == [1, 1, 1]


def _sequence_job(clip, ranges, preset=SPEC):
    from backend.media.sequence import canvas_for
    from backend.pipeline import JobSpec, Location
    from backend.pipeline.spec import SequenceClip, SequenceSpec

    info = probe(clip)
    clips = tuple(SequenceClip(Location(bucket="in", key="a.mp4"), a, b, info.to_dict()) for a, b in ranges)
    return JobSpec(source=clips[0].input, output=Location(bucket="out", key="s.mp4"), preset=preset.to_dict(),
                   trim_mode="accurate", sequence=SequenceSpec(clips, canvas_for(preset, [info]).to_dict()))


def test_sequence_mode_plans_one_item_per_clip_and_parts_for_long_ones(clip, monkeypatch):
    """One Map item per clip; a clip whose estimate exceeds half the budget is cut into parts that
    cover its frames exactly; the plan travels in the spec and is checked against the clips there."""
    from backend.pipeline import JobSpec, SpecError
    from backend.pipeline.sequence_plan import SequencePlan

    settings = Settings(sequence_state_machine_arn=SINGLE_ARN + "-sequence")
    job = _sequence_job(clip, [(0.0, 4.0), (2.0, 22.0), (5.0, 5.5)])
    mode = aws_plan.sequence_mode(settings, {"trim": "accurate", "mode": "sequence", "frames": 1}, job)
    assert mode.state_machine_arn == settings.sequence_state_machine_arn and mode.plan is None
    assert [(i.clip, i.first, i.frames, i.parts) for i in mode.sequence.items] == [(0, 0, 100, 1), (1, 0, 500, 1),
                                                                                  (2, 0, 12, 1)]
    assert mode.record["state_machine"] == "sequence" and mode.record["clip_parts"] == [1, 1, 1]
    assert mode.record["trim"] == "accurate" and mode.record["frames"] == 612

    monkeypatch.setattr(aws_plan, "BUDGET_SECONDS", 0.001)  # every clip "too long": parts, at most MAX_CLIP_PARTS
    plan = aws_plan.sequence_mode(settings, None, job).sequence
    parts = [sum(1 for i in plan.items if i.clip == c) for c in range(3)]
    assert parts[1] == aws_plan.MAX_CLIP_PARTS and all(p > 1 for p in parts)
    assert plan.frames == 612 and [i.index for i in plan.items] == list(range(len(plan.items)))
    for c, frames in ((0, 100), (1, 500), (2, 12)):
        mine = [i for i in plan.items if i.clip == c]
        assert mine[0].first == 0 and sum(i.frames for i in mine) == frames
        assert all(a.first + a.frames == b.first for a, b in zip(mine, mine[1:]))

    spec = JobSpec.from_dict({**job.to_dict(), "plan": plan.to_dict()})
    assert spec.sequence_plan == plan and not spec.chunked and spec.chunk_plan is None
    broken = plan.to_dict()
    broken["items"][1]["frames"] += 1  # a gap or overlap inside a clip
    with pytest.raises(SpecError, match="not this sequence's plan"):
        JobSpec.from_dict({**job.to_dict(), "plan": broken})
    assert SequencePlan.from_dict(plan.to_dict()) == plan

    with pytest.raises(ValueError, match="MPR_SEQUENCE_STATE_MACHINE_ARN is not set"):
        aws_plan.sequence_mode(Settings(), None, job)
