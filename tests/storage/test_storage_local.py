"""LocalStorage: keys stay under root, writes are atomic, streams respect max_bytes, URLs are quoted."""
from __future__ import annotations

import asyncio
import os
import shutil

import pytest

from backend.storage import LocalStorage, StorageError, StorageTooLarge, open_storages, safe_key
from backend.storage.local import TMP_MARK, file_version


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    return LocalStorage(root, "in")


def leftovers(root):
    return [p for p in root.rglob("*") if TMP_MARK in p.name]


async def chunks(*parts, fail_after=None):
    for i, part in enumerate(parts):
        if fail_after is not None and i == fail_after:
            raise RuntimeError("client went away")
        yield part


@pytest.mark.parametrize(
    "key, expected",
    [
        ("clip.mp4", "clip.mp4"),
        ("a//./b c.mp4", "a/b c.mp4"),
        ("-rf.mp4", "-rf.mp4"),
        ("a:b.mp4", "a:b.mp4"),
        ("ünïcødé/ファイル.mkv", "ünïcødé/ファイル.mkv"),
        ("dir/", "dir"),
    ],
)
def test_safe_key_normalises(key, expected):
    assert safe_key(key) == expected


@pytest.mark.parametrize(
    "key",
    ["", ".", "/etc/passwd", "../x", "a/../../x", "a/..", "nul\x00.mp4", "a\\..\\x", "C:/x", "tab\t.mp4", "a" * 1100],
)
def test_safe_key_refuses(key):
    with pytest.raises(StorageError):
        safe_key(key)


def test_local_path_confined(store, tmp_path):
    assert store.local_path("sub/clip.mp4") == store.root / "sub" / "clip.mp4"
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (store.root / "link.txt").symlink_to(outside)
    (store.root / "dirlink").symlink_to(tmp_path)
    for key in ("../secret.txt", str(outside), "link.txt", "dirlink/secret.txt", "x\x00"):
        with pytest.raises(StorageError):
            store.local_path(key)


def test_version_is_file_version_of_local_path(store, tmp_path):
    """version(key): the cheap walk gives what file_version(local_path(key)) gives, symlinks included."""
    (store.root / "a").mkdir()
    (store.root / "a" / "poster.jpg").write_bytes(b"jpeg")
    (store.root / "alias").symlink_to(store.root / "a")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "leak.jpg").write_bytes(b"secret")
    (store.root / "escape").symlink_to(outside)
    for key in ("a/poster.jpg", "alias/poster.jpg", "a//./poster.jpg"):
        assert store.version(key) == file_version(store.local_path(key)) != ""
    assert store.version("a/missing.jpg") == "" and store.version("nope/poster.jpg") == ""
    assert store.version("a/poster.jpg/x") == ""  # a file used as a folder
    with pytest.raises(StorageError):
        store.version("escape/leak.jpg")
    with pytest.raises(StorageError):
        store.version("../outside/leak.jpg")
    (store.root / "a" / "poster.jpg").write_bytes(b"a longer jpeg")  # replaced: a new version at once
    assert store.version("a/poster.jpg") == file_version(store.local_path("a/poster.jpg"))


async def test_symlink_inside_root_is_fine_and_outside_is_hidden(store, tmp_path):
    (store.root / "real.mp4").write_bytes(b"12345")
    (store.root / "alias.mp4").symlink_to(store.root / "real.mp4")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "leak.mp4").write_bytes(b"x")
    (store.root / "escape").symlink_to(tmp_path / "outside")
    (store.root / "escape.mp4").symlink_to(tmp_path / "outside" / "leak.mp4")
    (store.root / "dangling.mp4").symlink_to(store.root / "nope.mp4")
    assert (await store.stat("alias.mp4")).size == 5
    assert [o.key for o in await store.list()] == ["alias.mp4", "real.mp4"]
    with pytest.raises(StorageError):
        await store.stat("escape.mp4")
    with pytest.raises(StorageError):
        await store.get_file("escape/leak.mp4", tmp_path / "copy.mp4")
    with pytest.raises(StorageError):
        await store.put_file(tmp_path / "outside" / "leak.mp4", "escape/new.mp4")
    with pytest.raises(StorageError):
        await store.delete("escape.mp4")
    assert (tmp_path / "outside" / "leak.mp4").exists()


