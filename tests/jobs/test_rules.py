"""Automation rules: what a match selects, one job per rule per version of a file (through
create_job), refusals recorded, counts, the dry run, and the scan path that applies them."""
from __future__ import annotations

import os
import shutil

import pytest

from backend.catalog.rule_match import RuleMatch, RuleMatchError, asset_version, matches, validate_match
from backend.catalog.tables import AutomationRule, JobTransition, MediaAsset, RuleFiring, TranscodeJob
from backend.jobs import rules
from backend.jobs.intake import ingest_and_apply, scan_and_apply
from backend.jobs.naming import check_pattern, expand_pattern

ASSET = {"id": 7, "storage_key": "news/cam1/take.mov", "container": "mov,mp4,m4a,3gp,3g2,mj2",
         "video_codec": "h264", "audio_codec": "aac", "duration": 12.0, "width": 1920, "height": 1080,
         "tags": ["news", "raw"], "etag": "", "size": 10, "mtime": 1.5}


@pytest.mark.parametrize("match,expected", [
    (RuleMatch(), True),
    (RuleMatch(path_prefix="news/"), True),
    (RuleMatch(path_prefix="sport/"), False),
    (RuleMatch(path_glob="news/*/*.mov"), True),
    (RuleMatch(path_glob="*.mp4"), False),
    (RuleMatch(containers=("mp4",)), True),  # any of ffprobe's comma list
    (RuleMatch(containers=("matroska",)), False),
    (RuleMatch(video_codecs=("hevc", "h264")), True),
    (RuleMatch(video_codecs=("prores",)), False),
    (RuleMatch(audio_codecs=("opus",)), False),
    (RuleMatch(min_duration=12.0, max_duration=12.0), True),
    (RuleMatch(min_duration=12.5), False),
    (RuleMatch(max_duration=11.9), False),
    (RuleMatch(min_height=1080, max_width=1920), True),
    (RuleMatch(min_height=1081), False),
    (RuleMatch(max_width=1280), False),
    (RuleMatch(tags=("news",)), True),
    (RuleMatch(tags=("news", "final")), False),
])
def test_match_conditions(match, expected):
    assert matches(match, ASSET) is expected


def test_a_bounded_resolution_does_not_match_an_audio_file():
    audio = {**ASSET, "width": None, "height": None, "video_codec": ""}
    assert matches(RuleMatch(min_height=0), audio) is False
    assert matches(RuleMatch(audio_codecs=("aac",)), audio) is True


def test_validate_match_cleans_and_refuses():
    cleaned = validate_match(RuleMatch(containers=(" MP4 ", "mp4", ""), tags=("News", "News")))
    assert cleaned.containers == ("mp4",) and cleaned.tags == ("News",)
    for bad, field in ((RuleMatch(min_duration=5, max_duration=1), "min_duration"),
                       (RuleMatch(min_width=-1), "min_width"), (RuleMatch(path_prefix="/etc"), "path_prefix"),
                       (RuleMatch(path_glob="../*"), "path_glob"), (RuleMatch(tags=tuple(map(str, range(60)))), "tags"),
                       (RuleMatch(video_codecs=("h264\x00",)), "video_codecs")):
        with pytest.raises(RuleMatchError) as err:
            validate_match(bad)
        assert err.value.field == field


def test_version_is_the_etag_else_size_and_mtime():
    assert asset_version({"etag": "abc"}) == "eabc"
    assert asset_version({"etag": "", "size": 10, "mtime": 1.5}) != asset_version({"etag": "", "size": 11, "mtime": 1.5})


def test_output_patterns():
    assert expand_pattern(check_pattern("{stem}-{preset}"), stem="take.v2", preset="h-264-480p") == "take.v2-h-264-480p"
    assert expand_pattern("{rule}_{asset}_{date}", rule="r", asset="3", date="2026-11-30") == "r_3_2026-11-30"
    for bad in ("{nope}", "a/{stem}", "{stem!r}", "{", "", "x" * 300):
        with pytest.raises(ValueError):
            check_pattern(bad)


async def _rule(**columns) -> dict:
    row = AutomationRule(**{"name": "r", **columns})
    await row.save()
    return (await AutomationRule.select().where(AutomationRule.id == row.id).first())


