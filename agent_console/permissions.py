"""Roles and permissions (角色与权限).

A role is a set of permissions; an operator's permissions are the union of their roles'.
Every console route names the permission it needs (see the route table in
:mod:`agent_console.web`); hospital scoping comes on top, from the operator's hospital.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from booking_core.operators import Role


class Permission(StrEnum):
    OPERATORS_VIEW = "operators.view"
    OPERATORS_MANAGE = "operators.manage"  # add, edit, disable, assign roles, reset passwords
    PLATFORM_MANAGE = "platform.manage"  # hospitals, platform rules, platform admins
    PATIENTS_VIEW = "patients.view"
    PATIENTS_REVEAL = "patients.reveal"  # see a clear ID number or phone (audited)
    PATIENTS_MANAGE = "patients.manage"  # register a caller (无卡病人), change a phone (#14)
    BOOKINGS_VIEW = "bookings.view"
    BOOKINGS_MANAGE = "bookings.manage"  # book, change, cancel for a caller
    CALLS_TAKE = "calls.take"  # incoming transfers (来电)
    SESSIONS_STOP = "sessions.stop"  # 停诊
    SCHEDULES_MANAGE = "schedules.manage"  # departments, doctors, 排班
    RULES_MANAGE = "rules.manage"
    BLACKLIST_VIEW = "blacklist.view"
    BLACKLIST_MANAGE = "blacklist.manage"
    COMPLAINTS_MANAGE = "complaints.manage"
    REPORTS_VIEW = "reports.view"
    AUDIT_VIEW = "audit.view"
    DEVICES_VIEW = "devices.view"  # the devices screen (设备), and 补打凭条 (reprint a ticket)
    DEVICES_MANAGE = "devices.manage"  # register and disable kiosks, reset their passwords
    FEEDS_MANAGE = "feeds.manage"  # webhook and HL7 subscriptions, their secrets, redelivery


P = Permission

_AGENT = frozenset(
    {
        P.PATIENTS_VIEW,
        P.PATIENTS_MANAGE,
        P.BOOKINGS_VIEW,
        P.BOOKINGS_MANAGE,
        P.CALLS_TAKE,
        P.SESSIONS_STOP,
        P.BLACKLIST_VIEW,
        P.COMPLAINTS_MANAGE,
        P.DEVICES_VIEW,  # 挂号值班人员 staff the hall's window the kiosks send patients to
    }
)
_REPORT_VIEWER = frozenset({P.REPORTS_VIEW})
_HOSPITAL_ADMIN = (
    _AGENT
    | _REPORT_VIEWER
    | {
        P.OPERATORS_VIEW,
        P.OPERATORS_MANAGE,
        P.PATIENTS_REVEAL,
        P.SCHEDULES_MANAGE,
        P.RULES_MANAGE,
        P.BLACKLIST_MANAGE,
        P.AUDIT_VIEW,
        P.DEVICES_MANAGE,
        P.FEEDS_MANAGE,
    }
)

ROLES: dict[str, frozenset[Permission]] = {
    Role.PLATFORM_ADMIN: frozenset(Permission),  # 平台管理员: everything, every hospital
    Role.HOSPITAL_ADMIN: frozenset(_HOSPITAL_ADMIN),  # 医院管理员: everything in one hospital
    Role.AGENT: _AGENT,  # 挂号值班人员
    Role.REPORT_VIEWER: _REPORT_VIEWER,  # 报表查看
}

TOTP_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.HOSPITAL_ADMIN})
"""Roles that must prove a one-time code (TOTP) at every log-in."""


def permissions_of(roles: Iterable[str]) -> frozenset[Permission]:
    """The union of the roles' permissions (an unknown role grants nothing)."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLES.get(role, frozenset())
    return frozenset(granted)


def needs_totp(roles: Iterable[str]) -> bool:
    return any(role in TOTP_ROLES for role in roles)


def may_grant(own: frozenset[Permission], roles: Iterable[str]) -> bool:
    """One may only give roles whose every permission one holds (no escalation)."""
    return all(ROLES.get(role, frozenset({P.PLATFORM_MANAGE})) <= own for role in roles)
