"""Bans: entered, imported, from the no-show rule, replaced by the HIS's list; lifted (黑名单).

Doors import this package, never its modules: ``from booking_core import blacklist``."""

from .commands import AddToBlacklist, BanLine, HisBan, ImportBlacklist, LiftBan, ReplaceHisBlacklist
from .model import (
    BanSource,
    BlacklistEntry,
    BlacklistImport,
    EntryRefused,
    HisBlacklistReplaced,
    LineRefused,
)
from .queries import blacklist_rows, list_blacklist, patients_with_bans

__all__ = [
    "AddToBlacklist",
    "BanLine",
    "BanSource",
    "BlacklistEntry",
    "BlacklistImport",
    "EntryRefused",
    "HisBan",
    "HisBlacklistReplaced",
    "ImportBlacklist",
    "LiftBan",
    "LineRefused",
    "ReplaceHisBlacklist",
    "blacklist_rows",
    "list_blacklist",
    "patients_with_bans",
]
