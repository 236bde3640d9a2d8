"""The ``guahao`` command line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import secrets
import socket
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from agent_console.auth import Passwords, weak_password_reason
from agent_console.i18n import translate
from booking_core import kiosks, operators
from booking_core.bus import bootstrap
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.clock import SystemClock
from booking_core.kernel.errors import GuahaoError
from booking_core.kernel.pii import Cipher
from booking_core.operators import AddOperator, Role, TokenRole
from booking_core.store import make_store
from edge.mosquitto import new_password, password_hash
from hospital_api.auth import hash_token, new_token

from . import demo_feeds, demo_kiosk, demo_modem, phone, serving, token_cli
from .app import build_app
from .config import ConfigError, Settings, load_settings, require_secret
from .demo import DEMO_ACTOR, WAITING_PATIENT, create_demo
from .logs import setup_logging

DEMO_DIR = ".demo"  # where `make demo` puts its database, key, token and settings
DEMO_CONFIG = "guahao.toml"
DEMO_TOKEN = "twilio_auth_token"
NO_CLINIC_TONIGHT = "No evening clinic is left to book today (it is past 23:00 at the hospital)"
TWILIO_TOKEN_ENV = "GUAHAO_TWILIO_AUTH_TOKEN"


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
    demo.add_argument("--dir", default=DEMO_DIR, help="folder for the demo database and key")
    demo.add_argument("--serve", action="store_true", help="start the engine on it afterwards")
    demo.add_argument("--host")
    demo.add_argument("--port", type=int)

    token = sub.add_parser("token", help="API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create a bearer token (printed once)")
    _common(create)
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=[str(r) for r in TokenRole])
    create.add_argument("--hospital", metavar="CODE", help="limit the token to one hospital")
    listing = token_sub.add_parser("list", help="list API tokens (never the tokens themselves)")
    _common(listing)
    listing.add_argument("--hospital", metavar="CODE", help="only this hospital's tokens")
    listing.add_argument("--all", action="store_true", help="revoked tokens too")
    revoke = token_sub.add_parser("revoke", help="revoke an API token (by its id in the list)")
    _common(revoke)
    revoke.add_argument("id", type=int)

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
        choices=[str(r) for r in Role],
        help="repeat for several roles",
    )
    op_create.add_argument("--hospital", metavar="CODE", help="the operator's hospital")

    kiosk = sub.add_parser(
        "kiosk",
        help="kiosks in the hospital hall (自助机): register, list, disable, new password",
        description="The engine's kiosk registry. A running engine with kiosk_broker_passwd_path "
        "and kiosk_broker_acl_path set writes the broker's files from it within seconds.",
    )
    kiosk_sub = kiosk.add_subparsers(dest="kiosk_command", required=True)
    k_register = kiosk_sub.add_parser(
        "register", help="register a kiosk: its id and MQTT password are printed once"
    )
    _common(k_register)
    k_register.add_argument("--hospital", metavar="CODE", required=True)
    k_register.add_argument("--name", required=True, help="e.g. 门诊大厅1号机")
    k_register.add_argument("--location", default="", help="e.g. 门诊楼一层大厅")
    k_list = kiosk_sub.add_parser("list", help="the kiosks, online or offline since when")
    _common(k_list)
    k_list.add_argument("--hospital", metavar="CODE", help="only this hospital's")
    for name, what in (
        ("disable", "disable a kiosk (停用): it can no longer log in to the broker"),
        ("reset-password", "give a kiosk a new MQTT password (printed once)"),
    ):
        k_one = kiosk_sub.add_parser(name, help=what)
        _common(k_one)
        k_one.add_argument("kiosk_id", metavar="KIOSK_ID", help="k and 8 hex digits")

    phone = sub.add_parser(
        "phone",
        help="call the phone line (IVR) from this terminal, as Twilio would: keys from stdin",
        description="Calls the engine's /twilio/voice as Twilio would (signed with "
        "twilio_auth_token over public_url), prints what the caller hears and reads key "
        "presses from stdin: one line of keys for each menu, an empty line for no input, "
        "end of input (Ctrl-D) to hang up. With no --config and no GUAHAO_PUBLIC_URL, the "
        f"demo's settings ({DEMO_DIR}/guahao.toml and its token) are used when present.",
    )
    phone.add_argument("--config", metavar="FILE", help="TOML configuration file")
    phone.add_argument(
        "--from", dest="caller", required=True, help="the calling number (138… or +86138…)"
    )
    phone.add_argument("--to", default="+10000000000", help="the number called")
    phone.add_argument(
        "--url",
        help="where to send the webhooks (default: public_url; signatures always use public_url)",
    )
    phone.add_argument(
        "--speak", action="store_true", help="also speak what is said (needs espeak-ng)"
    )
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "serve":
            return serve(_settings(args))
        if args.command == "demo":
            return demo(args)
        if args.command == "token":
            return asyncio.run(token_command(_settings(args), args))
        if args.command == "operator":
            return operator_create(_settings(args), args)
        if args.command == "phone":
            return phone_call(args)
        if args.command == "kiosk":
            return asyncio.run(kiosk_command(_settings(args), args))
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


def serve(settings: Settings, *, before=(), sock: socket.socket | None = None) -> int:
    """Serve until stopped. ``before``: cleanup contexts to run ahead of the engine's own
    (the demo's simulated modem); ``sock``: a socket already bound (the demo's port 0)."""
    setup_logging(settings.log_level)
    app = build_app(settings)
    for ctx in reversed(before):
        app.cleanup_ctx.insert(0, ctx)
    if sock is None and settings.port == 0:  # bind first, so the real port can be printed
        sock = bind_socket(settings.host, 0)
    port = settings.port if sock is None else sock.getsockname()[1]
    url = http_url(settings.host, port)
    loop_factory = None
    if settings.uvloop:
        try:
            import uvloop
        except ImportError:  # not on this platform: asyncio's loop serves too
            pass
        else:
            loop_factory = uvloop.new_event_loop
    serving.raise_open_files_limit()  # each connection is an open file (docs/scaling.md)
    serving.run(
        app,
        settings,
        sock=sock,
        ready=lambda: print(f"guahao serving on {url} (API {url}/api/v1/)", flush=True),
        loop=loop_factory() if loop_factory else None,
    )
    return 0


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host`` (the first address it resolves to)."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(128)
    return sock


def http_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def _open_services(settings: Settings):
    cipher = Cipher.from_base64(require_secret(settings, "pii_key"))  # before opening anything
    store = make_store(settings.db, SystemClock())
    await store.open()
    return store, bootstrap(store, cipher)


async def token_command(settings: Settings, args: argparse.Namespace) -> int:
    """``guahao token create|list|revoke``."""
    if args.token_command == "create":
        return await token_create(settings, args)
    store, services = await _open_services(settings)
    try:
        if args.token_command == "list":
            print("\n".join(await token_cli.token_list(settings, args, services)))
        else:
            print(await token_cli.token_revoke(settings, args, services))
    finally:
        await store.close()
    return 0


async def token_create(settings: Settings, args: argparse.Namespace) -> int:
    store, services = await _open_services(settings)
    try:
        token = new_token()
        await services.handle(
            operators.CreateToken(
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


async def kiosk_command(settings: Settings, args: argparse.Namespace) -> int:
    """``guahao kiosk …``: the registry, as the console's devices page changes it."""
    store, services = await _open_services(settings)
    try:
        if args.kiosk_command == "list":
            found = await services.read(kiosks.kiosks, SYSTEM, hospital_code=args.hospital)
            tz = ZoneInfo(settings.timezone)
            for overview in found:
                print(_kiosk_line(overview.kiosk, overview.open_jobs, tz))
            if not found:
                print("no kiosks", file=sys.stderr)
            return 0
        password = new_password()
        if args.kiosk_command == "register":
            kiosk = await services.handle(
                kiosks.RegisterKiosk(
                    hospital_code=args.hospital,
                    name=args.name,
                    location=args.location,
                    password_hash=password_hash(password),
                )
            )
        elif args.kiosk_command == "reset-password":
            kiosk = await services.handle(
                kiosks.ResetKioskPassword(
                    kiosk_id=args.kiosk_id, password_hash=password_hash(password)
                )
            )
        else:
            kiosk = await services.handle(kiosks.DisableKiosk(kiosk_id=args.kiosk_id))
            print(f"kiosk {kiosk.kiosk_id} ({kiosk.name}) disabled", file=sys.stderr)
            return 0
    finally:
        await store.close()
    print(f"kiosk_id = {kiosk.kiosk_id}\npassword = {password}")
    print(
        "Put the password in the kiosk's password_file (docs/kiosk.md); it is shown only "
        "this once.",
        file=sys.stderr,
    )
    return 0


