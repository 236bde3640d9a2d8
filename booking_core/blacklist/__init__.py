"""Bans: entered, imported, from the no-show rule; lifted (黑名单).

Doors import this package, never its modules: ``from booking_core import blacklist``."""

from .commands import AddToBlacklist, BanLine, ImportBlacklist, LiftBan
from .model import BanSource, BlacklistEntry, BlacklistImport, LineRefused
from .queries import blacklist_rows, list_blacklist, patients_with_bans

__all__ = [
    "AddToBlacklist",
    "BanLine",
    "BanSource",
    "BlacklistEntry",
    "BlacklistImport",
    "ImportBlacklist",
    "LiftBan",
    "LineRefused",
    "blacklist_rows",
    "list_blacklist",
    "patients_with_bans",
]
