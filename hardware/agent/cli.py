"""``guahao-kiosk run --config FILE``: the command line of the kiosk agent.

A console script of its own rather than a ``guahao kiosk`` sub-command: the kiosk PC runs
the agent without importing the engine (its web apps, stores and Twilio), and the engine's
command line never imports the device drivers (an import-linter contract keeps
python-escpos out of ``engine``). ``guahao kiosk …`` stays the engine's, for what is done on
the engine's side (registering a kiosk). ``python -m hardware.agent`` is ``guahao-kiosk``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from .config import ConfigError, load_config

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="guahao-kiosk", description="The kiosk agent (自助机代理); see docs/kiosk.md."
    )
    sub = top.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="run the agent on this kiosk PC (devices, jobs, the patient's screen)",
        description="Connects to the broker as this kiosk, keeps its printer, card reader "
        "and card terminal connected, runs the engine's jobs and serves patients at the card "
        "reader, until SIGTERM or Ctrl-C.",
    )
    run.add_argument("--config", required=True, metavar="FILE", help="the kiosk's TOML file")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(f"guahao-kiosk: configuration: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level, format=LOG_FORMAT, stream=sys.stderr, force=True)
    logging.getLogger("mqtt").setLevel(logging.WARNING)  # paho's per-packet debug lines
    from .agent import run_agent  # the drivers and the MQTT client only when running

    asyncio.run(run_agent(config))
    return 0
