"""The TwiML walker of ``guahao phone`` (pure: no network, no terminal).

:func:`parse` turns a ``<Response>`` into verbs; :func:`walk` plays them as Twilio would,
handing what is said to ``out`` and asking ``keys`` for each ``<Gather>``'s line, up to
the next webhook to call (:class:`Fetch`) or the end of the call (:class:`End`). What it
follows, and how, is listed in :mod:`engine.phone`.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

# --- TwiML, parsed ----------------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    text: str
    language: str = ""


@dataclass(frozen=True)
class Play:
    url: str


@dataclass(frozen=True)
class Pause:
    seconds: int


@dataclass(frozen=True)
class Gather:
    action: str
    method: str = "POST"
    num_digits: int | None = None
    finish_on_key: str = "#"
    prompts: tuple[Say | Play | Pause, ...] = ()


@dataclass(frozen=True)
class Redirect:
    url: str
    method: str = "POST"


@dataclass(frozen=True)
class Record:
    action: str
    method: str = "POST"


@dataclass(frozen=True)
class Enqueue:
    queue: str
    wait_url: str = ""
    wait_method: str = "POST"


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Unknown:
    tag: str


Verb = Say | Play | Pause | Gather | Redirect | Record | Enqueue | Hangup | Unknown


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _verb(el: ET.Element) -> Verb:
    a = el.attrib
    method = a.get("method", "POST").upper()
    match el.tag:
        case "Say":
            return Say((el.text or "").strip(), a.get("language", ""))
        case "Play":
            return Play((el.text or "").strip())
        case "Pause":
            return Pause(_int(a.get("length")) or 1)
        case "Gather":
            nested = tuple(v for v in map(_verb, el) if isinstance(v, Say | Play | Pause))
            return Gather(
                a.get("action", ""),
                method,
                _int(a.get("numDigits")),
                a.get("finishOnKey", "#"),
                nested,
            )
        case "Redirect":
            return Redirect((el.text or "").strip(), method)
        case "Record":
            return Record(a.get("action", ""), method)
        case "Enqueue":
            return Enqueue(
                (el.text or "").strip(), a.get("waitUrl", ""), a.get("waitUrlMethod", "POST")
            )
        case "Hangup":
            return Hangup()
    return Unknown(el.tag)


def parse(twiml: str) -> list[Verb]:
    """The verbs of a ``<Response>``, in order. Raises ValueError when it is not TwiML."""
    try:
        root = ET.fromstring(twiml.encode() if isinstance(twiml, str) else twiml)
    except ET.ParseError as err:
        raise ValueError(f"not XML: {err}") from None
    if root.tag != "Response":
        raise ValueError(f"not TwiML: the root is <{root.tag}>")
    return [_verb(el) for el in root]


def gathered(gather: Gather, line: str) -> tuple[str, str]:
    """The keys Twilio would post for a line typed at ``gather``: (Digits, FinishedOnKey).
    Anything but 0-9 * # is ignored; the finish key ends the input and is not sent;
    ``numDigits`` keys end it too."""
    keys = "".join(ch for ch in line if ch in "0123456789*#")
    finished = ""
    if gather.finish_on_key and gather.finish_on_key in keys:
        keys = keys[: keys.index(gather.finish_on_key)]
        finished = gather.finish_on_key
    if gather.num_digits:
        keys = keys[: gather.num_digits]
    return keys, finished


# --- walking one document -----------------------------------------------------------------


@dataclass(frozen=True)
class Fetch:
    """The next webhook to call: ``url`` as written in the TwiML (absolute or relative)."""

    url: str
    method: str = "POST"
    params: dict[str, str] = field(default_factory=dict)
    waiting: bool = False  # the Enqueue's wait URL: heard once, then the call ends


@dataclass(frozen=True)
class End:
    """The call is over: ``hangup``, ``end`` (the document ran out), ``caller`` (the
    caller hung up: end of input) or ``queued`` (waiting for an agent)."""

    reason: str


Out = Callable[[str, str], None]  # (text to print, language for speech or "")
Keys = Callable[[str], str | None]  # prompt → a line, or None when the caller hung up


def _announce(verb: Say | Play | Pause, out: Out) -> None:
    if isinstance(verb, Say):
        out(verb.text, verb.language)
    elif isinstance(verb, Play):
        out(f"[plays {verb.url}]", "")
    else:
        out(f"[{verb.seconds} s of silence]", "")


def walk(verbs: list[Verb], out: Out, keys: Keys, *, waiting: bool = False) -> Fetch | End:
    """Play ``verbs`` as Twilio would, up to the next webhook or the end of the call.
    ``waiting``: these verbs are an Enqueue's wait music (Twilio loops them; we stop)."""
    for verb in verbs:
        match verb:
            case Say() | Play() | Pause():
                _announce(verb, out)
            case Gather():
                for prompt in verb.prompts:
                    _announce(prompt, out)
                if verb.num_digits == 1:
                    line = keys("key> ")
                else:
                    end = f" (end with {verb.finish_on_key})" if verb.finish_on_key else ""
                    line = keys(f"keys{end}> ")
                if line is None:
                    return End("caller")
                digits, finished = gathered(verb, line)
                if not digits:  # no input: Twilio goes on to the next verb
                    out("[no input]", "")
                    continue
                params = {"Digits": digits}
                if finished:
                    params["FinishedOnKey"] = finished
                return Fetch(verb.action, verb.method, params)
            case Redirect() if waiting:  # the wait URL asked again: heard once is enough
                return End("queued")
            case Redirect():
                return Fetch(verb.url, verb.method)
            case Record():
                out("[recording: type your message, Enter to stop]", "")
                line = keys("message> ")
                if line is None:
                    return End("caller")
                sid = "RE" + secrets.token_hex(16)
                return Fetch(
                    verb.action,
                    verb.method,
                    {
                        "RecordingSid": sid,
                        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Recordings/{sid}",
                        "RecordingDuration": str(max(1, len(line) // 3)),
                        "Digits": "#",  # the finish key ended it
                    },
                )
            case Enqueue():
                out(f"[waiting for an agent in queue {verb.queue!r}]", "")
                if verb.wait_url and not waiting:
                    return Fetch(
                        verb.wait_url,
                        verb.wait_method,
                        {"QueuePosition": "1", "QueueTime": "0", "CurrentQueueSize": "1"},
                        waiting=True,
                    )
                return End("queued")
            case Hangup():
                return End("hangup")
            case Unknown():
                out(f"[<{verb.tag}> is not followed by guahao phone]", "")
    return End("queued" if waiting else "end")
