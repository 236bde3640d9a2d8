"""The engine's front page and the API's index: every door one link away, and every link
works; ``guahao serve --port 0`` says the port it really got."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from booking_core.kernel.pii import Cipher
from engine import demo_modem
from engine.app import build_app
from engine.config import load_settings
from engine.home import home
from engine.keys import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
KEY = Cipher.generate_key()
START_TIMEOUT_SECONDS = 30


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"])


def settings_for(db: str, **extra):
    base = load_settings(env={"GUAHAO_PII_KEY": KEY}, overrides={"db": db})
    return dataclasses.replace(base, **extra)


async def _client(aiohttp_client, tmp_path, clock, **extra):
    return await aiohttp_client(
        build_app(settings_for(str(tmp_path / "g.db"), **extra), clock=clock)
    )


async def test_the_front_page_links_every_door_and_every_link_works(
    aiohttp_client, tmp_path, clock
):
    client = await _client(aiohttp_client, tmp_path, clock)
    resp = await client.get("/")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    page = Links()
    page.feed(await resp.text())
    paths = {"/" + href for href in page.hrefs}  # relative to /
    assert {
        "/console/login",
        "/api/v1/",
        "/api/v1/openapi.json",
        "/fhir/R4/metadata",
        "/fhir/R4/$bulk-publish",
        "/healthz",
        "/metrics",
    } <= paths
    for path in paths:
        async with client.get(path) as linked:
            assert linked.status == 200, path


async def test_the_front_page_says_how_to_call_once_the_line_is_open(
    aiohttp_client, tmp_path, clock
):
    closed = await _client(aiohttp_client, tmp_path, clock)
    text = await (await closed.get("/")).text()
    assert "twilio_auth_token" in text
    assert "guahao phone" not in text

    url = "https://guahao.example-hospital.test"
    (tmp_path / "open").mkdir()
    opened = await _client(
        aiohttp_client, tmp_path / "open", clock, twilio_auth_token="t0k", public_url=url
    )
    text = await (await opened.get("/")).text()
    assert "guahao phone --from" in text
    assert f"{url}/twilio/voice" in text
    assert "t0k" not in text  # a public page never shows a secret


async def test_the_api_index_links_its_openapi_document(aiohttp_client, tmp_path, clock):
    client = await _client(aiohttp_client, tmp_path, clock)
    resp = await client.get("/api/v1/")
    assert resp.status == 200
    index = await resp.json()
    document = await client.get(index["links"]["openapi"])
    assert document.status == 200
    spec = await document.json()
    assert "openapi.json" in resp.headers["Link"]
    listed = {(e["method"], e["path"]) for e in index["endpoints"]}
    described = {
        (method.upper(), "/api/v1" + path)
        for path, operations in spec["paths"].items()
        for method in operations
    }
    assert listed == described


@pytest.mark.timeout(60)
def test_serve_on_port_0_prints_the_port_it_got(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUAHAO_")}
    env["GUAHAO_PII_KEY"] = KEY
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "serve",
            "--port",
            "0",
            "--db",
            str(tmp_path / "g.db"),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        found = re.search(r"guahao serving on http://127\.0\.0\.1:(\d+) ", line)
        assert found, line
        port = int(found.group(1))
        assert port != 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            assert resp.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        proc.stdout.close()


async def test_the_front_page_says_how_to_text_the_demo_modem(tmp_path):
    app = web.Application()
    port = tmp_path / demo_modem.PORT_NAME
    app[SETTINGS] = settings_for(str(tmp_path / "g.db"), modem_port=str(port))
    text = (await home(make_mocked_request("GET", "/", app=app))).text
    assert f"echo '13800130001 CX' &gt; {demo_modem.inbox_path(tmp_path)}" in text

    app = web.Application()
    app[SETTINGS] = settings_for(str(tmp_path / "g.db"), modem_port="/dev/ttyUSB0")
    text = (await home(make_mocked_request("GET", "/", app=app))).text
    assert "modem.in" not in text  # a real modem: nobody writes into a demo inbox
