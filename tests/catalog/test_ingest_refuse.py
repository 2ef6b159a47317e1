"""ingest_key(refuse=True), what uploads use: a file with no media at all and a source over the
limits leave no row (IngestRefused says why); damaged media is still kept as an error row.
Without `refuse` (scans) the same files become error rows with the reason."""
from __future__ import annotations

import pytest
from PIL import Image

from backend.catalog.ingest import IngestRefused, ingest_key
from backend.catalog.tables import MediaAsset
from backend.media import limits


@pytest.fixture
def small_limit():
    saved = limits.LIMITS
    limits.configure(max_pixels=100 * 100)
    yield
    limits.configure(**saved.__dict__)


@pytest.mark.parametrize("clip", ["text"])
async def test_no_media_is_refused_without_a_row(db, storages, place, clip):
    place(clip, "upload.mp4")
    with pytest.raises(IngestRefused) as refused:
        await ingest_key(storages, "upload.mp4", refuse=True)
    assert refused.value.code == "NOT_MEDIA" and "not a media file" in refused.value.reason
    assert await MediaAsset.count() == 0


@pytest.mark.parametrize("clip, reason", [("truncated_nomoov", "truncated"), ("empty", "empty file")])
async def test_damaged_media_upload_stays_an_error_row(db, storages, place, clip, reason):
    place(clip, "upload.mp4")
    row = await ingest_key(storages, "upload.mp4", refuse=True)
    assert row.status == "error" and reason in row.error_message
    assert await MediaAsset.count() == 1


async def test_source_over_the_pixel_limit(db, storages, settings, small_limit):
    Image.new("RGB", (160, 120), (10, 200, 30)).save(settings.in_root / "big.jpg")
    with pytest.raises(IngestRefused) as refused:
        await ingest_key(storages, "big.jpg", refuse=True)
    assert refused.value.code == "SOURCE_TOO_LARGE" and "160×120" in refused.value.reason
    assert await MediaAsset.count() == 0
    scanned = await ingest_key(storages, "big.jpg")  # a scan keeps it, in error, with the reason
    assert scanned.status == "error" and "picture too large: 160×120" in scanned.error_message
    assert scanned.poster_key == ""
