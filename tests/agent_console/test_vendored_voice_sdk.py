"""The vendored Voice SDK (#14) is exactly the pinned release, checked offline: the committed
files have the SHA-256 that ``scripts/vendor_voice_sdk.py`` pins (it refuses a tarball whose
npm integrity or files differ), VERSION names that release, and the console's static route
serves the bundle byte for byte."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "vendor_voice_sdk.py"


def vendor_script():
    spec = importlib.util.spec_from_file_location("vendor_voice_sdk", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_copy_is_the_pinned_release():
    script = vendor_script()
    folder = script.TARGET
    assert folder == ROOT / "agent_console" / "static" / "vendor" / "twilio-voice"
    for name, digest in script.FILE_SHA256.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert (folder / "VERSION").read_text() == script.version_text()
    assert script.version_text().startswith("@twilio/voice-sdk 2.18.5\n")
    assert script.INTEGRITY.startswith("sha512-")


def test_a_tarball_with_another_integrity_is_refused():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b"window.Twilio = {};"
        info = tarfile.TarInfo("package/dist/twilio.min.js")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert gzip.decompress(buffer.getvalue())
    with pytest.raises(SystemExit, match="expected sha512-"):
        vendor_script().extract(buffer.getvalue())


async def test_the_console_serves_the_bundle(browser, hospitals):
    console = await browser()
    async with console.client.get("/console/static/vendor/twilio-voice/twilio.min.js") as resp:
        assert resp.status == 200
        body = await resp.read()
    expected = vendor_script().FILE_SHA256["twilio.min.js"]
    assert hashlib.sha256(body).hexdigest() == expected
