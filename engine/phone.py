"""``guahao phone``: a terminal telephone that calls the engine's voice door as Twilio would.

For the demo and for operators testing a deployment before (or without) a real number:
it POSTs the form Twilio posts (``CallSid`` = ``CA`` + 32 hex, ``AccountSid``, ``From``,
``To``, ``Digits`` …), signed with the configured auth token over the configured public
URL (Twilio's ``RequestValidator``), prints what Twilio would say, reads key presses
from stdin and follows the TwiML the engine answers.

Two halves. :mod:`engine.phone_twiml` is pure: TwiML text in, the next request (or the
end of the call) out, with what is said handed to ``out`` and the keys asked of
``keys``. This module does the I/O: HTTP, the terminal, ``espeak-ng``.

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
from collections.abc import Callable
from dataclasses import dataclass, field

from twilio.request_validator import RequestValidator

from .phone_twiml import End, Fetch, parse, walk

VOICE_PATH = "/twilio/voice"
REQUEST_TIMEOUT_SECONDS = 15  # what Twilio waits for a webhook before its fallback
ESPEAK_VOICES = {"cmn": "cmn", "zh": "cmn", "en": "en-us"}  # TwiML language → espeak-ng voice
FAKE_ACCOUNT = "AC" + "0" * 32  # Twilio's shape, for an engine with no twilio_account_sid
ENDINGS = {
    "hangup": "the engine hung up",
    "end": "the TwiML ran out, so Twilio hangs up",
    "caller": "you hung up (end of input)",
    "queued": "waiting for an agent; no agent answers a terminal phone, so it hangs up",
}


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
    account_sid: str = FAKE_ACCOUNT  # the engine refuses another account than its own
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
            "AccountSid": self.account_sid or FAKE_ACCOUNT,
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
        if url.startswith("/"):  # a path under the public URL (which may have a prefix)
            public = self.public_url + url
        else:
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
