"""Several app servers behind one nginx, for the tests: Debian's nginx (1.22) started unprivileged
with its own configuration, pid file and logs in a temporary folder (`nginx -p PREFIX -c CONF`).

Stickiness is by cookie, as in deploy/nginx.conf: a browser without the `nnus_node` cookie gets a
random key that nginx sets as the cookie, and `hash $key consistent` sends every request with that key
(the page, the websocket `/_stcore/stream`, uploads) to the same server. Streamlit's websocket needs the
Upgrade/Connection headers. The access log records `$upstream_addr` and the cookie of every request:
`NginxFront.upstream_of(cookie)` says which server a browser reached; `cookie_for(i)` finds a cookie
value that lands on upstream `i` (tests that need two browsers on two given servers set it first).

`make test` installs nginx when missing (as root); without it the tests that need it fail with a message.
As root, nginx runs as `nobody` (like the PostgreSQL test server), and its folder is handed to `nobody`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

COOKIE = "nnus_node"
RUN_AS_WHEN_ROOT = "nobody"
LOG_FORMAT = '$msec $status "$request" upstream=$upstream_addr node=$cookie_nnus_node'

CONF_TEMPLATE = """# written by tests/nginx.py: one front for the test's app servers
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 256; }}
http {{
    log_format nnus '{log_format}';
    access_log {prefix}/access.log nnus;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
{common}
    server {{
        listen 127.0.0.1:{port};
{locations}
    }}
}}
"""


def common_http_block(servers: Sequence[str]) -> str:
    """The `http`-level part shared by the tests and deploy/nginx.conf: stickiness and the upstream."""
    lines = "\n".join(f"        server {s} max_fails=1 fail_timeout=10s;" for s in servers)
    return f"""    # Sticky by cookie: a new browser gets a random key (and the cookie), a known one keeps its key.
    map $cookie_{COOKIE} $nnus_key {{
        ""      $request_id;
        default $cookie_{COOKIE};
    }}
    map $cookie_{COOKIE} $nnus_set_cookie {{
        ""      "{COOKIE}=$request_id; Path=/; HttpOnly; SameSite=Lax";
        default "";
    }}
    map $http_upgrade $nnus_connection {{
        default upgrade;
        ""      close;
    }}
    upstream nnus_app {{
        hash $nnus_key consistent;
{lines}
    }}
"""


LOCATIONS = """        client_max_body_size 200m;  # Streamlit's default upload limit
        location / {
            proxy_pass http://nnus_app;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $nnus_connection;
            proxy_read_timeout 1h;  # the websocket of an open page stays up
            proxy_buffering off;
            add_header Set-Cookie $nnus_set_cookie;
        }
"""


def find_nginx() -> str | None:
    """Debian's nginx binary, or $NNUS_NGINX."""
    return (
        os.environ.get("NNUS_NGINX")
        or shutil.which("nginx")
        or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class NginxFront:
    """A running nginx: its URL, the upstream servers ("127.0.0.1:PORT") in order, its folder."""

    url: str
    upstreams: tuple[str, ...]
    prefix: Path

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"

    def log_lines(self) -> list[str]:
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []

    def upstreams_of(self, cookie: str, path: str = "") -> set[str]:
        """The upstream servers that requests carrying this cookie (and `path` in their request line) went to."""
        out = set()
        for line in self.log_lines():
            if line.endswith(f" node={cookie}") and path in line:
                out.add(line.split(" upstream=", 1)[1].split(" ", 1)[0])
        return out

    def wait_upstreams_of(self, cookie: str, path: str = "", timeout_s: float = 5.0) -> set[str]:
        """`upstreams_of`, once the log holds a line for the cookie (nginx logs a request after answering it)."""
        deadline = time.monotonic() + timeout_s
        while not (got := self.upstreams_of(cookie, path)) and time.monotonic() < deadline:
            time.sleep(0.02)
        return got

    def cookie_for(self, index: int, tries: int = 64) -> str:
        """A cookie value that nginx sends to upstream `index` (asked through the health endpoint)."""
        want = self.upstreams[index]
        for i in range(tries):
            value = f"probe{index}x{i}"
            req = urllib.request.Request(
                f"{self.url}/_stcore/health", headers={"Cookie": f"{COOKIE}={value}"}
            )
            with urllib.request.urlopen(req, timeout=10) as r:
                r.read()
            got = self.wait_upstreams_of(value)
            if got == {want}:
                return value
        raise RuntimeError(f"no cookie value among {tries} lands on {want}")


def write_config(prefix: Path, port: int, upstreams: Sequence[str]) -> Path:
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(
        CONF_TEMPLATE.format(
            prefix=prefix,
            port=port,
            log_format=LOG_FORMAT,
            common=common_http_block(upstreams),
            locations=LOCATIONS,
        )
    )
    return conf


@contextmanager
def nginx_front(prefix: Path, upstreams: Sequence[str], port: int | None = None) -> Iterator[NginxFront]:
    """Run nginx in front of `upstreams` ("127.0.0.1:PORT") on `port` (a free one by default) until the block ends.

    Raises:
        RuntimeError: nginx is missing, its configuration is refused, or it does not answer.
    """
    binary = find_nginx()
    if binary is None:
        raise RuntimeError("nginx not found: run `make test` as root, or `sudo apt-get install nginx`")
    port = port or free_port()
    prefix.mkdir(parents=True, exist_ok=True)
    conf = write_config(prefix, port, upstreams)
    cmd = [binary, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"]
    user = None
    if os.geteuid() == 0:  # nginx as root would switch its workers to nobody anyway: run it all as nobody
        user = RUN_AS_WHEN_ROOT
        pw = pwd.getpwnam(user)
        for p in [prefix, *prefix.rglob("*")]:
            os.chown(p, pw.pw_uid, pw.pw_gid)
        # nobody must reach the folder: open the parents' search bit (temporary folders are 0700)
        for parent in prefix.parents:
            if parent == Path(parent.anchor):
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o011)
        cmd = ["runuser", "-u", user, "--", *cmd]
    test = subprocess.run(
        [*cmd[: cmd.index(binary) + 1], "-t", *cmd[cmd.index(binary) + 1 :]], capture_output=True, text=True
    )
    if test.returncode != 0:
        raise RuntimeError(f"nginx refused its configuration {conf}: {test.stderr.strip()}")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:  # nginx prints nothing when it listens: ask until it answers (it starts in ms)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"nginx did not start on {url}: {(prefix / 'error.log').read_text()[-2000:] if (prefix / 'error.log').exists() else proc.stderr.read()}"
                    ) from None
                time.sleep(0.05)
        yield NginxFront(url, tuple(upstreams), prefix)
    finally:
        proc.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
