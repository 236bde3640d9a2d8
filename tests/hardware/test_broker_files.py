"""The broker's files as the engine writes them: mosquitto's password file (the ``$7$``
hashes ``mosquitto_passwd`` writes) and the ACL of docs/kiosk.md, written whole or not at
all, only when they change, and taken up by the real broker when it is told to reload."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import aiomqtt
import pytest

from hardware.hall.mosquitto import (
    HEADER,
    BrokerFiles,
    BrokerFilesError,
    EngineAccount,
    acl_text,
    password_hash,
    password_matches,
)
from tests.hardware.kiosk_world import ENGINE, KIOSK_A, KIOSK_B, ROOT, mqtt_client
from tests.support.services import ServiceError, service_missing, start_private_mosquitto

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = EngineAccount(ENGINE, "engine-secret-1")
A_HASH, B_HASH = password_hash("kiosk-a-secret"), password_hash("kiosk-b-secret")


def files(tmp_path: Path, pid_path: Path | None = None) -> BrokerFiles:
    return BrokerFiles(tmp_path / "passwd", tmp_path / "guahao.acl", pid_path)


def test_our_hash_is_the_one_mosquitto_passwd_writes(tmp_path):
    """Same salt and count, same line: checked against the real tool when it is installed,
    and against PBKDF2-SHA512 itself always (the broker test below takes our hashes)."""
    salt = bytes(range(12))
    ours = password_hash("s3cret-密码", salt=salt)
    assert ours.startswith("$7$101$AAECAwQFBgcICQoL$")
    key = hashlib.pbkdf2_hmac("sha512", "s3cret-密码".encode(), salt, 101)
    assert ours.split("$")[4] == base64.b64encode(key).decode()
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        return
    subprocess.run([tool, "-c", "-b", str(tmp_path / "pw"), "k1", "s3cret-密码"], check=True)
    _, written = (tmp_path / "pw").read_text().strip().split(":", 1)
    _, seven, count, their_salt, _ = written.split("$")
    assert (seven, count) == ("7", "101")
    assert written == password_hash(
        "s3cret-密码", salt=base64.b64decode(their_salt), iterations=int(count)
    )
    assert password_matches("s3cret-密码", written)


def test_a_password_matches_its_own_hash_only():
    hashed = password_hash("right")
    assert password_matches("right", hashed)
    assert not password_matches("wrong", hashed)
    assert not password_matches("right", password_hash("right")[:-4] + "AAA=")
    for garbage in ("", "$6$abc$def", "$7$101$!!$??", "right"):
        assert not password_matches("right", garbage)


def test_one_line_per_account_and_the_acl_of_docs_kiosk_md(tmp_path):
    broker_files = files(tmp_path)
    assert broker_files.write(ACCOUNT, [(KIOSK_B, B_HASH), (KIOSK_A, A_HASH)])
    users = [line.split(":", 1) for line in (tmp_path / "passwd").read_text().splitlines()]
    assert [user for user, _ in users] == [ENGINE, KIOSK_A, KIOSK_B]
    assert password_matches(ACCOUNT.password, users[0][1])
    assert [hashed for _, hashed in users[1:]] == [A_HASH, B_HASH]
    assert (tmp_path / "guahao.acl").read_text() == HEADER + acl_text(ENGINE)


def test_the_acl_is_the_one_docs_kiosk_md_gives():
    docs = (REPO / "docs" / "kiosk.md").read_text()
    block = docs.split("```\n# the engine")[1].split("```")[0].split("\n", 1)[1]
    rules = [line for line in acl_text(ENGINE).splitlines() if line and line[0] != "#"]
    assert [line for line in block.splitlines() if line and not line.startswith("#")] == rules
    assert "user engine" in rules
    assert acl_text("guahao-engine-2").count("user guahao-engine-2\n") == 1


def test_the_same_list_written_again_changes_nothing(tmp_path):
    broker_files = files(tmp_path)
    assert broker_files.write(ACCOUNT, [(KIOSK_A, A_HASH)])
    before = {p.name: (p.stat().st_ino, p.read_bytes()) for p in tmp_path.iterdir()}
    assert not broker_files.write(ACCOUNT, [(KIOSK_A, A_HASH)])
    assert {p.name: (p.stat().st_ino, p.read_bytes()) for p in tmp_path.iterdir()} == before
    # a new password for the engine is a new hash; a kiosk more is a line more
    renewed = EngineAccount(ENGINE, "a new one")
    assert broker_files.write(renewed, [(KIOSK_A, A_HASH)])
    assert broker_files.write(renewed, [(KIOSK_A, A_HASH), (KIOSK_B, B_HASH)])
    assert (tmp_path / "passwd").read_text().count("\n") == 3


def test_a_file_is_replaced_whole_and_keeps_its_mode(tmp_path):
    broker_files = files(tmp_path)
    broker_files.write(ACCOUNT, [(KIOSK_A, A_HASH)])
    assert (tmp_path / "passwd").stat().st_mode & 0o777 == 0o640
    (tmp_path / "passwd").chmod(0o600)
    old = (tmp_path / "passwd").read_bytes()
    with (tmp_path / "passwd").open("rb") as reader:  # the broker reading the old file
        assert broker_files.write(ACCOUNT, [(KIOSK_A, A_HASH), (KIOSK_B, B_HASH)])
        assert reader.read() == old  # renamed over, not rewritten in place
    assert (tmp_path / "passwd").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["guahao.acl", "passwd"]  # no leftovers


@pytest.mark.parametrize(
    ("engine", "kiosks", "words"),
    [
        (ACCOUNT, [("kiosk-a", A_HASH)], "not a kiosk id"),
        (ACCOUNT, [(KIOSK_A, A_HASH), (KIOSK_A, B_HASH)], "listed twice"),
        (ACCOUNT, [(KIOSK_A, "kiosk-a-secret")], "not a $7$ hash"),
        (ACCOUNT, [(KIOSK_A, A_HASH + "\nk0000000c:" + B_HASH)], "not a $7$ hash"),
        (EngineAccount("k0000000e", "x"), [], "looks like a kiosk id"),
        (EngineAccount("engine:1", "x"), [], "letters, digits"),
        (EngineAccount("engine\nuser x", "x"), [], "letters, digits"),
    ],
)
def test_what_would_break_a_file_is_refused_and_nothing_written(tmp_path, engine, kiosks, words):
    with pytest.raises(BrokerFilesError, match=f"{words[:12].replace('$', '.')}") as raised:
        files(tmp_path).write(engine, kiosks)
    assert "kiosk-a-secret" not in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_the_reload_signals_only_mosquitto(tmp_path):
    assert files(tmp_path).reload() is None  # no pid file configured: someone else reloads
    with pytest.raises(BrokerFilesError, match="cannot read the broker's pid file"):
        files(tmp_path, tmp_path / "missing.pid").reload()
    (tmp_path / "garbage.pid").write_text("twelve\n")
    with pytest.raises(BrokerFilesError, match="holds no pid"):
        files(tmp_path, tmp_path / "garbage.pid").reload()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "stale.pid").write_text(f"{other.pid}\n")
        with pytest.raises(BrokerFilesError, match="not mosquitto"):
            files(tmp_path, tmp_path / "stale.pid").reload()
        assert other.poll() is None  # SIGHUP would have ended it
    finally:
        other.kill()
        other.wait()
    (tmp_path / "gone.pid").write_text(f"{other.pid}\n")
    with pytest.raises(BrokerFilesError, match="not running"):
        files(tmp_path, tmp_path / "gone.pid").reload()


async def logs_in(broker, user: str, password: str) -> bool:
    """True when the broker lets ``user`` in; False when it says not authorised."""
    try:
        async with mqtt_client(broker, user, password=password, timeout=3):
            return True
    except aiomqtt.MqttError as err:
        refused = err
    if "authori" not in str(refused).lower():
        raise refused
    return False


async def closed_by_the_broker(client: aiomqtt.Client) -> bool:
    """Whether the broker closes ``client``'s connection within 5 s."""
    try:
        async with asyncio.timeout(5):
            async for _ in client.messages:
                pass
    except aiomqtt.MqttError:
        return True
    except TimeoutError:
        return False
    return False


