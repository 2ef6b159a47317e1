"""ingest_key: metadata columns, poster + filmstrip in the thumbs area, error rows with reasons, S3 sources."""
from __future__ import annotations

import asyncio

import boto3
import pytest
from moto.server import ThreadedMotoServer

from backend.catalog import ingest
from backend.catalog.ingest import RETRY_MARK, ingest_key, media_info_from_asset, register_upload, scan
from backend.catalog.tables import MediaAsset
from backend.media.probe import probe
from backend.storage import StorageError, open_storages

JPEG = b"\xff\xd8\xff"


async def thumb_bytes(storages, key, tmp_path):
    return (await storages.thumbs.get_file(key, tmp_path / "t.jpg")).read_bytes()


async def test_ready_asset_has_metadata_and_thumbnails(db, storages, place, catalog_clips, tmp_path):
    place("av", "folder/My clip.mp4")
    row = await ingest_key(storages, "folder/My clip.mp4")
    assert row.status == "ready", row.error_message
    assert row.error_message == ""
    assert (row.filename, row.storage_area, row.storage_key) == ("My clip.mp4", "in", "folder/My clip.mp4")
    assert row.size == catalog_clips["av"].stat().st_size and row.mtime > 0 and row.etag
    assert abs(row.duration - 2.0) < 0.1
    assert "mp4" in row.container
    assert (row.video_codec, row.width, row.height, row.pix_fmt, row.rotation) == ("h264", 320, 240, "yuv420p", 0)
    assert row.frame_rate == pytest.approx(25.0)
    assert (row.audio_codec, row.audio_channels, row.audio_sample_rate) == ("aac", 2, 48000)
    assert row.bitrate and row.bitrate > 0
    assert (row.poster_key, row.filmstrip_key) == (f"{row.id}/poster.jpg", f"{row.id}/filmstrip.jpg")
    assert row.filmstrip_frames > 0
    assert (await thumb_bytes(storages, row.poster_key, tmp_path)).startswith(JPEG)
    assert (await thumb_bytes(storages, row.filmstrip_key, tmp_path)).startswith(JPEG)
    saved = await MediaAsset.objects().where(MediaAsset.id == row.id).first()
    assert saved.to_dict() == row.to_dict() or (saved.status, saved.duration) == (row.status, row.duration)


async def test_media_info_round_trip(db, storages, place, catalog_clips):
    place("av", "a.mp4")
    row = await ingest_key(storages, "a.mp4")
    probed = probe(catalog_clips["av"])
    stored = media_info_from_asset(row)
    assert stored.video == probed.video.__class__(**{**probed.video.__dict__, "nb_frames": None})
    assert (stored.audio, stored.duration, stored.bit_rate) == (probed.audio, probed.duration, probed.bit_rate)
    assert media_info_from_asset((await MediaAsset.select().where(MediaAsset.id == row.id))[0]) == stored
    row.reorder_delay = None  # probed before the column existed: x264's default pyramid is assumed
    assert media_info_from_asset(row).video.reorder_delay == 2
    broken = MediaAsset(status="error")
    with pytest.raises(ValueError):
        media_info_from_asset(broken)


async def test_audio_only_and_video_only(db, storages, place):
    place("audio_only", "song.m4a")
    place("video_only", "silent.mkv")
    song = await ingest_key(storages, "song.m4a")
    assert (song.status, song.video_codec, song.audio_codec, song.width) == ("ready", "", "aac", None)
    assert (song.poster_key, song.filmstrip_key) == ("", "")
    silent = await register_upload(storages, "silent.mkv")
    assert (silent.status, silent.video_codec, silent.audio_codec) == ("ready", "h264", "")
    assert silent.poster_key and silent.filmstrip_key


@pytest.mark.parametrize(
    "clip, reason",
    [("empty", "empty file (0 bytes)"), ("text", "not a media file"), ("truncated_nomoov", "truncated"),
     ("truncated_faststart", "truncated")],
)
async def test_unusable_files_become_error_rows(db, storages, place, clip, reason):
    place(clip, "bad.mp4")
    row = await ingest_key(storages, "bad.mp4")
    assert row.status == "error"
    assert reason in row.error_message
    assert (row.duration, row.video_codec, row.poster_key) == (None, "", "")
    assert await MediaAsset.count() == 1


async def test_missing_or_refused_key_raises_without_row(db, storages):
    with pytest.raises(StorageError):
        await ingest_key(storages, "nope.mp4")
    with pytest.raises(StorageError):
        await ingest_key(storages, "../etc/passwd")
    assert await MediaAsset.count() == 0


async def test_reingest_updates_same_row_keeps_user_fields(db, storages, place):
    place("av", "clip.mp4")
    first = await ingest_key(storages, "clip.mp4")
    await MediaAsset.update({MediaAsset.filename: "Renamed by user", MediaAsset.comments: "nice"}).where(
        MediaAsset.id == first.id
    )
    place("text", "clip.mp4")  # replaced by junk: error, thumbnails gone
    second = await ingest_key(storages, "clip.mp4")
    assert second.id == first.id
    assert (second.status, second.filename, second.comments) == ("error", "Renamed by user", "nice")
    assert (second.poster_key, second.filmstrip_key, second.filmstrip_frames) == ("", "", 0)
    assert await storages.thumbs.stat(first.poster_key) is None
    place("av2", "clip.mp4")  # and back to a good clip
    third = await ingest_key(storages, "clip.mp4")
    assert (third.id, third.status, third.error_message, third.height) == (first.id, "ready", "", 180)
    assert await MediaAsset.count() == 1


