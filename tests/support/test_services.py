"""The private service helpers start real servers on free ports, and clean up after them."""

import socket

import pytest

from .services import (
    PrivateBroker,
    PrivatePostgres,
    ServiceError,
    create_database,
    drop_database,
    run_psql,
    service_missing,
    start_private_mosquitto,
    start_private_postgres,
    wait_for_port,
)

# MQTT 3.1.1 CONNECT: protocol "MQTT" level 4, clean session, keep-alive 60 s, client id "t1".
MQTT_CONNECT = bytes([0x10, 14, 0, 4, *b"MQTT", 4, 0x02, 0, 60, 0, 2, *b"t1"])
MQTT_CONNACK_ACCEPTED = bytes([0x20, 2, 0, 0])


def start_postgres(tmp_path) -> PrivatePostgres:
    try:
        return start_private_postgres(tmp_path)
    except ServiceError as err:
        service_missing("PostgreSQL", str(err))


def start_broker(tmp_path, **options) -> PrivateBroker:
    try:
        return start_private_mosquitto(tmp_path, **options)
    except ServiceError as err:
        service_missing("mosquitto", str(err))


def test_private_postgres_accepts_connections_and_stops(tmp_path):
    pg = start_postgres(tmp_path)
    try:
        assert pg.dsn == f"postgresql://postgres@127.0.0.1:{pg.port}/postgres"
        assert pg.port != 5432
        assert run_psql(pg.dsn, "select 1") == "1"
        assert run_psql(pg.dsn, "show fsync") == "off"
        assert run_psql(pg.dsn, "show max_connections") == "200"
        assert run_psql(pg.dsn, "show server_encoding") == "UTF8"
    finally:
        pg.stop()
    assert not wait_for_port("127.0.0.1", pg.port, timeout=0.5)
    pg.stop()  # a second stop is harmless


def test_each_fresh_database_is_empty_and_separate(tmp_path):
    pg = start_postgres(tmp_path)
    try:
        first = create_database(pg.dsn)
        second = create_database(pg.dsn)
        assert first != second
        assert first.startswith(f"postgresql://postgres@127.0.0.1:{pg.port}/t_")
        run_psql(first, "create table booking (id int primary key)")
        assert run_psql(first, "select count(*) from pg_tables where tablename = 'booking'") == "1"
        assert run_psql(second, "select count(*) from pg_tables where tablename = 'booking'") == "0"
        drop_database(first)
        name = first.rsplit("/", 1)[1]
        assert run_psql(pg.dsn, f"select count(*) from pg_database where datname = '{name}'") == "0"
        drop_database(second)
    finally:
        pg.stop()


def test_drop_database_refuses_the_maintenance_database():
    with pytest.raises(ValueError, match="refusing"):
        drop_database("postgresql://postgres@127.0.0.1:1/postgres")


def test_private_mosquitto_accepts_mqtt_connections(tmp_path):
    broker = start_broker(tmp_path)
    try:
        assert broker.host == "127.0.0.1"
        assert broker.port != 1883
        with socket.create_connection((broker.host, broker.port), timeout=5) as conn:
            conn.sendall(MQTT_CONNECT)
            assert conn.recv(4) == MQTT_CONNACK_ACCEPTED
    finally:
        broker.stop()
    assert not wait_for_port(broker.host, broker.port, timeout=0.5)


def test_service_missing_skips_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="mosquitto is not available: not installed"):
        service_missing("mosquitto", "not installed")


def test_service_missing_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        service_missing("PostgreSQL", "initdb not found")


def _connect(broker: PrivateBroker, user: str, password: str) -> bytes:
    """An MQTT 3.1.1 CONNECT with a user name and password; the CONNACK's return code."""
    body = b"\x00\x04MQTT\x04\xc2\x00\x3c"  # level 4, user name + password + clean session
    for field_ in (b"t2", user.encode(), password.encode()):
        body += len(field_).to_bytes(2, "big") + field_
    with socket.create_connection((broker.host, broker.port), timeout=5) as conn:
        conn.sendall(bytes([0x10, len(body)]) + body)
        return conn.recv(4)[3:4]


def test_private_mosquitto_with_users_takes_our_hashes_and_refuses_wrong_passwords(tmp_path):
    broker = start_broker(tmp_path, users={"k0000000a": "right-one"})
    try:
        assert _connect(broker, "k0000000a", "right-one") == b"\x00"
        assert _connect(broker, "k0000000a", "wrong-one") == b"\x05"  # not authorised
        assert _connect(broker, "nobody", "right-one") == b"\x05"
    finally:
        broker.stop()


def test_a_restarted_broker_keeps_its_port(tmp_path):
    broker = start_broker(tmp_path, persistence=True)
    try:
        port = broker.port
        broker.restart()
        assert broker.port == port
        with socket.create_connection((broker.host, broker.port), timeout=5) as conn:
            conn.sendall(MQTT_CONNECT)
            assert conn.recv(4) == MQTT_CONNACK_ACCEPTED
    finally:
        broker.stop()
