"""The ``guahao`` command line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web

from agent_console.auth import Passwords, weak_password_reason
from agent_console.i18n import translate
from booking_core import commands as c
from booking_core.clock import SystemClock
from booking_core.errors import GuahaoError
from booking_core.operator_commands import OPERATOR_ROLES, AddOperator
from booking_core.pii import Cipher
from booking_core.services import bootstrap
from booking_core.store import make_store
from hospital_api.auth import hash_token, new_token

from . import demo_modem
from .app import build_app
from .config import ConfigError, Settings, load_settings, require_secret
from .demo import create_demo
from .logs import setup_logging


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="TOML configuration file")
    p.add_argument("--db", help="SQLite file path or postgresql:// URL")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="guahao", description="Hospital outpatient booking engine")
    sub = top.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the engine")
    _common(serve)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)

    demo = sub.add_parser("demo", help="create a demo database (and serve it with --serve)")
    demo.add_argument("--dir", default=".demo", help="folder for the demo database and key")
    demo.add_argument("--serve", action="store_true", help="start the engine on it afterwards")
    demo.add_argument("--host")
    demo.add_argument("--port", type=int)

    token = sub.add_parser("token", help="API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create a bearer token (printed once)")
    _common(create)
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=["his", "kiosk", "admin"])
    create.add_argument("--hospital", metavar="CODE", help="limit the token to one hospital")

    operator = sub.add_parser("operator", help="agent-console operators")
    operator_sub = operator.add_subparsers(dest="operator_command", required=True)
    op_create = operator_sub.add_parser(
        "create",
        help="create an operator (the first platform admin): the password is asked twice, "
        "or read from stdin when it is not a terminal",
    )
    _common(op_create)
    op_create.add_argument("--username", required=True)
    op_create.add_argument("--name", required=True, help="display name (姓名)")
    op_create.add_argument(
        "--role",
        action="append",
        required=True,
        choices=list(OPERATOR_ROLES),
        help="repeat for several roles",
    )
    op_create.add_argument("--hospital", metavar="CODE", help="the operator's hospital")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "serve":
            return serve(_settings(args))
        if args.command == "demo":
            return demo(args)
        if args.command == "token":
            return asyncio.run(token_create(_settings(args), args))
        if args.command == "operator":
            return operator_create(_settings(args), args)
    except ConfigError as err:
        print(f"guahao: configuration: {err}", file=sys.stderr)
        return 2
    except GuahaoError as err:
        print(f"guahao: {err}", file=sys.stderr)
        return 1
    return 0


def _settings(args: argparse.Namespace, **extra) -> Settings:
    overrides = {
        "db": getattr(args, "db", None),
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        **extra,
    }
    return load_settings(getattr(args, "config", None), overrides=overrides)


def serve(settings: Settings, *, before=()) -> int:
    """Serve until stopped. ``before``: cleanup contexts to run ahead of the engine's own
    (the demo's simulated modem)."""
    setup_logging(settings.log_level)
    app = build_app(settings)
    for ctx in reversed(before):
        app.cleanup_ctx.insert(0, ctx)
    url = f"http://{settings.host}:{settings.port}"
    loop_factory = None
    if settings.uvloop:
        try:
            import uvloop
        except ImportError:  # not on this platform: asyncio's loop serves too
            pass
        else:
            loop_factory = uvloop.new_event_loop
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=lambda _msg: print(f"guahao serving on {url} (API {url}/api/v1/)", flush=True),
        access_log=None,
        loop=loop_factory() if loop_factory else None,
    )
    return 0


async def _open_services(settings: Settings):
    cipher = Cipher.from_base64(require_secret(settings, "pii_key"))  # before opening anything
    store = make_store(settings.db, SystemClock())
    await store.open()
    return store, bootstrap(store, cipher)


async def token_create(settings: Settings, args: argparse.Namespace) -> int:
    store, services = await _open_services(settings)
    try:
        token = new_token()
        await services.handle(
            c.CreateToken(
                name=args.name,
                role=args.role,
                hospital_code=args.hospital,
                token_hash=hash_token(token),
            )
        )
    finally:
        await store.close()
    print(token)
    print("Keep it safe: it is shown only this once.", file=sys.stderr)
    return 0


