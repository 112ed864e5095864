"""deploy/nginx-nnus.conf, the example front for several app servers: nginx accepts it, and it keeps
browsers on their server the way the two-servers browser test's nginx does (tests/nginx.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.nginx import COOKIE, LOCATIONS, common_http_block, find_nginx

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "nginx-nnus.conf"


def _squash(text: str) -> str:
    return " ".join(
        line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()
    )


def test_the_example_config_passes_nginx_t(tmp_path):
    nginx = find_nginx()
    if nginx is None:
        pytest.fail(
            "nginx not found: run `make test` as root, or `sudo apt-get install nginx`", pytrace=False
        )
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\nhttp {{ include {DEPLOY}; }}\n"
    )
    done = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_example_config_is_the_tested_one():
    deploy = _squash(DEPLOY.read_text())
    tested = _squash(common_http_block([]))
    # the maps (cookie stickiness, websocket upgrade) and the hash are the tested ones, word for word
    for part in tested.split("upstream nnus_app {")[0].split("} "):
        assert part.strip(" }") in deploy, part
    assert "hash $nnus_key consistent;" in deploy
    for line in _squash(LOCATIONS).split("; "):
        assert line.strip(" ;{}") in deploy, line
    assert f"$cookie_{COOKIE}" in deploy and "ip_hash" not in _squash(DEPLOY.read_text())
