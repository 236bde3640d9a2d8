"""Who may import what inside hardware/ (import-linter's contracts in pyproject.toml keep
serial ports and python-escpos out of the core and the other doors), and the device
errors' codes the kiosk screen words."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from hardware.devices import base

HARDWARE = Path(__file__).resolve().parents[2] / "hardware"

ALLOWED = {
    "pyserial": ("hardware/devices/serial_", {"serial", "serial_asyncio", "serial_asyncio_fast"}),
    "python-escpos": ("hardware/devices/escpos_render.py", {"escpos"}),  # the ticket's bytes
    "pillow": ("hardware/simulators/", {"PIL"}),  # only the simulator draws tickets
}


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("library", sorted(ALLOWED))
def test_only_its_own_modules_import_a_device_library(library):
    allowed, modules = ALLOWED[library]
    importers = sorted(
        str(path.relative_to(HARDWARE.parent))
        for path in HARDWARE.rglob("*.py")
        if modules & imported(path)
    )

    assert importers, f"nothing imports {library}: the rule is stale"
    assert [p for p in importers if not p.startswith(allowed)] == []


def test_every_device_error_has_its_own_code_and_is_listed():
    declared = {
        cls
        for _, cls in inspect.getmembers(base, inspect.isclass)
        if issubclass(cls, base.DeviceError)
    }

    assert declared == set(base.ALL_DEVICE_ERRORS)
    codes = [cls.code for cls in base.ALL_DEVICE_ERRORS]
    assert len(codes) == len(set(codes))
