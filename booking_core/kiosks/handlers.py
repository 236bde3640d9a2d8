"""The kiosks' command table: each command of :mod:`.commands` and the unit that runs it
(the registry and status in :mod:`.registry`, a patient's flows in :mod:`.flows`, a job's
sends and ack in :mod:`.acks`, the money an ack applies in :mod:`.money`)."""

from __future__ import annotations

from ..kernel.registry import handler_table, on
from .acks import mark_job_sent, record_job_ack
from .commands import (
    BookAtKiosk,
    CheckInAtKiosk,
    DisableKiosk,
    MarkJobSent,
    PayAtKiosk,
    RecordJobAck,
    RecordKioskStatus,
    RefundAtKiosk,
    RegisterKiosk,
    ReprintTicket,
    ResetKioskPassword,
    TopUpAtKiosk,
)
from .flows import (
    book_at_kiosk,
    check_in_at_kiosk,
    pay_at_kiosk,
    refund_at_kiosk,
    reprint_ticket,
    top_up_at_kiosk,
)
from .registry import disable_kiosk, record_kiosk_status, register_kiosk, reset_kiosk_password

HANDLERS = handler_table(
    on(RegisterKiosk, register_kiosk),
    on(DisableKiosk, disable_kiosk),
    on(ResetKioskPassword, reset_kiosk_password),
    on(RecordKioskStatus, record_kiosk_status),
    on(MarkJobSent, mark_job_sent),
    on(RecordJobAck, record_job_ack),
    on(CheckInAtKiosk, check_in_at_kiosk),
    on(PayAtKiosk, pay_at_kiosk),
    on(BookAtKiosk, book_at_kiosk),
    on(TopUpAtKiosk, top_up_at_kiosk),
    on(ReprintTicket, reprint_ticket),
    on(RefundAtKiosk, refund_at_kiosk),
)