async def test_concurrent_ingest_of_one_key_makes_one_row(db, storages, place):
    place("av", "same.mp4")
    rows = await asyncio.gather(*(ingest_key(storages, "same.mp4") for _ in range(4)))
    assert len({r.id for r in rows}) == 1
    assert await MediaAsset.count() == 1


async def test_thumbnail_failure_keeps_asset_ready(db, storages, place, monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("filmstrip exploded")

    monkeypatch.setattr(ingest, "make_thumbnails", broken)
    place("av", "clip.mp4")
    # without analysis: the pictures come from make_thumbnails alone (with it, see the next test)
    row = await ingest_key(storages, "clip.mp4", analyze=False)
    assert row.status == "ready"
    assert "filmstrip exploded" in row.error_message
    assert (row.poster_key, row.filmstrip_key, row.filmstrip_frames) == ("", "", 0)


async def test_pictures_fall_back_when_the_analysis_pass_makes_none(db, storages, place, monkeypatch):
    """The analysis pass makes the poster and filmstrip of a video; when it makes none (here: it
    fails), make_thumbnails makes them, and a failure there too still leaves the asset ready."""
    async def broken(*args, **kwargs):
        raise RuntimeError("filmstrip exploded")

    async def no_pictures(storages, row, source, info, pictures=None):
        row.analysis_error = "analysis exploded"
        return None

    place("av", "clip.mp4")
    monkeypatch.setattr(ingest, "analyze_asset", no_pictures)
    row = await ingest_key(storages, "clip.mp4")
    assert row.status == "ready" and row.error_message == "" and row.analysis_error == "analysis exploded"
    assert (row.poster_key, row.filmstrip_key) == (f"{row.id}/poster.jpg", f"{row.id}/filmstrip.jpg")
    monkeypatch.setattr(ingest, "make_thumbnails", broken)
    row = await ingest_key(storages, "clip.mp4")
    assert row.status == "ready" and "filmstrip exploded" in row.error_message
    assert (row.poster_key, row.filmstrip_key, row.filmstrip_frames) == ("", "", 0)


async def test_one_pass_makes_pictures_and_analysis(db, storages, place, monkeypatch):
    async def unused(*args, **kwargs):
        raise AssertionError("the analysis pass makes the pictures of a video")

    monkeypatch.setattr(ingest, "make_thumbnails", unused)
    place("av", "clip.mp4")
    row = await ingest_key(storages, "clip.mp4")
    assert row.status == "ready" and row.error_message == "" and row.analysis_error == ""
    assert (row.poster_key, row.filmstrip_key, row.filmstrip_frames) == (f"{row.id}/poster.jpg", f"{row.id}/filmstrip.jpg", 12)
    assert row.waveform_key and row.loudness_integrated is not None


async def test_unexpected_failure_is_recorded_and_retried_by_scan(db, storages, place, monkeypatch):
    real = ingest.probe_async

    async def flaky(source):
        raise OSError("ffprobe vanished")

    monkeypatch.setattr(ingest, "probe_async", flaky)
    place("av", "clip.mp4")
    row = await ingest_key(storages, "clip.mp4")
    assert row.status == "error" and row.error_message.startswith(RETRY_MARK)
    monkeypatch.setattr(ingest, "probe_async", real)
    result = await scan(storages)
    assert (result.added, result.updated, result.errors) == (0, 1, 0)
    assert (await MediaAsset.objects().first()).status == "ready"


# ---------------------------------------------------------------------------------------- S3
@pytest.fixture(scope="module")
def moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


async def test_ingest_from_s3_presigned_url(db, settings, moto_url, catalog_clips, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    s3_settings = settings.with_(storage="s3", aws_endpoint_url=moto_url, s3_in_bucket="ing-in", s3_out_bucket="ing-out")
    storages = open_storages(s3_settings)
    client = storages.input.client
    for bucket in ("ing-in", "ing-out"):
        try:
            client.create_bucket(Bucket=bucket)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
    await storages.input.put_file(catalog_clips["av"], "uploads/clip one.mp4")
    await storages.input.put_file(catalog_clips["text"], "uploads/fake.mp4")
    result = await scan(storages, prefix="uploads/")
    assert (result.added, result.errors) == (2, 1)
    good = await MediaAsset.objects().where(MediaAsset.storage_key == "uploads/clip one.mp4").first()
    assert good.status == "ready", good.error_message
    assert (good.width, good.audio_codec) == (320, "aac")
    head = client.head_object(Bucket="ing-out", Key=f"_thumbs/{good.poster_key}")
    assert head["ContentType"] == "image/jpeg"
    assert client.head_object(Bucket="ing-out", Key=f"_thumbs/{good.filmstrip_key}")["ContentLength"] > 0
    assert [o.key for o in await storages.output.list()] == []  # thumbs hidden from the out area
    bad = await MediaAsset.objects().where(MediaAsset.storage_key == "uploads/fake.mp4").first()
    assert bad.status == "error" and bad.error_message
    again = await scan(storages, prefix="uploads/")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