def _kiosk_line(kiosk: kiosks.Kiosk, open_jobs: int, tz: ZoneInfo) -> str:
    if kiosk.disabled:
        state = "disabled"
    elif kiosk.online is None:
        state = "never connected"
    else:
        since = kiosk.since.astimezone(tz).strftime("%Y-%m-%d %H:%M") if kiosk.since else "?"
        reason = f" ({kiosk.reason})" if kiosk.reason and not kiosk.online else ""
        state = f"{'online' if kiosk.online else 'offline'} since {since}{reason}"
    where = f" · {kiosk.location}" if kiosk.location else ""
    return (
        f"{kiosk.kiosk_id}  {kiosk.hospital_code}  {kiosk.name}{where}  {state}"
        f"  open jobs: {open_jobs}"
    )


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


def phone_call(args: argparse.Namespace) -> int:
    demo_config = Path(DEMO_DIR) / DEMO_CONFIG
    demo_token = Path(DEMO_DIR) / DEMO_TOKEN
    env_token = TWILIO_TOKEN_ENV in os.environ or TWILIO_TOKEN_ENV + "_FILE" in os.environ
    if args.config is None and "GUAHAO_PUBLIC_URL" not in os.environ and demo_config.exists():
        args.config = str(demo_config)
        print(f"guahao phone: using the demo's settings in {demo_config}", file=sys.stderr)
        if not env_token and demo_token.exists():
            os.environ[TWILIO_TOKEN_ENV + "_FILE"] = str(demo_token)
    settings = load_settings(args.config)
    token = require_secret(settings, "twilio_auth_token")
    if not settings.public_url:
        raise ConfigError("public_url is not set: the phone signs its requests over it")
    speak = None
    if args.speak:
        speak = phone.espeak()
        if speak is None:
            print("guahao phone: espeak-ng is not installed; printing only", file=sys.stderr)
    call = phone.Phone(
        auth_token=token,
        public_url=settings.public_url,
        caller=phone.e164(args.caller),
        called=args.to,
        url=args.url or "",
        account_sid=settings.twilio_account_sid,
        out=lambda text: print(text, flush=True),
        speak=speak,
    )
    try:
        call.run()
    except phone.PhoneError as err:
        print(f"guahao phone: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def demo(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    key_file = _secret_file(folder / "pii.key", Cipher.generate_key())
    token_file = _secret_file(folder / DEMO_TOKEN, secrets.token_hex(16))  # a local-only token
    os.environ.setdefault("GUAHAO_PII_KEY_FILE", str(key_file.resolve()))
    if TWILIO_TOKEN_ENV not in os.environ:
        os.environ.setdefault(TWILIO_TOKEN_ENV + "_FILE", str(token_file.resolve()))
    db = folder / "guahao.db"
    for stale in folder.glob("guahao.db*"):
        stale.unlink()
    given = _settings(args)
    host, port, sock = given.host, given.port, None
    if port == 0:  # the public URL needs the real port before the engine starts
        sock = bind_socket(host, 0)
        port = sock.getsockname()[1]
    url = http_url(host, port)
    config = folder / DEMO_CONFIG
    config.write_text(
        "# Written by guahao demo: where the demo engine is reached (the phone signs over it)\n"
        f"host = {json.dumps(host)}\nport = {port}\npublic_url = {json.dumps(url)}\n"
    )
    demo_settings = {
        "db": str(db),
        "port": port,
        "public_url": url,
        "modem_port": str(demo_modem.port_path(folder).resolve()),
        "modem_send_interval_seconds": 1.0,
        "sms_notices": "modem",
        "feeds_allow_private_addresses": True,  # the demo HIS is on 127.0.0.1
    }
    login, token, kiosk, feed = asyncio.run(_fill_demo(_settings(args, **demo_settings), folder))
    if kiosk is not None:  # the engine's broker password is in the environment now
        demo_settings |= kiosk.settings()
    settings = _settings(args, **demo_settings)
    inbox = demo_modem.inbox_path(folder)
    name, card, number = login.patients[0]
    phone_cmd = ".venv/bin/guahao phone"
    if folder.resolve() != Path(DEMO_DIR).resolve():  # not where guahao phone looks itself
        phone_cmd = f"{TWILIO_TOKEN_ENV}_FILE={token_file} {phone_cmd} --config {config}"
    waiting = login.patients[WAITING_PATIENT]
    print(
        f"""
guahao demo database: {db}
  Start here: {url}/  (a page with a link to every door)
  API:        {url}/api/v1/  (OpenAPI: /api/v1/openapi.json)
  Health:     {url}/healthz   Metrics: {url}/metrics
  API token (admin, shown once): {token}
  Agent console: {url}/console/login
    Agent: {login.operator} / {login.password}  (shown once) → the desk (keys: / search,
      b book, t take a call: {waiting[0]} is waiting for an agent, from {waiting[2]})
    Hospital admin: {login.admin} / {login.admin_password}  (one-time: you choose your own
      at the first log-in, then set up one-time codes by scanning a QR code) → /console/office
  Phone line: call it from another terminal (keys and # on one line, Enter; an empty line
    is silence; Ctrl-D hangs up; --speak reads it aloud with espeak-ng):
      {phone_cmd} --from {number}
    e.g. 1 · {card}# · 101# · 00868# · {_tomorrow(settings)}# · 0830# · 1  books {name} a place
  SMS: a simulated GSM modem on {demo_modem.port_path(folder)}; what it sends is printed
    here. Text the engine as a patient (from another terminal):
      echo '{number} CX' > {inbox}
      echo '{number} GHDH00868,{_tomorrow(settings)}0830,{name}' > {inbox}
{_kiosk_help(kiosk, login)}
{demo_feeds.describe(feed)}
  FHIR R4: curl -H 'Authorization: Bearer {token}' '{url}/fhir/R4/Slot?status=free&_count=5'
  Patients (name, card number, phone):"""
    )
    for row in login.patients:
        print("    " + "  ".join(row))
    print(
        f"""  Try:  curl -H 'Authorization: Bearer {token}' \\
          '{url}/api/v1/slots?hospital=H001&doctor=00868'
  Serve this database again later (without the simulated modem):
    GUAHAO_PII_KEY_FILE={key_file} {TWILIO_TOKEN_ENV}_FILE={token_file} \\
      .venv/bin/guahao serve --config {config} --db {db}
""",
        flush=True,
    )
    if args.serve:
        before = [demo_modem.simulated_modem_ctx(folder), demo_feeds.receiver_ctx(feed)]
        if kiosk is not None:
            before.append(demo_kiosk.kiosk_ctx(kiosk))
        return serve(settings, before=before, sock=sock)
    if sock is not None:
        sock.close()
    return 0


def _secret_file(path: Path, value: str) -> Path:
    """A demo secret kept in ``path`` (made once, readable by its owner only)."""
    if not path.exists():
        path.write_text(value + "\n")
        path.chmod(0o600)
    return path


def _tomorrow(settings: Settings) -> str:
    return (datetime.now(ZoneInfo(settings.timezone)).date() + timedelta(days=1)).strftime("%m%d")


async def _fill_demo(settings: Settings, folder: Path):
    store, services = await _open_services(settings)
    try:
        login = await create_demo(services, datetime.now(ZoneInfo(settings.timezone)))
        token = new_token()
        await services.handle(
            operators.CreateToken(
                name="demo-admin", role="admin", hospital_code=None, token_hash=hash_token(token)
            )
        )
        kiosk = await demo_kiosk.prepare(services, folder, DEMO_ACTOR)
        feed = await demo_feeds.prepare(services, folder, DEMO_ACTOR)
    finally:
        await store.close()
    return login, token, kiosk, feed


def _kiosk_help(kiosk: demo_kiosk.DemoKiosk | None, login) -> str:
    if kiosk is None:
        return (
            "  Kiosk (自助机): none, mosquitto is not installed (sudo apt-get install mosquitto,\n"
            "    then make demo again: a broker, the devices and the kiosk agent start with it)"
        )
    name, card, _phone = login.patients[0]
    devices, state = kiosk.devices, kiosk.state
    tonight = (
        f"{name} is booked for tonight's clinic ({login.kiosk_booking}), to pay at the hospital."
        if login.kiosk_booking
        else f"{NO_CLINIC_TONIGHT}: a swipe finds {name} with nothing to check in."
    )
    return f"""  Kiosk (自助机) {kiosk.kiosk_id} in the hall: its broker, devices and agent
    run beside the engine (agent log: {kiosk.folder / "agent.log"}). {tonight}
    As {name} at the kiosk:
      echo '{card}' > {devices / "card.in"}       swipe the patient card: check-in
      cat {state / "screen.txt"}       the kiosk's screen
      echo 1 > {state / "touch.in"}        touch choice 1 (0 cancels)
    The ticket (queue number, QR code) is drawn in {devices / "tickets"}/.
    Type paper-out, paper-in or cover-open here (then Enter) to upset the printer."""


if __name__ == "__main__":
    sys.exit(main())
