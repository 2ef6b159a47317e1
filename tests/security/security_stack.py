"""Helpers for the security tests: one real `mpr up` (backend.serve: Reflex prod + the Litestar API on one port) for every security
test of this folder, started through tests/ui/ui_stack.py without the demo clips.

FFmpeg and ffprobe are reached through recording wrappers (MPR_FFMPEG / MPR_FFPROBE): each run
writes its address-space limit (`ulimit -v`), its argv and its environment to a file, then execs
the real binary — so the tests see what every FFmpeg child of the real server got. The server runs
with non-default limits to show that the settings reach the process that spawns them.
"""
from __future__ import annotations

import json
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ui"))

import ui_stack  # noqa: E402
from backend.media.binaries import ffmpeg_path, ffprobe_path  # noqa: E402

EVIL = "http://evil.example"
PROBE_MB = 1536
ENCODE_MB = 6144
SECRETS = {"MPR_API_TOKEN": ui_stack.API_TOKEN, "MPR_ADMIN_PASSWORD": ui_stack.ADMIN_PASSWORD,
           "MPR_CALLBACK_SECRET": "ui-test-callback"}
WRAPPER = """#!/bin/sh
f="{log}/run-$$"
{{ echo "bin=$0"; echo "as=$(ulimit -v)"; echo "argv=$*"; echo "--env--"; env; }} > "$f.tmp" && mv "$f.tmp" "$f.txt"
exec {real} "$@"
"""


@dataclass
class Stack:
    url: str
    port: int
    root: Path
    runs_dir: Path

    @property
    def origin(self) -> str:
        return self.url

    @property
    def in_root(self) -> Path:
        return self.root / "media" / "in"

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ui_stack.API_TOKEN}"}

    def gql(self, query: str, variables: dict | None = None) -> dict:
        resp = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                          headers=self.auth(), timeout=120)
        assert resp.status_code == 200, resp.text[:2000]
        return resp.json()

    def upload(self, content: bytes, filename: str) -> dict:
        operations = {"query": "mutation($file: Upload!) { uploadAsset(file: $file) { id filename status "
                               "errorMessage posterUrl mediaUrl } }", "variables": {"file": None}}
        resp = httpx.post(f"{self.url}/graphql", headers=self.auth(), timeout=120,
                          data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
                          files={"0": (filename, content, "application/octet-stream")})
        assert resp.status_code == 200, resp.text[:2000]
        return resp.json()

    def assets(self) -> list[dict]:
        body = self.gql("{ assets(first: 200) { nodes { id filename storageKey status errorMessage mediaUrl } } }")
        assert not body.get("errors"), body
        return body["data"]["assets"]["nodes"]

    def ffmpeg_runs(self) -> list[dict]:
        runs = []
        for path in sorted(self.runs_dir.glob("run-*.txt")):
            head, _, env = path.read_text(errors="replace").partition("--env--\n")
            fields = dict(line.split("=", 1) for line in head.splitlines() if "=" in line)
            runs.append({"bin": fields.get("bin", "").rsplit("/", 1)[-1], "as": fields.get("as", ""),
                         "argv": fields.get("argv", ""), "env": env})
        return runs


def _wrapper(folder: Path, name: str, real: str, log: Path) -> str:
    path = folder / name
    path.write_text(WRAPPER.format(log=log, real=real))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)