async def test_a_matching_rule_queues_one_job_per_version(db, settings, storages, presets, add_asset):
    rule = await _rule(name="Small to 480p", preset_id=presets["H.264 480p"], priority=5,
                       output_pattern="{stem}-{preset}-auto", max_height=480)
    await _rule(name="only HD", preset_id=presets["H.264 480p"], min_height=1080)  # does not match
    await _rule(name="off", preset_id=presets["H.264 480p"], enabled=False)  # disabled
    asset = await add_asset("small")
    fired = await rules.apply_rules(settings, storages, asset["id"])
    assert [(f.rule_id, f.new, f.error) for f in fired] == [(rule["id"], True, "")]
    job = await TranscodeJob.select().where(TranscodeJob.id == fired[0].job_id).first()
    assert job["source"] == asset["id"] and job["priority"] == 5
    assert job["output_key"] == "small-h-264-480p-auto.mp4"
    history = await JobTransition.select(JobTransition.reason).where(JobTransition.job == job["id"])
    assert history[0]["reason"] == "created by rule 'Small to 480p'"

    again = await rules.apply_rules(settings, storages, asset["id"])  # same version: nothing new
    assert [(f.new, f.job_id) for f in again] == [(False, None)]
    assert await TranscodeJob.count() == 1
    assert await rules.counts([rule["id"]]) == {rule["id"]: (1, 1)}

    # a new version of the file (rewritten, other mtime) fires again
    path = settings.in_root / "small.mp4"
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 10))
    row, ingested = (await ingest_and_apply(settings, storages, "small.mp4"))
    assert row["status"] == "ready" and [f.new for f in ingested] == [True]
    assert await TranscodeJob.count() == 2
    assert await rules.counts([rule["id"]]) == {rule["id"]: (1, 2)}


async def test_refusal_is_recorded_and_other_rules_still_fire(db, settings, storages, presets, add_asset):
    gone = await _rule(name="preset deleted", preset_id=presets["H.264 480p"], priority=9)
    await TranscodeJob.delete(force=True)
    # a preset that does not exist any more: refused, recorded, no job
    await AutomationRule.update({AutomationRule.preset_id: 999999}).where(AutomationRule.id == gone["id"])
    good = await _rule(name="good", preset_id=presets["H.264 480p"], priority=1)
    asset = await add_asset("small")
    fired = await rules.apply_rules(settings, storages, asset["id"])
    assert [f.rule_id for f in fired] == [gone["id"], good["id"]]  # highest priority first
    assert fired[0].job_id is None and "NOT_FOUND" in fired[0].error
    assert fired[1].job_id is not None
    firing = await RuleFiring.select().where(RuleFiring.rule == gone["id"]).first()
    assert "NOT_FOUND" in firing["error"]
    assert await rules.counts([gone["id"], good["id"]]) == {gone["id"]: (1, 0), good["id"]: (1, 1)}


async def test_outputs_and_unready_assets_fire_nothing(db, settings, storages, presets, add_asset):
    await _rule(name="everything", preset_id=presets["H.264 480p"])
    asset = await add_asset("small")
    await MediaAsset.update({MediaAsset.storage_area: "out"}).where(MediaAsset.id == asset["id"])
    assert await rules.apply_rules(settings, storages, asset["id"]) == []
    await MediaAsset.update({MediaAsset.storage_area: "in", MediaAsset.status: "missing"}).where(
        MediaAsset.id == asset["id"])
    assert await rules.apply_rules(settings, storages, asset["id"]) == []
    assert await TranscodeJob.count() == 0


async def test_scan_applies_rules_to_what_it_probed_only(db, settings, storages, presets, clip_library):
    shutil.copyfile(clip_library["small"], settings.in_root / "old.mp4")
    first = await scan_and_apply(settings, storages)
    assert first.added == 1 and await TranscodeJob.count() == 0  # no rule yet
    await _rule(name="all", preset_id=presets["H.264 480p"])
    (settings.in_root / "news").mkdir()
    shutil.copyfile(clip_library["small"], settings.in_root / "news" / "new.mp4")
    second = await scan_and_apply(settings, storages)
    assert (second.added, second.unchanged) == (1, 1)
    jobs = await TranscodeJob.select(TranscodeJob.output_key)
    assert [j["output_key"] for j in jobs] == ["new-h-264-480p.mp4"]  # the old file was not re-probed


async def test_dry_run_lists_ready_input_assets_that_match(db, presets, add_asset, monkeypatch):
    monkeypatch.setattr(rules, "DRY_RUN_PAGE", 2)  # several pages
    small = [await add_asset("small", key=f"a{i}.mp4") for i in range(3)]
    hd = await add_asset("hd", key="b.mp4")
    rows, total = await rules.dry_run(RuleMatch(max_height=480), limit=2)
    assert total == 3 and [r["id"] for r in rows] == [a["id"] for a in small[:2]]
    rows, total = await rules.dry_run(RuleMatch(min_height=1080))
    assert total == 1 and rows[0]["id"] == hd["id"]