def read_new_password(username: str) -> str | None:
    """The new operator's password: asked twice on a terminal, else one line of stdin.
    None (after saying why on stderr) when it is refused."""
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            print("guahao: the two passwords differ", file=sys.stderr)
            return None
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    problem = weak_password_reason(password, username)
    if problem is not None:
        print(f"guahao: password refused: {translate('en', problem)}", file=sys.stderr)
        return None
    return password


def operator_create(settings: Settings, args: argparse.Namespace) -> int:
    require_secret(settings, "pii_key")  # say so before asking for a password
    password = read_new_password(args.username)
    if password is None:
        return 1
    return asyncio.run(_add_operator(settings, args, Passwords().hash(password)))


async def _add_operator(settings: Settings, args: argparse.Namespace, password_hash: str) -> int:
    store, services = await _open_services(settings)
    try:
        await services.handle(
            AddOperator(
                username=args.username,
                display_name=args.name,
                password_hash=password_hash,
                roles=tuple(args.role),
                hospital_code=args.hospital,
                must_change_password=False,
            )
        )
    finally:
        await store.close()
    print(f"operator {args.username.strip().lower()} created", file=sys.stderr)
    return 0


def demo(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    key_file = folder / "pii.key"
    if not key_file.exists():
        key_file.write_text(Cipher.generate_key() + "\n")
        key_file.chmod(0o600)
    os.environ.setdefault("GUAHAO_PII_KEY_FILE", str(key_file.resolve()))
    db = folder / "guahao.db"
    for stale in folder.glob("guahao.db*"):
        stale.unlink()
    settings = _settings(
        args,
        db=str(db),
        modem_port=str(demo_modem.port_path(folder).resolve()),
        modem_send_interval_seconds=1.0,
        sms_notices="modem",
    )
    login, token = asyncio.run(_fill_demo(settings))
    host, port = settings.host, settings.port
    inbox = demo_modem.inbox_path(folder)
    name, _card, phone = login.patients[0]
    print(
        f"""
guahao demo database: {db}
  API:        http://{host}:{port}/api/v1/  (OpenAPI: /api/v1/openapi.json)
  Health:     http://{host}:{port}/healthz   Metrics: /metrics
  API token (admin, shown once): {token}
  Demo operator for the agent console: {login.operator} / {login.password}  (shown once)
    Console: http://{host}:{port}/console/login → the agent's desk (keys: / search,
    b book, t take a call). The back office (/console/office) needs an admin; make one:
      GUAHAO_PII_KEY_FILE={key_file} .venv/bin/guahao operator create --db {db} \\
        --username admin --name 管理员 --role hospital_admin --hospital H001
  SMS: a simulated GSM modem on {demo_modem.port_path(folder)}; what it sends is printed
    here. Text the engine as a patient (from another terminal):
      echo '{phone} CX' > {inbox}
      echo '{phone} GHDH00868,{_tomorrow(settings)}0830,{name}' > {inbox}
  Patients (name, card number, phone):"""
    )
    for name, card, phone in login.patients:
        print(f"    {name}  {card}  {phone}")
    print(
        f"""  Try:  curl -H 'Authorization: Bearer {token}' \\
          'http://{host}:{port}/api/v1/slots?hospital=H001&doctor=00868'
""",
        flush=True,
    )
    if args.serve:
        return serve(settings, before=[demo_modem.simulated_modem_ctx(folder)])
    return 0


def _tomorrow(settings: Settings) -> str:
    return (datetime.now(ZoneInfo(settings.timezone)).date() + timedelta(days=1)).strftime("%m%d")


async def _fill_demo(settings: Settings):
    store, services = await _open_services(settings)
    try:
        today = datetime.now(ZoneInfo(settings.timezone)).date()
        login = await create_demo(services, today)
        token = new_token()
        await services.handle(
            c.CreateToken(
                name="demo-admin", role="admin", hospital_code=None, token_hash=hash_token(token)
            )
        )
    finally:
        await store.close()
    return login, token


if __name__ == "__main__":
    sys.exit(main())
