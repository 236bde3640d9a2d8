"""What the kiosk agent (``guahao kiosk``) sees of its devices (自助机外设): three small
Protocols, the data they hand over, one exception tree, and the time each call may take.

- :class:`Printer`: the ticket printer (凭条打印机, ESC/POS). ``print_ticket`` checks the
  printer's status (``DLE EOT``) before and after the job.
- :class:`CardReader`: patient cards (就诊卡) and resident ID cards (二代身份证). ``read``
  waits for the next swipe.
- :class:`CardTerminal`: the bank card terminal (银联 POS). ``charge``, ``reverse`` (冲正) and
  ``refund`` (退货), each with the caller's request id: the terminal answers a repeated id
  with its first answer, so a request may be sent again safely.

Every device is on a serial port and keeps itself connected (``run`` / ``async with``):
when it goes away it is logged once, reported once through ``on_state``, tried again every
``RECONNECT_INTERVAL_SECONDS`` and logged once more when it is back. A call while it is
away fails at once with :class:`DeviceConnectionError`.

Errors carry a stable ``code`` (for the kiosk screen's and the console's wording tables)
and a ``reason`` a technician can read. ``outcome_unknown`` says the request reached the
device and may have been carried out: a charge that timed out may have taken the money
(reverse it by its request id), a ticket cut off by an unplugged printer may be half
printed (print it again).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .ticket import Ticket

Sleep = Callable[[float], Awaitable[None]]
"""``asyncio.sleep`` or a test's clock: every wait a driver does (reconnecting, polling,
timing out a request) goes through it, so tests move time instead of waiting."""

# --- time -------------------------------------------------------------------------------

OPEN_TIMEOUT_SECONDS = 5.0
"""Opening a tty takes milliseconds; a stuck USB-serial driver must not stall the
reconnect loop."""

RECONNECT_INTERVAL_SECONDS = 5.0
"""A device unplugged and plugged back (a USB-serial adapter re-enumerating, a printer
switched off to clear a paper jam) is back within seconds; a patient standing at the kiosk
should not wait much longer than that once it is."""

STATUS_TIMEOUT_SECONDS = 2.0
"""``DLE EOT`` is a real-time command: a printer answers it within milliseconds, even in
the middle of printing. Two seconds leave room for a busy USB adapter; silence after that
means the printer is off or not a printer, and the port is reopened."""

STATUS_POLL_INTERVAL_SECONDS = 15.0
"""Between jobs the printer's status is asked this often, so the console shows "needs
paper" or "cover open" before the next patient finds out; each poll is four bytes."""

PRINT_TIMEOUT_SECONDS = 15.0
"""Handing a ticket (about 1.5 KB with its QR code) to the printer: 1.6 s at 9600 baud,
the slowest setting kiosk printers ship with, plus a printer holding the line (RTS/CTS)
while it prints the lines before. Longer means the printer stopped taking data."""

PING_TIMEOUT_SECONDS = 2.0
"""A card reader or terminal answers ``PING`` from its firmware at once; silence after
two seconds at connect means nothing that speaks our frames is on the port."""

CHARGE_TIMEOUT_SECONDS = 120.0
"""A charge waits for the patient: UnionPay terminals give the card (insert, tap or swipe)
and the PIN 60 s, then the acquirer up to 60 s to authorise over a slow line."""

REFUND_TIMEOUT_SECONDS = 120.0
"""A refund (退货) asks for the card again, like a charge."""

REVERSAL_TIMEOUT_SECONDS = 60.0
"""A reversal (冲正) needs no card, only the acquirer: 60 s, its own answer time."""

# --- data ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What a printer says of itself (``DLE EOT 1..4``)."""

    offline: bool = False
    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    error: bool = False  # cutter jam, mechanical or unrecoverable error

    @property
    def problem(self) -> str | None:
        """The code of what keeps it from printing, the one a person must fix first; None
        when it can print (paper near its end still prints)."""
        if self.paper_out:
            return PaperOut.code
        if self.cover_open:
            return CoverOpen.code
        if self.error:
            return PrinterFault.code
        if self.offline:
            return PrinterOffline.code
        return None

    @property
    def ready(self) -> bool:
        return self.problem is None


@dataclass(frozen=True, slots=True)
class PatientCard:
    """A patient card (就诊卡) was swiped: its number, as printed on the card."""

    number: str


@dataclass(frozen=True, slots=True, repr=False)
class IdCard:
    """A resident ID card (二代身份证) was read: the name and the 18-character number, its
    checksum already checked. ``repr`` masks both: this object ends up in log lines."""

    name: str
    id_number: str

    def __repr__(self) -> str:
        return f"IdCard(name={self.name[:1]}*, id_number=**************{self.id_number[-4:]})"


Card = PatientCard | IdCard


@dataclass(frozen=True, slots=True)
class Approval:
    """The terminal's yes. ``reference`` is its own reference for this transaction (系统参考号),
    the one a reversal or refund names; ``amount`` is in fen (for a reversal: what went
    back, 0 when the charge had never been made); ``card`` the masked card number."""

    request_id: str
    reference: str
    amount: int
    card: str = ""


