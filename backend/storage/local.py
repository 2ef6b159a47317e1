"""`LocalStorage`: one storage area as a folder on this machine, every key confined under its root.

Writes go to a hidden temporary file in the destination folder and are renamed into place, so a
reader (or a scan) never sees half a file. Symlinks are allowed only while they stay inside root.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import stat as stat_mode
import uuid
from pathlib import Path
from typing import AsyncIterator
from urllib.parse import quote

from backend.storage.base import ObjectInfo, StorageError, StorageTooLarge, first_free_key, safe_key

TMP_MARK = ".mpr-part-"  # temporary files are ".<name>.mpr-part-<hex>"; list() hides them


def _etag(st: os.stat_result) -> str:
    return f"{st.st_size:x}-{st.st_mtime_ns:x}"


def file_version(path: Path | None) -> str:
    """The version of a local file as signed media links bind it (its ETag: size and mtime), "" if none."""
    if path is None:
        return ""
    try:
        return _etag(path.stat())
    except OSError:
        return ""


def _tmp_sibling(path: Path) -> Path:
    return path.with_name(f".{path.name[:100]}{TMP_MARK}{uuid.uuid4().hex[:12]}")


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


class LocalStorage:
    def __init__(self, root: Path | str, area: str):
        self.root = Path(root).resolve()
        self.area = area

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r}, {self.area!r})"

    # -- keys and paths -------------------------------------------------------------------------
    def local_path(self, key: str) -> Path:
        """Absolute path for `key`; StorageError if it (or a symlink on the way) leaves root."""
        rel = safe_key(key)
        path = self.root / rel
        real = Path(os.path.realpath(path))
        if real != self.root and self.root not in real.parents:
            raise StorageError(f"key {key!r} resolves outside the {self.area!r} storage (symlink?)")
        return path

    def version(self, key: str) -> str:
        """`file_version(self.local_path(key))`, cheaply: the key's components below root (which is
        resolved already) are lstat'ed one by one, and only when one is a symlink does the full
        realpath check run. "" when the file is missing; StorageError when the key leaves root."""
        rel = safe_key(key)
        path = str(self.root)
        st = None
        for part in rel.split("/"):
            path = f"{path}/{part}"
            try:
                st = os.lstat(path)
            except OSError:
                return ""
            if stat_mode.S_ISLNK(st.st_mode):
                return file_version(self.local_path(key))
        return _etag(st)

    def _key_of(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def playback_url(self, key: str) -> str:
        return f"/media/{self.area}/{quote(safe_key(key), safe='/')}"

    def probe_source(self, key: str) -> str:
        return str(self.local_path(key))

    # -- reading -----------------------------------------------------------------------------------
    def _stat_sync(self, key: str) -> ObjectInfo | None:
        path = self.local_path(key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not path.is_file():
            return None
        return ObjectInfo(safe_key(key), st.st_size, st.st_mtime, _etag(st))

    async def stat(self, key: str) -> ObjectInfo | None:
        return await asyncio.to_thread(self._stat_sync, key)

    def _list_sync(self, prefix: str) -> list[ObjectInfo]:
        # start the walk at the deepest folder the prefix names, then filter by the full prefix
        start = self.root
        if prefix:
            folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
            if folder:
                start = self.local_path(folder)
        out: list[ObjectInfo] = []
        if not start.is_dir():
            return out
        for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
            here = Path(dirpath)
            # descend into symlinked folders only when they stay inside root
            for name in list(dirnames):
                p = here / name
                if p.is_symlink() and not self._inside(p):
                    dirnames.remove(name)
            for name in filenames:
                if TMP_MARK in name:
                    continue
                p = here / name
                if p.is_symlink() and not self._inside(p):
                    continue
                key = self._key_of(p)
                if prefix and not key.startswith(prefix):
                    continue
                try:
                    st = p.stat()
                except OSError:  # vanished or dangling link
                    continue
                if not p.is_file():
                    continue
                out.append(ObjectInfo(key, st.st_size, st.st_mtime, _etag(st)))
        out.sort(key=lambda o: o.key)
        return out

    def _inside(self, path: Path) -> bool:
        real = Path(os.path.realpath(path))
        return real == self.root or self.root in real.parents

    async def list(self, prefix: str = "") -> list[ObjectInfo]:
        return await asyncio.to_thread(self._list_sync, prefix)

    async def get_file(self, key: str, dest: Path) -> Path:
        src = self.local_path(key)
        dest = Path(dest)

        def copy() -> Path:
            if not src.is_file():
                raise StorageError(f"no object {key!r} in {self.area!r} storage")
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = _tmp_sibling(dest)
            try:
                shutil.copyfile(src, tmp)
                os.replace(tmp, dest)
            except BaseException:
                _unlink_quietly(tmp)
                raise
            return dest

        return await asyncio.to_thread(copy)

    # -- writing -----------------------------------------------------------------------------------
    async def put_file(self, local: Path, key: str, content_type: str | None = None) -> ObjectInfo:
        dest = self.local_path(key)
        local = Path(local)

        def copy() -> ObjectInfo:
            if not local.is_file():
                raise StorageError(f"no such file to store: {local}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            self.local_path(key)  # re-check: mkdir may have followed a symlinked parent
            if dest.exists() and os.path.samefile(local, dest):
                return self._stat_sync(key)
            tmp = _tmp_sibling(dest)
            try:
                shutil.copyfile(local, tmp)
                os.replace(tmp, dest)
            except BaseException:
                _unlink_quietly(tmp)
                raise
            return self._stat_sync(key)

        return await asyncio.to_thread(copy)

    async def write_stream(self, key: str, chunks: AsyncIterator[bytes], max_bytes: int) -> ObjectInfo:
        dest = self.local_path(key)
        await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
        self.local_path(key)
        tmp = _tmp_sibling(dest)
        total = 0
        try:
            with open(tmp, "wb") as fh:
                async for chunk in chunks:
                    total += len(chunk)
                    if total > max_bytes:
                        raise StorageTooLarge(f"upload larger than {max_bytes} bytes")
                    if len(chunk) >= 1 << 20:
                        await asyncio.to_thread(fh.write, chunk)
                    else:
                        fh.write(chunk)
            os.replace(tmp, dest)
        except BaseException:  # includes cancellation: never leave a partial behind
            _unlink_quietly(tmp)
            raise
        return await self.stat(key)

    async def delete(self, key: str) -> bool:
        path = self.local_path(key)

        def unlink() -> bool:
            if path.is_dir() and not path.is_symlink():
                raise StorageError(f"{key!r} is a folder, not an object")
            try:
                path.unlink()
                return True
            except FileNotFoundError:
                return False

        return await asyncio.to_thread(unlink)

    async def unique_key(self, key: str) -> str:
        return await first_free_key(self, key)