async def until_logs_in(broker, user: str, password: str) -> None:
    """The broker takes a SIGHUP up within its next loop (milliseconds): try for 5 s."""
    for _ in range(50):
        if await logs_in(broker, user, password):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{user} still cannot log in")


@pytest.mark.slow
async def test_a_kiosk_added_after_the_start_logs_in_after_the_reload_and_a_removed_one_not(
    tmp_path,
):
    conf = tmp_path / "etc"
    conf.mkdir()
    broker_files = files(conf)
    broker_files.write(ACCOUNT, [(KIOSK_A, A_HASH)])
    try:
        broker = start_private_mosquitto(
            tmp_path, password_file=broker_files.password_path, acl_file=broker_files.acl_path
        )
    except ServiceError as err:
        service_missing("mosquitto", str(err))
    broker_files = files(conf, broker.pid_file)
    try:
        assert await logs_in(broker, KIOSK_A, "kiosk-a-secret")
        assert await logs_in(broker, ENGINE, ACCOUNT.password)
        assert not await logs_in(broker, KIOSK_B, "kiosk-b-secret")

        assert broker_files.sync(ACCOUNT, [(KIOSK_A, A_HASH), (KIOSK_B, B_HASH)])
        await until_logs_in(broker, KIOSK_B, "kiosk-b-secret")
        async with mqtt_client(broker, ENGINE, password=ACCOUNT.password) as engine:
            await engine.subscribe(f"{ROOT}/+/acks", qos=1)
            async with mqtt_client(broker, KIOSK_B, password="kiosk-b-secret") as b:
                await b.publish(f"{ROOT}/{KIOSK_B}/acks", b"B's ack", qos=1)  # the ACL holds
                async with asyncio.timeout(5):
                    async for message in engine.messages:
                        assert str(message.topic) == f"{ROOT}/{KIOSK_B}/acks"
                        break

            async with mqtt_client(broker, KIOSK_A, password="kiosk-a-secret") as a:
                assert not broker_files.sync(ACCOUNT, [(KIOSK_A, A_HASH), (KIOSK_B, B_HASH)])
                assert broker_files.sync(ACCOUNT, [(KIOSK_B, B_HASH)])  # A taken out of service
                assert await closed_by_the_broker(a)  # its open connection too
            # the engine's hash was kept, so the reload left the engine connected
            await engine.publish(f"{ROOT}/{KIOSK_B}/jobs", b"still here", qos=1, timeout=3)
        assert not await logs_in(broker, KIOSK_A, "kiosk-a-secret")
        assert await logs_in(broker, KIOSK_B, "kiosk-b-secret")
    finally:
        broker.stop()
