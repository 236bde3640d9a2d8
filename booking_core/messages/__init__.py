"""The SMS log, opt-outs, reminders, surveys and notices (短信).

Doors import this package, never its modules: ``from booking_core import messages``."""

from .commands import (
    AnswerMessage,
    AnswerSurvey,
    ClaimOutgoing,
    CountRegistration,
    KeepUndecodable,
    MarkFailed,
    MarkSent,
    QueueMessages,
    QueueReminders,
    ReceiveMessage,
    SetOptOut,
    UpdateDelivery,
)
from .model import (
    HOSPITAL_INITIATED,
    NOTICE_EVENTS,
    Claimed,
    InboundClaim,
    MessageKind,
    MessageRecord,
    MessageStatus,
    Notice,
    OutgoingMessage,
    Recipient,
)
from .queries import inbound_reply, messages

__all__ = [
    "HOSPITAL_INITIATED",
    "NOTICE_EVENTS",
    "AnswerMessage",
    "AnswerSurvey",
    "ClaimOutgoing",
    "Claimed",
    "CountRegistration",
    "InboundClaim",
    "KeepUndecodable",
    "MarkFailed",
    "MarkSent",
    "MessageKind",
    "MessageRecord",
    "MessageStatus",
    "Notice",
    "OutgoingMessage",
    "QueueMessages",
    "QueueReminders",
    "ReceiveMessage",
    "Recipient",
    "SetOptOut",
    "UpdateDelivery",
    "inbound_reply",
    "messages",
]
