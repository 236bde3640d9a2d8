"""``guahao phone``: a terminal telephone that calls the engine's voice door as Twilio would.

For the demo and for operators testing a deployment before (or without) a real number:
it POSTs the form Twilio posts (``CallSid`` = ``CA`` + 32 hex, ``AccountSid``, ``From``,
``To``, ``Digits`` …), signed with the configured auth token over the configured public
URL (Twilio's ``RequestValidator``), prints what Twilio would say, reads key presses
from stdin and follows the TwiML the engine answers.

Two halves. :func:`parse` and :func:`walk` are pure: TwiML text in, the next request
(or the end of the call) out, with what is said handed to ``out`` and the keys asked of
``keys``. :class:`Phone` does the I/O: HTTP, the terminal, ``espeak-ng``.

What it follows, as Twilio does:

* ``<Say>`` printed (and spoken with ``--speak``); ``<Play>`` and ``<Pause>`` noted.
* ``<Gather>``: its nested ``<Say>`` first, then one line of keys (``finishOnKey``
  ends it and is not sent, ``numDigits`` cuts it). An empty line is no input: Twilio
  then carries on with the verb after the ``<Gather>`` (the engine's ``<Redirect>``).
* ``<Redirect>``: fetched with its method.
* ``<Record>``: one line stands for the message; its ``action`` gets a recording.
* ``<Enqueue>``: the caller waits for an agent; the ``waitUrl`` is heard once, then the
  phone hangs up (no agent answers a terminal).
* ``<Hangup>`` or the end of the document: the call is over. End of input (Ctrl-D) is
  the caller hanging up. Either way the status callback (``…/status``) is sent last.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

from twilio.request_validator import RequestValidator

VOICE_PATH = "/twilio/voice"
REQUEST_TIMEOUT_SECONDS = 15  # what Twilio waits for a webhook before its fallback
ESPEAK_VOICES = {"cmn": "cmn", "zh": "cmn", "en": "en-us"}  # TwiML language → espeak-ng voice
FAKE_ACCOUNT = "AC" + "0" * 32  # the engine checks signatures, not the account
ENDINGS = {
    "hangup": "the engine hung up",
    "end": "the TwiML ran out, so Twilio hangs up",
    "caller": "you hung up (end of input)",
    "queued": "waiting for an agent; no agent answers a terminal phone, so it hangs up",
}


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


# --- the I/O ------------------------------------------------------------------------------


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


def e164(number: str) -> str:
    """Twilio gives numbers in E.164: a mainland mobile ``138…`` becomes ``+86138…``."""
    number = number.strip()
    if len(number) == 11 and number.isdigit() and number.startswith("1"):
        return "+86" + number
    return number


class PhoneError(Exception):
    """The engine did not answer like a voice webhook (refused, unreachable, not TwiML)."""


@dataclass
class Phone:
    """One call. ``public_url``: what the engine believes it is reached at (signatures are
    computed over it); ``url``: where this phone actually sends (the same, unless testing
    an engine from inside its network)."""

    auth_token: str
    public_url: str
    caller: str
    called: str = "+10000000000"
    url: str = ""
    out: Callable[[str], None] = print
    read_line: Callable[[str], str | None] | None = None
    speak: Callable[[str, str], None] | None = None
    call_sid: str = field(default_factory=new_call_sid)
    heard: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.public_url = self.public_url.rstrip("/")
        self.url = (self.url or self.public_url).rstrip("/")
        self.validator = RequestValidator(self.auth_token)
        self.started = time.monotonic()

    def params(self, **extra: str) -> dict[str, str]:
        return {
            "AccountSid": FAKE_ACCOUNT,
            "ApiVersion": "2010-04-01",
            "CallSid": self.call_sid,
            "From": self.caller,
            "Caller": self.caller,
            "To": self.called,
            "Called": self.called,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            **extra,
        }

    def post(self, url: str, method: str = "POST", **extra: str) -> str:
        """Call the webhook at ``url`` (absolute under the public URL, or a path) as
        Twilio would; the TwiML it answered."""
        public = urllib.parse.urljoin(self.public_url + "/", url)
        if not public.startswith(self.public_url):
            raise PhoneError(f"the TwiML sends the call outside the engine: {public}")
        target = self.url + public[len(self.public_url) :]
        params = self.params(**extra)
        if method == "GET":
            sep = "&" if "?" in public else "?"
            query = urllib.parse.urlencode(params)
            public, target = f"{public}{sep}{query}", f"{target}{sep}{query}"
            signature, body = self.validator.compute_signature(public, {}), None
        else:
            signature = self.validator.compute_signature(public, params)
            body = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(
            target, data=body, method=method, headers={"X-Twilio-Signature": signature}
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as resp:
                return resp.read().decode("utf-8")
        except urllib.error.HTTPError as err:
            detail = err.read().decode("utf-8", "replace")[:200]
            raise PhoneError(f"{method} {target}: HTTP {err.code} {detail}") from None
        except (urllib.error.URLError, OSError) as err:
            raise PhoneError(f"{method} {target}: {getattr(err, 'reason', err)}") from None

    def _say(self, text: str, language: str) -> None:
        self.out(text)
        if language:  # a <Say>, not a note about one
            self.heard.append(text)
            if self.speak is not None:
                self.speak(text, language)

    def _keys(self, prompt: str) -> str | None:
        reader = self.read_line or _stdin_line
        return reader(prompt)

    def run(self) -> str:
        """The whole call; how it ended (see :class:`End`)."""
        self.out(f"[calling {self.public_url}{VOICE_PATH} from {self.caller}, {self.call_sid}]")
        step: Fetch | End = Fetch(VOICE_PATH)
        try:
            while isinstance(step, Fetch):
                twiml = self.post(step.url, step.method, **step.params)
                try:
                    verbs = parse(twiml)
                except ValueError as err:
                    raise PhoneError(f"{step.url}: {err}") from None
                step = walk(verbs, self._say, self._keys, waiting=step.waiting)
        finally:
            self.hang_up()
        self.out(f"[call over: {ENDINGS.get(step.reason, step.reason)}]")
        return step.reason

    def hang_up(self) -> None:
        """The status callback Twilio sends when the call is over."""
        seconds = str(max(1, round(time.monotonic() - self.started)))
        try:
            self.post(VOICE_PATH + "/status", CallStatus="completed", CallDuration=seconds)
        except PhoneError as err:
            self.out(f"[status callback failed: {err}]")


def _stdin_line(prompt: str) -> str | None:
    if sys.stdin.isatty():
        try:
            return input(prompt)
        except EOFError:
            return None
    line = sys.stdin.readline()
    if not line:
        return None
    print(f"{prompt}{line.rstrip()}", flush=True)  # a transcript shows what was pressed
    return line


def espeak() -> Callable[[str, str], None] | None:
    """Speech with ``espeak-ng`` when it is installed, else None."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        return None

    def speak(text: str, language: str) -> None:
        voice = ESPEAK_VOICES.get(language.split("-")[0].lower(), "en-us")
        subprocess.run([binary, "-v", voice, text], check=False, capture_output=True)

    return speak
