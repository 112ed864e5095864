"""Real browser: the school's single sign-on through Streamlit's st.login against a local OpenID Connect
provider (oidc-provider-mock on 127.0.0.1). An account in the instructors group signs in as an
instructor and reaches Classes; another as a student, who does not; a reload keeps the sign-in."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.browser.conftest import ARTIFACTS, _free_port, open_app_page, screenshot, start_server, stop_server

PROF = {"sub": "prof-1", "name": "Prof Ada", "email": "ada@school.edu", "groups": ["instructors"]}
STUDENT = {"sub": "stu-1", "name": "Sam Student", "email": "sam@school.edu", "groups": ["students"]}


@pytest.fixture(scope="module")
def sso_server(browser_data_dir, tmp_path_factory):
    base = tmp_path_factory.mktemp("sso")
    op_port, app_port = _free_port(), _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    op_log = open(ARTIFACTS / f"oidc-{op_port}.log", "w")  # noqa: SIM115 (closed with the process)
    op = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "oidc_provider_mock",
            "-H",
            "127.0.0.1",
            "-p",
            str(op_port),
            "--user-claims",
            json.dumps(PROF),
            "--user-claims",
            json.dumps(STUDENT),
        ],
        stdout=op_log,
        stderr=subprocess.STDOUT,
    )
    issuer = f"http://127.0.0.1:{op_port}"
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=1)
            break
        except OSError:
            if time.time() > deadline or op.poll() is not None:
                op.kill()
                pytest.fail(f"the OpenID Connect provider did not start; see {op_log.name}")
            time.sleep(0.2)
    secrets = base / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        'cookie_secret = "test-only-cookie-secret-not-for-production"\n'
        'client_id = "nnus-tutor"\n'
        'client_secret = "test-only"\n'
        f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n'
    )
    env = {"NNUS_DB_URL": f"sqlite:///{base / 'tutor.db'}", "STREAMLIT_SECRETS_FILES": str(secrets)}
    proc, url = start_server(browser_data_dir, env, port=app_port)
    yield url.replace("localhost", "127.0.0.1")
    stop_server(proc)
    op.terminate()
    op.wait(10)


def _sso_sign_in(page, url: str, sub: str) -> None:
    # The provider's form links a stylesheet on a CDN: nothing leaves 127.0.0.1 in tests.
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    open_app_page(page, url, "signin", marker="Join a class")
    page.get_by_role("tab", name="Instructor").click()
    page.get_by_role("button", name="Sign in with the school's account").click()
    page.get_by_role("button", name=sub).click()  # the provider's predefined user
    page.wait_for_url(f"{url}/**")
    open_app_page(page, url, "signin")
    page.get_by_text("Signed in as").first.wait_for()


def test_sso_instructor_and_student(browser, sso_server):
    url = sso_server
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    _sso_sign_in(page, url, PROF["sub"])
    assert "Prof Ada" in page.get_by_text("Signed in as").first.inner_text()
    assert "instructor" in page.get_by_text("Signed in as").first.inner_text()
    open_app_page(page, url, "classes", marker="Classes")
    page.get_by_text("New class").first.wait_for()
    page.reload()
    open_app_page(page, url, "classes", marker="New class")  # a reload keeps the SSO sign-in
    screenshot(page, "sso-instructor-classes")
    ctx.close()

    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    _sso_sign_in(page, url, STUDENT["sub"])
    assert "student" in page.get_by_text("Signed in as").first.inner_text()
    open_app_page(page, url, "classes")
    page.get_by_text("Instructors only").first.wait_for()
    ctx.close()
