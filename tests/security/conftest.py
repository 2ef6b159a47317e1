"""The package's one real `mpr up` (see security_stack.py): started once for every test here."""
from __future__ import annotations

import pytest

from security_stack import ENCODE_MB, PROBE_MB, Stack, _wrapper, ui_stack
from backend.media.binaries import ffmpeg_path, ffprobe_path


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    root = tmp_path_factory.mktemp("security-stack")
    runs = root / "ffmpeg-runs"
    runs.mkdir()
    env = {
        "MPR_FFMPEG": _wrapper(root, "ffmpeg-wrapper", ffmpeg_path(), runs),
        "MPR_FFPROBE": _wrapper(root, "ffprobe-wrapper", ffprobe_path(), runs),
        "MPR_PROBE_MEMORY_MB": str(PROBE_MB),
        "MPR_FFMPEG_MEMORY_MB": str(ENCODE_MB),
    }
    proc, port = ui_stack.start_and_wait(root, demo=False, env=env)
    try:
        yield Stack(f"http://127.0.0.1:{port}", port, root, runs)
    finally:
        ui_stack.stop(proc)