async def test_put_get_stat_list_delete(store, tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"hello world")
    info = await store.put_file(src, "deep/er/clip one.mp4")
    assert (info.key, info.size) == ("deep/er/clip one.mp4", 11)
    assert info.etag and info.mtime > 0
    assert await store.stat("deep/er/clip one.mp4") == info
    assert await store.stat("missing.mp4") is None
    assert await store.stat("deep") is None  # folders are not objects
    await store.put_file(src, "other.mp4")
    assert [o.key for o in await store.list()] == ["deep/er/clip one.mp4", "other.mp4"]
    assert [o.key for o in await store.list("deep/e")] == ["deep/er/clip one.mp4"]
    assert [o.key for o in await store.list("oth")] == ["other.mp4"]
    assert await store.list("nowhere/") == []
    dest = await store.get_file("other.mp4", tmp_path / "got" / "x.mp4")
    assert dest.read_bytes() == b"hello world"
    with pytest.raises(StorageError):
        await store.get_file("missing.mp4", tmp_path / "y.mp4")
    assert await store.delete("other.mp4") is True
    assert await store.delete("other.mp4") is False
    assert leftovers(store.root) == []


async def test_put_file_is_atomic_when_copy_fails(store, tmp_path, monkeypatch):
    (store.root / "clip.mp4").write_bytes(b"old content")
    src = tmp_path / "new.bin"
    src.write_bytes(b"new content" * 1000)

    def broken_copy(a, b, *args, **kw):
        with open(b, "wb") as fh:
            fh.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(shutil, "copyfile", broken_copy)
    with pytest.raises(OSError):
        await store.put_file(src, "clip.mp4")
    assert (store.root / "clip.mp4").read_bytes() == b"old content"
    assert leftovers(store.root) == []


async def test_put_file_onto_itself(store):
    (store.root / "clip.mp4").write_bytes(b"same")
    info = await store.put_file(store.root / "clip.mp4", "clip.mp4")
    assert info.size == 4 and (store.root / "clip.mp4").read_bytes() == b"same"


async def test_write_stream(store):
    info = await store.write_stream("up/load.mp4", chunks(b"ab", b"cd", b"e"), max_bytes=5)
    assert info.size == 5 and (store.root / "up" / "load.mp4").read_bytes() == b"abcde"


async def test_write_stream_too_large_keeps_nothing(store):
    with pytest.raises(StorageTooLarge):
        await store.write_stream("big.mp4", chunks(b"abc", b"def"), max_bytes=5)
    assert not (store.root / "big.mp4").exists()
    assert leftovers(store.root) == []


async def test_write_stream_error_keeps_old_file(store):
    (store.root / "clip.mp4").write_bytes(b"old")
    with pytest.raises(RuntimeError):
        await store.write_stream("clip.mp4", chunks(b"new", b"more", fail_after=1), max_bytes=100)
    assert (store.root / "clip.mp4").read_bytes() == b"old"
    assert leftovers(store.root) == []


async def test_write_stream_cancelled_removes_partial(store):
    started = asyncio.Event()

    async def slow():
        yield b"first"
        started.set()
        await asyncio.sleep(30)
        yield b"never"

    task = asyncio.create_task(store.write_stream("slow.mp4", slow(), max_bytes=100))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not (store.root / "slow.mp4").exists()
    assert leftovers(store.root) == []


async def test_write_stream_refuses_bad_key(store):
    with pytest.raises(StorageError):
        await store.write_stream("../evil.mp4", chunks(b"x"), max_bytes=10)
    assert not (store.root.parent / "evil.mp4").exists()


async def test_unique_key(store):
    assert await store.unique_key("clip.mp4") == "clip.mp4"
    (store.root / "clip.mp4").write_bytes(b"x")
    (store.root / "clip-1.mp4").write_bytes(b"x")
    assert await store.unique_key("clip.mp4") == "clip-2.mp4"
    (store.root / "d").mkdir()
    (store.root / "d" / "noext").write_bytes(b"x")
    assert await store.unique_key("d/noext") == "d/noext-1"


def test_urls(store):
    assert store.playback_url("a b/ü#?.mp4") == "/media/in/a%20b/%C3%BC%23%3F.mp4"
    assert store.probe_source("-x:y.mp4") == str(store.root / "-x:y.mp4")
    assert os.path.isabs(store.probe_source("-x:y.mp4"))
    with pytest.raises(StorageError):
        store.playback_url("../x")


async def test_list_hides_temp_files(store):
    (store.root / f".clip.mp4{TMP_MARK}abc").write_bytes(b"partial")
    (store.root / ".hidden.mp4").write_bytes(b"x")
    assert [o.key for o in await store.list()] == [".hidden.mp4"]  # dotfiles are the scanner's call


def test_open_storages_local(settings, tmp_path):
    s = settings.with_(media_root=tmp_path / "fresh")
    storages = open_storages(s)
    assert [st.area for st in (storages.input, storages.output, storages.thumbs)] == ["in", "out", "thumbs"]
    assert storages.get("out").root == (tmp_path / "fresh" / "out").resolve()
    assert all(p.is_dir() for p in (s.in_root, s.out_root, s.thumbs_root))
    with pytest.raises(StorageError):
        storages.get("elsewhere")
    with pytest.raises(ValueError):
        open_storages(s.with_(storage="ftp"))
