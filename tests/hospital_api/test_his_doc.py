"""docs/his.md tells the hospital's integration team how to verify a webhook in Python,
Java and Node.js (#13): each program there, run as written against a request the engine
signed (by the sender's own header code), says ``verified``; against a forged body, a
stale timestamp or another secret, it refuses; during a rotation either secret verifies."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from booking_core import feeds
from booking_core.events import webhook_body
from booking_core.events.examples import EXAMPLES
from booking_core.events.model import BookingCreated, OutboxEvent
from hospital_api.webhooks import headers
from tests.support.services import service_missing

DOC = Path(__file__).resolve().parents[2] / "docs" / "his.md"
LANGUAGES = {"python": "python", "java": "java", "js": "node"}


def snippet(language: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Verifying a webhook in three languages", 1)[1].split("\n## ", 1)[0]
    [code] = re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)
    return code


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def signed_request(secrets: feeds.SubscriptionSecrets, at: float | None = None):
    example = EXAMPLES[BookingCreated]
    event = OutboxEvent(
        id=1042,
        topic=example.topic,
        hospital_id=1,
        key=example.key,
        payload=example.payload(),
        created_at=datetime.now(UTC),
    )
    body = webhook_body(event, "H001")
    return body, headers(secrets, "msg_1042", time.time() if at is None else at, body)


@pytest.fixture(params=sorted(LANGUAGES))
def verifier(request, tmp_path):
    language = request.param
    tool = LANGUAGES[language]
    if language == "python":
        command = [sys.executable]
    else:
        if shutil.which(tool) is None:
            service_missing(tool, f"docs/his.md's {language} verifier needs it")
        command = [tool]
    name = {"python": "verify.py", "java": "Verify.java", "js": "verify.js"}[language]
    path = tmp_path / name
    path.write_text(snippet(language), encoding="utf-8")

    def run(secret: str, body: bytes, sent: dict) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "WEBHOOK_SECRET": secret,
            "WEBHOOK_ID": sent["webhook-id"],
            "WEBHOOK_TIMESTAMP": sent["webhook-timestamp"],
            "WEBHOOK_SIGNATURE": sent["webhook-signature"],
        }
        return subprocess.run(
            [*command, str(path)], input=body, env=env, capture_output=True, timeout=60
        )

    return run


def test_a_genuine_request_verifies_and_a_forged_one_does_not(verifier):
    secret = new_secret()
    body, sent = signed_request(feeds.SubscriptionSecrets(current=secret))
    genuine = verifier(secret, body, sent)
    assert genuine.returncode == 0, genuine.stderr.decode()
    assert genuine.stdout.decode().startswith("verified")
    forged = body.replace(b'"hospital":"H001"', b'"hospital":"H002"')
    assert forged != body
    assert verifier(secret, forged, sent).returncode == 1
    assert verifier(new_secret(), body, sent).returncode == 1  # another secret
    stale_body, stale = signed_request(feeds.SubscriptionSecrets(current=secret), time.time() - 600)
    assert verifier(secret, stale_body, stale).returncode == 1  # a replay, 10 minutes old


def test_during_a_rotation_either_secret_verifies(verifier):
    old, new = new_secret(), new_secret()
    body, sent = signed_request(feeds.SubscriptionSecrets(current=new, previous=old))
    assert len(sent["webhook-signature"].split(" ")) == 2
    assert verifier(old, body, sent).returncode == 0
    assert verifier(new, body, sent).returncode == 0