@dataclass(frozen=True, slots=True)
class DeviceState:
    """What the kiosk reports of a device: whether it is connected and, if something keeps
    it from working, that thing's error ``code`` (``unavailable``, ``paper_out`` …) and
    a ``detail`` a technician can read."""

    device: str
    port: str
    connected: bool
    problem: str | None = None
    detail: str = ""


StateCallback = Callable[[DeviceState], None]

# --- errors -------------------------------------------------------------------------------


class DeviceError(Exception):
    """A device could not do what it was asked. ``device`` names it (``printer`` …),
    ``reason`` says why in words a technician can read."""

    code: ClassVar[str] = "device_error"

    def __init__(self, device: str, reason: str, *, outcome_unknown: bool = False) -> None:
        super().__init__(f"{device}: {reason}")
        self.device = device
        self.reason = reason
        self.outcome_unknown = outcome_unknown


class DeviceConnectionError(DeviceError):
    """The device is not connected, or went away during the call (unplugged, switched off)."""

    code = "unavailable"


class DeviceTimeout(DeviceError):
    """The device did not answer in time."""

    code = "timeout"


class DeviceBusy(DeviceError):
    """The device is doing something else (a terminal still in another transaction)."""

    code = "busy"


class DeviceProtocolError(DeviceError):
    """The device answered, but not anything we asked for."""

    code = "protocol"


class PrinterNotReady(DeviceError):
    """The printer cannot print until a person does something; ``status`` says what."""

    code = "printer_not_ready"

    def __init__(self, status: PrinterStatus, reason: str, *, outcome_unknown: bool = False):
        super().__init__("printer", reason, outcome_unknown=outcome_unknown)
        self.status = status


class PaperOut(PrinterNotReady):
    code = "paper_out"


class CoverOpen(PrinterNotReady):
    code = "cover_open"


class PrinterFault(PrinterNotReady):
    """A cutter jam, a mechanical or an unrecoverable error: the printer needs a technician."""

    code = "printer_fault"


class PrinterOffline(PrinterNotReady):
    code = "printer_offline"


class CardUnreadable(DeviceError):
    """A card was presented but could not be read (or its ID number fails its checksum):
    the patient should try again."""

    code = "card_unreadable"


class PaymentDeclined(DeviceError):
    """The terminal (or the bank behind it) said no. ``answer_code`` is its response code
    (``51``: insufficient funds …), ``reason`` its words."""

    code = "declined"

    def __init__(self, request_id: str, answer_code: str, reason: str) -> None:
        super().__init__("card terminal", f"declined ({answer_code}): {reason}")
        self.request_id = request_id
        self.answer_code = answer_code
        self.reason = reason


ALL_DEVICE_ERRORS: tuple[type[DeviceError], ...] = (
    DeviceError,
    DeviceConnectionError,
    DeviceTimeout,
    DeviceBusy,
    DeviceProtocolError,
    PrinterNotReady,
    PaperOut,
    CoverOpen,
    PrinterFault,
    PrinterOffline,
    CardUnreadable,
    PaymentDeclined,
)
"""Every code the kiosk screen and the console must have wording for."""

# --- the interfaces -----------------------------------------------------------------------


@runtime_checkable
class Device(Protocol):
    port: str

    @property
    def available(self) -> bool:
        """Connected and answering right now."""
        ...

    async def wait_ready(self) -> None:
        """Wait until the device is available (put it under a timeout)."""
        ...


@runtime_checkable
class Printer(Device, Protocol):
    async def status(self) -> PrinterStatus:
        """Ask the printer now. Raises :class:`DeviceConnectionError`, :class:`DeviceTimeout`."""
        ...

    async def print_ticket(self, ticket: Ticket) -> PrinterStatus:
        """Print and cut one ticket (取号凭条); the status after it (paper near end…).
        Raises :class:`PrinterNotReady` (a subclass per cause; ``outcome_unknown`` when it
        happened during the job), :class:`DeviceConnectionError`, :class:`DeviceTimeout`."""
        ...


@runtime_checkable
class CardReader(Device, Protocol):
    async def read(self) -> Card:
        """The next card presented (kept in order if none was waiting). Raises
        :class:`CardUnreadable` for a card that could not be read and
        :class:`DeviceConnectionError` when the reader is (or goes) away."""
        ...

    def drop_pending(self) -> int:
        """Forget cards presented while nobody was reading (a patient who walked away);
        how many."""
        ...


@runtime_checkable
class CardTerminal(Device, Protocol):
    async def charge(self, request_id: str, amount: int) -> Approval:
        """Take ``amount`` fen from the patient's bank card (消费). Raises
        :class:`PaymentDeclined`, :class:`DeviceBusy`, :class:`DeviceTimeout` and
        :class:`DeviceConnectionError` (``outcome_unknown``: reverse by ``request_id``)."""
        ...

    async def reverse(
        self,
        request_id: str,
        *,
        reference: str | None = None,
        charge_request_id: str | None = None,
    ) -> Approval:
        """Undo a charge (冲正), named by its terminal ``reference`` or, when its answer
        never came, by its ``charge_request_id``. ``amount`` 0 in the answer: nothing had
        been taken (and the terminal refuses that charge request from now on)."""
        ...

    async def refund(self, request_id: str, reference: str, amount: int) -> Approval:
        """Give back ``amount`` fen (at most what is left) of the charge ``reference`` (退货)."""
        ...
