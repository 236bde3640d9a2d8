"""Bans: entered, imported, from the credit ladder or the no-show rule, replaced by the HIS's
list; lifted (黑名单); appeals against them (申诉).

Doors import this package, never its modules: ``from booking_core import blacklist``."""

from .commands import (
    AddToBlacklist,
    BanLine,
    DecideAppeal,
    FileAppeal,
    HisBan,
    ImportBlacklist,
    LiftBan,
    ReplaceHisBlacklist,
)
from .credit import StrikeKind, within_period
from .model import (
    Appeal,
    AppealStatus,
    BanSource,
    BlacklistEntry,
    BlacklistImport,
    EntryRefused,
    HisBlacklistReplaced,
    LineRefused,
)
from .queries import (
    blacklist_rows,
    credit_strikes,
    list_appeals,
    list_blacklist,
    patients_with_bans,
)

__all__ = [
    "AddToBlacklist",
    "Appeal",
    "AppealStatus",
    "BanLine",
    "BanSource",
    "BlacklistEntry",
    "BlacklistImport",
    "DecideAppeal",
    "EntryRefused",
    "FileAppeal",
    "HisBan",
    "HisBlacklistReplaced",
    "ImportBlacklist",
    "LiftBan",
    "LineRefused",
    "ReplaceHisBlacklist",
    "StrikeKind",
    "blacklist_rows",
    "credit_strikes",
    "list_appeals",
    "list_blacklist",
    "patients_with_bans",
    "within_period",
]
