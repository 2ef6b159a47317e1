"""The server's private files: `data/` (database, API token, sessions) is 0700, the SQLite file 0600.

`secure_data_dir` creates the folder private or tightens one that exists (only when this user
owns it); `private_file` creates a file 0600 before anyone writes to it, or tightens it.
SQLite gives its -wal/-shm files the database file's mode.
"""
from __future__ import annotations

import os
from pathlib import Path


def secure_data_dir(path: Path) -> Path:
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    path = Path(path)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    _tighten(path, 0o600)
    return path


def _tighten(path: Path, mode: int) -> None:
    try:
        st = path.stat()
        if st.st_uid == os.getuid() and st.st_mode & 0o777 & ~mode:
            os.chmod(path, mode)
    except OSError:
        pass
