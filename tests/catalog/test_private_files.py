"""data/ is private: a new data folder is 0700, the SQLite file (and its WAL) 0600, tightened if looser."""
from __future__ import annotations

import os
import stat

from backend.catalog.engine import engine_from_url
from backend.catalog.files import secure_data_dir


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_data_folder_and_sqlite_file_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        db = tmp_path / "data" / "mpr.sqlite"
        engine_from_url(f"sqlite:///{db}")
    finally:
        os.umask(old)
    assert mode(db.parent) == 0o700 and mode(db) == 0o600
    wal = db.with_name(db.name + "-wal")
    if wal.exists():
        assert mode(wal) == 0o600


def test_existing_loose_files_are_tightened(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    db = data / "mpr.sqlite"
    db.write_bytes(b"")
    os.chmod(db, 0o644)
    engine_from_url(f"sqlite:///{db}")
    assert mode(db) == 0o600
    secure_data_dir(data)
    assert mode(data) == 0o700
