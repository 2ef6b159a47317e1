"""deploy/: the files that cannot run here (no Docker engine) are checked for what can be checked —
the Dockerfile copies only tracked files, compose wires db → app → nginx with healthchecks, the env
example names real settings, and nginx.conf passes `nginx -t` and routes every path MPR serves
(Reflex's own endpoint names read from Reflex itself).
"""
from __future__ import annotations

import re
import shlex
import subprocess

import yaml
from reflex_base.constants.event import Endpoint

from backend.config import REPO_ROOT

from nginx_proc import NGINX_CONF, check_config, ensure_nginx, render_config

DEPLOY = REPO_ROOT / "deploy"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = (DEPLOY / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_copies_files_that_exist_and_are_tracked():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    copies = [args for word, args in instructions if word in ("COPY", "ADD")]
    assert copies
    sources = []
    for args in copies:
        parts = [p for p in shlex.split(args) if not p.startswith("--")]
        assert not any(p.startswith("--from") for p in shlex.split(args)), "single-stage build expected"
        sources.extend(parts[:-1])  # the last one is the destination
    assert {"pyproject.toml", "backend/", "ui/", "rxconfig.py", "piccolo_conf.py"} <= set(sources)
    for src in sources:
        path = REPO_ROOT / src
        assert path.exists(), f"Dockerfile copies {src}, which does not exist"
        tracked = subprocess.run(["git", "ls-files", "--error-unmatch", src], cwd=REPO_ROOT, capture_output=True)
        assert tracked.returncode == 0, f"Dockerfile copies {src}, which git does not track (a clean clone lacks it)"
    # a non-root user runs it, bun comes from npm, the package stays in place (editable)
    users = [args for word, args in instructions if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    runs = " ".join(args for word, args in instructions if word == "RUN")
    assert "nodejs" in runs and "npm" in runs and "bun@" in runs
    assert "pip install -e ." in runs
    bun_pin = re.search(r"bun@([\d.]+)", (REPO_ROOT / "Makefile").read_text()).group(1)
    assert f"bun@{bun_pin}" in runs, "the image installs the bun version the Makefile pins"
    cmd = [args for word, args in instructions if word == "CMD"][-1]
    assert "mpr migrate" in cmd and "mpr up --host 0.0.0.0" in cmd


def test_compose_wires_postgres_app_and_nginx_with_healthchecks():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "app", "nginx"}
    db, app, nginx = services["db"], services["app"], services["nginx"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert "/readyz" in " ".join(app["healthcheck"]["test"])
    assert "/healthz" in " ".join(nginx["healthcheck"]["test"])
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert nginx["depends_on"]["app"]["condition"] == "service_healthy"
    command = " ".join(app["command"])
    assert command.index("mpr migrate") < command.index("mpr up --host 0.0.0.0")
    assert (REPO_ROOT / "deploy" / app["build"]["context"] / app["build"]["dockerfile"]).resolve() == \
        (DEPLOY / "Dockerfile").resolve()
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert "ports" not in app and "ports" not in db, "only nginx is published"
    assert app["env_file"] == db["env_file"] == "mpr.env"


def env_example() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "mpr.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def test_env_example_names_settings_mpr_reads():
    values = env_example()
    config_src = (REPO_ROOT / "backend" / "config.py").read_text()
    for key in values:
        if key.startswith("MPR_"):
            assert f'"{key}"' in config_src, f"{key} in mpr.env.example is not read by backend/config.py"
        else:
            assert key.startswith(("POSTGRES_", "REFLEX_", "AWS_")), key
    # the two secrets `mpr up --host 0.0.0.0` insists on are there, and empty: nobody ships a default
    assert values["MPR_API_TOKEN"] == "" and values["MPR_ADMIN_PASSWORD"] == "" and values["POSTGRES_PASSWORD"] == ""
    assert values["MPR_DATABASE_URL"].startswith("postgres://mpr:") and "@db:5432/mpr" in values["MPR_DATABASE_URL"]


def nginx_locations() -> dict[str, str]:
    """location path -> its block text."""
    text = NGINX_CONF.read_text()
    return {m.group(2): m.group(3) for m in re.finditer(r"location\s+(=\s+)?(\S+)\s*\{(.*?)\n\s*\}", text, re.S)}


def test_nginx_routes_every_path_the_app_serves():
    locations = nginx_locations()
    for path in ("/", "/graphql", "/admin", "/api/", "/media/", "/healthz", "/readyz", "/metrics",
                 str(Endpoint.EVENT), str(Endpoint.UPLOAD)):
        assert path in locations, f"nginx.conf has no location for {path}"
        assert "proxy_pass http://mpr_app;" in locations[path]
    text = NGINX_CONF.read_text()
    assert re.search(r"client_max_body_size\s+8g;", text)
    assert "proxy_set_header Upgrade $http_upgrade;" in text and "proxy_set_header Connection $connection_upgrade;" in text
    for ws in ("/graphql", str(Endpoint.EVENT)):
        assert "proxy_read_timeout 3600s;" in locations[ws], f"{ws} websockets need a long read timeout"
    for upload in ("/graphql", str(Endpoint.UPLOAD)):
        assert "proxy_request_buffering off;" in locations[upload], f"{upload} uploads must stream"
    for private in ("/metrics", "/readyz"):
        assert "deny all;" in locations[private]


def test_nginx_routes_the_callback_at_the_diagram_path():
    """POST /jobs/{id}/callback reaches the app like /api/jobs/{id}/callback, with the same body limit."""
    text = NGINX_CONF.read_text()
    match = re.search(r"location\s+~\s+(\S+)\s*\{(.*?)\n\s*\}", text, re.S)
    assert match, "nginx.conf has no regex location for /jobs/{id}/callback"
    pattern, block = re.compile(match.group(1)), match.group(2)
    assert pattern.search("/jobs/7/callback") and not pattern.search("/jobs/7") and not pattern.search("/jobs/x/callback")
    assert "proxy_pass http://mpr_app;" in block and "client_max_body_size 2m;" in block


def test_nginx_config_passes_nginx_t(tmp_path):
    binary = ensure_nginx()
    conf = render_config("127.0.0.1:8000", 18080, tmp_path)
    result = check_config(binary, conf)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_one_port_dispatch_sends_readyz_and_metrics_to_the_api():
    from ui.mount import is_api_path

    for path in ("/readyz", "/metrics", "/healthz", "/graphql"):
        assert is_api_path(path), path
    assert not is_api_path(str(Endpoint.EVENT)) and not is_api_path("/")
