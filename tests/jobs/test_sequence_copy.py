"""The stream-copy rule for sequences (`backend.jobs.sequence_copy`), on asset rows as the catalog
holds them: same codec parameters and every clip starting on a keyframe → possible; otherwise each
problem is named, per clip."""
from __future__ import annotations

from backend.jobs.sequence_copy import stream_copy_check


def asset(id_: int, **over) -> dict:
    row = {"id": id_, "filename": f"a{id_}.mp4", "video_codec": "h264", "width": 1280, "height": 720,
           "frame_rate": 30.0, "pix_fmt": "yuv420p", "audio_codec": "aac", "audio_sample_rate": 48000,
           "audio_channels": 2, "keyframes": [0.0, 2.0, 4.0, 6.0]}
    return {**row, **over}


def test_same_parameters_and_keyframe_starts_copy():
    assets = {1: asset(1), 2: asset(2, keyframes="[0.0, 1.0, 3.0]")}  # JSON text as SQLite returns it
    clips = [{"sourceId": 1, "start": 2.0, "end": 3.0}, {"sourceId": 2, "start": 3.01, "end": 4.0},
             {"sourceId": 1, "start": 0.0, "end": 0.5}]
    assert stream_copy_check(clips, assets).possible  # 3.01 is within half a frame of the keyframe 3.0


def test_each_problem_is_named():
    assets = {1: asset(1), 2: asset(2, width=1920, height=1080, frame_rate=25.0), 3: asset(3, keyframes=[]),
              4: asset(4, audio_codec="", audio_sample_rate=None, audio_channels=None)}
    clips = [{"sourceId": 1, "start": 1.0, "end": 2.0}, {"sourceId": 2, "start": 0.0, "end": 1.0},
             {"sourceId": 3, "start": 1.0, "end": 2.0}, {"sourceId": 4, "start": 0.0, "end": 1.0},
             {"sourceId": 9, "start": 0.0, "end": 1.0}]
    check = stream_copy_check(clips, assets)
    assert not check.possible
    assert check.reasons == [
        "clip 1 (a1.mp4) starts at 00:00:01.000, between keyframes (00:00:00.000 and 00:00:02.000)",
        "clip 2 (a2.mp4) is h264 1920×1080 25.0 fps yuv420p, aac 48000 Hz 2 ch; "
        "clip 1 is h264 1280×720 30.0 fps yuv420p, aac 48000 Hz 2 ch",
        "clip 3 (a3.mp4): its source's keyframes are not known yet (not analysed)",
        "clip 4 (a4.mp4) is h264 1280×720 30.0 fps yuv420p, no audio; clip 1 is h264 1280×720 30.0 fps yuv420p, "
        "aac 48000 Hz 2 ch",
        "clip 5: its asset no longer exists",
    ]


def test_an_empty_sequence_has_nothing_to_copy():
    assert stream_copy_check([], {}).reasons == ["the sequence has no clips"]
