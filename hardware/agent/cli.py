"""``guahao kiosk run --config FILE``: the command line of the kiosk agent.

``engine/cli.py`` mounts :func:`add_commands` under ``guahao kiosk`` (the engine adds its own
kiosk commands beside it, such as ``register``); ``python -m hardware.agent`` runs the same
without the engine's command line.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from .config import ConfigError, load_config

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``run`` (and future agent commands) to the ``guahao kiosk`` sub-commands."""
    run = sub.add_parser(
        "run",
        help="run the kiosk agent on this kiosk PC (devices, jobs, the patient's screen)",
        description="Runs the kiosk agent: connects to the broker as this kiosk, keeps its "
        "printer, card reader and card terminal connected, runs the engine's jobs and serves "
        "patients at the card reader. Stops on SIGTERM or Ctrl-C. See docs/kiosk.md.",
    )
    run.add_argument("--config", required=True, metavar="FILE", help="the kiosk's TOML file")
    run.set_defaults(kiosk_handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(f"guahao kiosk: configuration: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level, format=LOG_FORMAT, stream=sys.stderr, force=True)
    logging.getLogger("mqtt").setLevel(logging.WARNING)  # paho's per-packet debug lines
    from .agent import run_agent  # the drivers and the MQTT client only when running

    asyncio.run(run_agent(config))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="guahao kiosk", description="The kiosk agent.")
    sub = parser.add_subparsers(dest="kiosk_command", required=True)
    add_commands(sub)
    args = parser.parse_args(argv)
    return args.kiosk_handler(args)
