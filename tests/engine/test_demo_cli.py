"""``guahao demo`` as a newcomer sees it: the command it prints to serve its database again
works as printed, with the phone line open (a signed call is answered)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUAHAO_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


@pytest.mark.timeout(90)
def test_the_demo_says_how_to_serve_its_database_again_and_that_works(tmp_path):
    made = subprocess.run(
        [sys.executable, "-m", "engine.cli", "demo", "--dir", str(tmp_path / "d"), "--port", "0"],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    out = made.stdout
    assert "Hospital admin: admin / " in out
    assert "is waiting for an agent" in out
    printed = re.search(r"Serve this database again.*?\n\s+(.*?)\\\n\s+(.*?)\n", out, re.S)
    assert printed, out
    words = shlex.split(printed.group(1) + " " + printed.group(2))
    env = dict(w.split("=", 1) for w in words if re.match(r"GUAHAO_\w+=", w))
    assert set(env) == {"GUAHAO_PII_KEY_FILE", "GUAHAO_TWILIO_AUTH_TOKEN_FILE"}
    command = [w for w in words if w not in {f"{k}={v}" for k, v in env.items()}]
    assert command[0].endswith("guahao")
    assert command[1] == "serve"
    assert "--db" in command
    config = tomllib.loads(Path(command[command.index("--config") + 1]).read_text())

    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", *command[1:]],
        env=_env() | env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert f"guahao serving on {config['public_url']} " in line, line
        url = config["public_url"] + "/twilio/voice"
        params = {"CallSid": "CA" + "1" * 32, "From": "+8613800130001", "To": "+10000000000"}
        token = Path(env["GUAHAO_TWILIO_AUTH_TOKEN_FILE"]).read_text().strip()
        request = urllib.request.Request(
            url,
            data=urllib.parse.urlencode(params).encode(),
            headers={"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 200
            assert b"<Gather" in resp.read()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        proc.stdout.close()
