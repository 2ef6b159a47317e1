"""Package links: one signature covers one folder of one area, until its expiry, and nothing else."""
from __future__ import annotations

import time

from backend.api.http import media_links, package_links

KEY = media_links.media_key("token")


def parts(url: str) -> tuple[str, str]:
    _, _, _, exp, sig, _ = url.split("/", 5)
    return exp, sig


def test_a_folder_signature_covers_its_files_and_subfolders_only():
    exp, sig = parts(package_links.sign(KEY, "out", "clip-web-abr/", "master.m3u8"))
    for key in ("clip-web-abr/master.m3u8", "clip-web-abr/seg-0-00001.m4s", "clip-web-abr/sub/x.jpg"):
        assert package_links.covers(KEY, exp, sig, "out", key)
    for area, key in (("out", "other/master.m3u8"), ("in", "clip-web-abr/master.m3u8"),
                      ("out", "clip-web-abr-1/master.m3u8"), ("out", "master.m3u8")):
        assert not package_links.covers(KEY, exp, sig, area, key)
    assert not package_links.covers(KEY, str(int(exp) + 1), sig, "out", "clip-web-abr/master.m3u8")
    assert not package_links.covers(media_links.media_key("other"), exp, sig, "out", "clip-web-abr/master.m3u8")
    assert not package_links.covers(KEY, exp, sig, "out", "clip-web-abr/master.m3u8", now=int(exp) + 1)


def test_a_file_signature_is_not_a_folder_signature():
    exp = media_links.expiry(time.time())
    file_sig = media_links.sign(KEY, "/media/out/clip-web-abr/", exp, version="").rsplit("sig=", 1)[1]
    assert not package_links.covers(KEY, str(exp), file_sig, "out", "clip-web-abr/master.m3u8")
