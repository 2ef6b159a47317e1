"""deploy/nginx.conf run for real in tests: find (or install, as root) Debian's nginx, rewrite the
config for loopback (upstream address, listen port, pid/log/temp paths into a temp folder) and run
it in the foreground (`daemon off` given on the command line, as the official image does).

Only the lines named in REWRITES change; each must match exactly once, so a config edit that
breaks the rewrite fails the test instead of silently testing something else.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from backend.config import REPO_ROOT
from skips import missing_tool

NGINX_CONF = REPO_ROOT / "deploy" / "nginx.conf"
CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


def find_nginx() -> str | None:
    return shutil.which("nginx") or next((c for c in CANDIDATES if os.access(c, os.X_OK)), None)


def ensure_nginx() -> str:
    """The nginx binary; installs Debian's nginx-light when missing and we are root, else skips."""
    found = find_nginx()
    if found:
        return found
    if os.geteuid() != 0:
        missing_tool("nginx", "installing it needs root: apt-get install nginx-light")
    if shutil.which("apt-get") is None:
        missing_tool("nginx", "there is no apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for package in ("nginx-light", "nginx"):
        done = subprocess.run(["apt-get", "install", "-y", "-q", package], env=env, capture_output=True, timeout=600)
        if done.returncode != 0:  # stale package lists: refresh once and retry
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
            done = subprocess.run(["apt-get", "install", "-y", "-q", package], env=env, capture_output=True,
                                  timeout=600)
        if done.returncode == 0 and find_nginx():
            return find_nginx()
    missing_tool("nginx", "apt-get install nginx-light failed: no package source reachable?")


def _replace_once(text: str, pattern: str, replacement: str) -> str:
    new, count = re.subn(pattern, lambda _m: replacement, text, flags=re.MULTILINE)
    assert count == 1, f"deploy/nginx.conf: expected exactly one match for {pattern!r}, found {count}"
    return new


def render_config(upstream: str, listen_port: int, workdir: Path, source: Path = NGINX_CONF) -> Path:
    """Write workdir/nginx.conf: deploy/nginx.conf pointed at `upstream`, listening on 127.0.0.1:listen_port."""
    workdir.mkdir(parents=True, exist_ok=True)
    for sub in ("client_temp", "proxy_temp", "fastcgi_temp", "uwsgi_temp", "scgi_temp"):
        (workdir / sub).mkdir(exist_ok=True)
    text = source.read_text()
    text = _replace_once(text, r"^\s*server app:8000;", f"        server {upstream};")
    text = _replace_once(text, r"^\s*listen 80;", f"        listen 127.0.0.1:{listen_port};")
    text = _replace_once(text, r"^pid .*;", f"pid {workdir / 'nginx.pid'};")
    text = _replace_once(text, r"^error_log /var/log/nginx/error.log", f"error_log {workdir / 'error.log'}")
    text = _replace_once(text, r"access_log /var/log/nginx/access.log", f"access_log {workdir / 'access.log'}")
    text = _replace_once(text, r"client_body_temp_path \S+;", f"client_body_temp_path {workdir / 'client_temp'};")
    text = _replace_once(text, r"proxy_temp_path \S+;", f"proxy_temp_path {workdir / 'proxy_temp'};")
    # paths nginx also opens at start (compiled-in defaults under /var/lib/nginx)
    extra = "".join(f"    {name}_temp_path {workdir / (name + '_temp')};\n" for name in ("fastcgi", "uwsgi", "scgi"))
    text = _replace_once(text, r"^http \{\n", "http {\n" + extra)
    if os.geteuid() == 0:  # workers would drop to 'nobody', who cannot write into a root-only temp folder
        text = "user root;\n" + text
    out = workdir / "nginx.conf"
    out.write_text(text)
    return out


def _base_args(binary: str, conf: Path) -> list[str]:
    return [binary, "-p", str(conf.parent), "-c", str(conf), "-e", str(conf.parent / "error.log")]


def check_config(binary: str, conf: Path) -> subprocess.CompletedProcess:
    """`nginx -t` on the rendered config."""
    return subprocess.run([*_base_args(binary, conf), "-t"], capture_output=True, text=True, timeout=30)


class Nginx:
    def __init__(self, binary: str, conf: Path, port: int):
        self.binary, self.conf, self.port = binary, conf, port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 15.0) -> None:
        self.proc = subprocess.Popen([*_base_args(self.binary, self.conf), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{self.error_log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"nginx did not listen on {self.port}:\n{self.error_log()}")

    def error_log(self) -> str:
        path = self.conf.parent / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGQUIT)  # graceful: the master stops its workers
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
