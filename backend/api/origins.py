"""Which browser origins and Host names are this server's own: the policy behind every origin check.

Derived from Settings alone (`public_url` = MPR_PUBLIC_URL, `allowed_hosts` = MPR_ALLOWED_HOSTS,
`host`/`port` = the bound address), so the Litestar guard (backend.api.guard), Reflex's CORS list
and Socket.IO origin check (rxconfig.py) and strawberry's websocket check all agree.

Origins are exact (`scheme://host[:port]`, default ports dropped, as browsers send them): the
bound address, its 127.0.0.1/localhost/[::1] twins when bound to loopback or to every interface,
the public URL, and each allowed host (http and https; the bound port when it names none).
The callback URL's host (MPR_CALLBACK_URL, what AWS workers call) is an accepted Host name too.
Host names are compared without the port (DNS rebinding changes the name, not the port); the
loopback names are always accepted: a browser only sends them for a page whose address IS
loopback, whose requests the origin check still judges, and local health checks use them.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from backend.config import Settings

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def split_host(value: str) -> tuple[str, int | None]:
    """('example.com', 8080) from 'Example.COM:8080'; IPv6 in brackets ('[::1]:80' -> ('::1', 80))."""
    value = value.strip().lower()
    port: int | None = None
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
        return name, port
    if value.count(":") == 1:
        name, _, raw = value.partition(":")
        if raw.isdigit():
            port = int(raw)
        return name.rstrip("."), port
    return value.rstrip("."), None  # a bare IPv6 address or a plain name


def _netloc(host: str, port: int | None, scheme: str) -> str:
    name = f"[{host}]" if ":" in host else host
    return name if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{name}:{port}"


def normalize_origin(value: str) -> str | None:
    """'http://Example.com:80' -> 'http://example.com'; None for 'null' or anything not an origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        return None
    return f"{scheme}://{_netloc(parts.hostname.lower(), port, scheme)}"


@dataclass(frozen=True)
class OriginPolicy:
    hosts: frozenset[str]  # host names, lower case, no port
    origins: tuple[str, ...]  # normalized origins, sorted

    def host_allowed(self, header: str | None) -> bool:
        """True for a Host header naming this server (a request without one is not a browser's)."""
        if header is None:
            return True
        name, _ = split_host(header)
        return name in self.hosts

    def origin_allowed(self, header: str | None) -> bool:
        """True when there is no Origin header (not a cross-site browser request) or it is ours."""
        if header is None:
            return True
        return normalize_origin(header) in self.origins

    def websocket_origins(self) -> tuple[str, ...]:
        """ws:// and wss:// twins of the origins, for a Content-Security-Policy connect-src (which
        has no syntax for IPv6 literals: those are left to 'self')."""
        return tuple(o.replace("http", "ws", 1) for o in self.origins if "[" not in o)


def _allowed_host_entries(settings: Settings) -> list[str]:
    return [part.strip() for part in (settings.allowed_hosts or "").replace(";", ",").split(",") if part.strip()]


def policy_for(settings: Settings) -> OriginPolicy:
    hosts: set[str] = set(LOOPBACK_HOSTS)
    origins: set[str] = set()
    bound = settings.host.strip().lower().strip("[]")
    names = []
    if bound not in WILDCARD_HOSTS:
        names.append(bound)
    if bound in WILDCARD_HOSTS or bound in LOOPBACK_HOSTS or bound.startswith("127."):
        names.extend(LOOPBACK_HOSTS)
    for name in names:
        hosts.add(name)
        origins.add(f"http://{_netloc(name, settings.port, 'http')}")
    if settings.public_url:
        parts = urlsplit(settings.public_url.strip())
        origin = normalize_origin(f"{parts.scheme}://{parts.netloc}")
        if origin is None:
            raise ValueError(f"MPR_PUBLIC_URL must be an http(s) URL, got {settings.public_url!r}")
        origins.add(origin)
        hosts.add(split_host(urlsplit(origin).netloc)[0])
    if settings.callback_url:  # the address AWS workers call back on names this server too (no browser origin)
        callback_host = urlsplit(settings.callback_url.strip()).hostname
        if callback_host:
            hosts.add(callback_host.lower())
    for entry in _allowed_host_entries(settings):
        name, port = split_host(entry)
        if not name:
            continue
        hosts.add(name)
        for scheme in ("http", "https"):
            origins.add(f"{scheme}://{_netloc(name, port or (settings.port if scheme == 'http' else None), scheme)}")
    return OriginPolicy(hosts=frozenset(hosts), origins=tuple(sorted(origins)))


def unnamed_wildcard(settings: Settings) -> str | None:
    """A warning when the server listens on every interface but knows no name besides loopback."""
    if settings.host.strip().strip("[]") in WILDCARD_HOSTS and not settings.public_url \
            and not _allowed_host_entries(settings):
        return (f"listening on {settings.host} with neither MPR_PUBLIC_URL nor MPR_ALLOWED_HOSTS: only "
                "loopback names are accepted as Host/Origin; set them to the address browsers use")
    return None
