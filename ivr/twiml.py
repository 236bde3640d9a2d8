"""TwiML, built with the ``twilio`` package's builders only (no hand-made XML).

Every ``<Gather>`` is followed by a ``<Redirect>`` to the same step's "no input" URL,
so a caller who presses nothing is asked again (and, after three times, put through to
an agent) instead of falling off the end of the document.
"""

from __future__ import annotations

from urllib.parse import urlencode

from twilio.twiml.voice_response import Dial, Enqueue, Gather, Record, VoiceResponse

from edge.signature import SID_SHAPES

from .prompts import Catalogue
from .state import NODES, CallState, Prompt

VOICES = {
    "zh": {"voice": "Polly.Zhiyu", "language": "cmn-CN"},  # Twilio's Mandarin voice
    "en": {"voice": "Polly.Joanna", "language": "en-US"},
}
MENU_TIMEOUT_SECONDS = 6  # an elderly caller needs time to find the key
CODE_TIMEOUT_SECONDS = 8  # between two digits of a card or ID number
RECORD_MAX_SECONDS = 120  # complaints: two minutes
RECORD_SILENCE_SECONDS = 5
# The agent queue's wait URL: Twilio runs its TwiML, then asks again; so the place (the
# engine's own, see booking_core.calls.queue_place) is said once per pass: with a 30-second
# music clip (ivr_hold_music_url), or 30 s of quiet, every 30 s.
QUEUE_WAIT_PAUSE_SECONDS = 30  # without music: the place is said every 30 s (#14)
QUEUE_KEY_TIMEOUT_SECONDS = 1  # after the music, a key pressed late still counts
CALLBACK_KEY = "1"  # 回拨: press 1 to be called back instead of holding
CALLBACK_RING_SECONDS = 30  # a call-back rings this long before it counts as not answered
QUEUE_PREFIX = "q-"  # each caller waits in a queue of their own: "q-" + their CallSid (C2)
_SID = SID_SHAPES["CallSid"]
TWILIO_HOLD_MUSIC = "http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"
MAX_QUEUE_POSITION = 5000  # Twilio's largest queue (MaxQueueSize); more is not a position
MAX_QUEUE_WAIT_SECONDS = 24 * 3600  # no call lasts a day (Twilio ends calls at 24 h at most)


class Voice:
    """Renders the flow's answers as TwiML for one mounted sub-app."""

    def __init__(
        self,
        catalogue: Catalogue,
        base_url: str,
        queue: str,
        hold_music_url: str = TWILIO_HOLD_MUSIC,
    ) -> None:
        self.catalogue = catalogue
        self.base_url = base_url.rstrip("/")
        self.queue = queue
        self.hold_music_url = hold_music_url

    def url(self, path: str, **query: object) -> str:
        tail = f"?{urlencode(query)}" if query else ""
        return f"{self.base_url}/{path}{tail}"

    def texts(self, lang: str, prompts: list[Prompt]) -> list[str]:
        return [self.catalogue.say(lang, p.key, p.params) for p in prompts]

    def answer(self, state: CallState, prompts: list[Prompt], call_sid: str = "") -> str:
        """The TwiML for ``state`` (at step ``state.seq``) saying ``prompts`` first; a
        transfer puts ``call_sid`` in its own queue."""
        lang = state.lang
        voice = VOICES[lang]
        texts = self.texts(lang, prompts)
        kind = NODES[state.node].kind
        no_input = self.url("step", s=state.seq, e="timeout")
        r = VoiceResponse()
        if kind in ("menu", "code"):
            one_key = kind == "menu" or state.listing
            gather = Gather(
                input="dtmf",
                action=self.url("step", s=state.seq),
                method="POST",
                timeout=MENU_TIMEOUT_SECONDS if one_key else CODE_TIMEOUT_SECONDS,
                finish_on_key="#",
                num_digits=1 if one_key else None,
            )
            for text in texts:
                gather.say(text, **voice)
            r.append(gather)
            r.redirect(no_input, method="POST")
        elif kind == "record":
            for text in texts:
                r.say(text, **voice)
            r.append(
                Record(
                    action=self.url("recorded", s=state.seq),
                    method="POST",
                    max_length=RECORD_MAX_SECONDS,
                    timeout=RECORD_SILENCE_SECONDS,
                    finish_on_key="#",
                    play_beep=True,
                    recording_status_callback=self.url("recording"),
                    recording_status_callback_method="POST",
                    recording_status_callback_event="completed",
                )
            )
            r.redirect(no_input, method="POST")
        elif kind == "enqueue":
            for text in texts:
                r.say(text, **voice)
            r.append(self._enqueue(lang, call_sid))
            r.say(self.catalogue.say(lang, "queue_closed"), **voice)
            r.hangup()
        else:
            for text in texts:
                r.say(text, **voice)
            r.hangup()
        return r.to_xml()

    def queue_name(self, call_sid: str) -> str:
        """The caller's own queue, ``q-<CallSid>`` (an agent's ``<Dial><Queue>`` bridges
        exactly that caller); the shared queue for a CallSid that is none."""
        return QUEUE_PREFIX + call_sid if _SID.fullmatch(call_sid) else self.queue

    def _enqueue(self, lang: str, call_sid: str, *, hold: bool = False) -> Enqueue:
        return Enqueue(
            self.queue_name(call_sid),
            action=self.url("queue-left", lang=lang),
            method="POST",
            wait_url=self.url("queue-hold" if hold else "queue-wait", lang=lang),
            wait_url_method="POST",
        )

    def queue_wait(
        self,
        lang: str,
        position: int | None = None,
        wait_seconds: int | None = None,
        *,
        offer_callback: bool = False,
    ) -> str:
        """One pass of the wait URL: the caller's place and the expected wait (or "please
        hold" when neither is known), the offer of a call-back (press 1) when the engine
        knows the caller, then the hold music, or 30 s of quiet when no music is set; all
        inside a one-key ``<Gather>``. Twilio asks again when it is done (the
        ``<Redirect>`` says so too)."""
        lang = lang if lang in VOICES else "zh"
        voice = VOICES[lang]
        r = VoiceResponse()
        gather = Gather(
            input="dtmf",
            num_digits=1,
            action=self.url("queue-key", lang=lang),
            method="POST",
            timeout=QUEUE_KEY_TIMEOUT_SECONDS,
        )
        gather.say(self.catalogue.say(lang, *queue_prompt(position, wait_seconds)), **voice)
        if offer_callback:
            gather.say(self.catalogue.say(lang, "queue_callback_offer"), **voice)
        self._music(gather)
        r.append(gather)
        r.redirect(self.url("queue-wait", lang=lang), method="POST")
        return r.to_xml()

    def _music(self, parent: VoiceResponse | Gather) -> None:
        if self.hold_music_url:
            parent.play(self.hold_music_url)
        else:
            parent.pause(length=QUEUE_WAIT_PAUSE_SECONDS)

    def queue_hold(self) -> str:
        """The wait URL of a caller an agent put on hold: music only, no place said."""
        r = VoiceResponse()
        self._music(r)
        return r.to_xml()

    def requeue(self, call_sid: str, lang: str, *, hold: bool) -> str:
        """Back into the caller's own queue: on hold (music only) or waiting again."""
        lang = lang if lang in VOICES else "zh"
        r = VoiceResponse()
        r.append(self._enqueue(lang, call_sid, hold=hold))
        r.say(self.catalogue.say(lang, "queue_closed"), **VOICES[lang])
        r.hangup()
        return r.to_xml()

    def say_then(self, lang: str, key: str, params: dict | None = None, *, then: str) -> str:
        """Say one prompt, then ``then``: "hangup", "leave" (out of the queue), or "wait"
        (back to the wait URL)."""
        lang = lang if lang in VOICES else "zh"
        r = VoiceResponse()
        r.say(self.catalogue.say(lang, key, params), **VOICES[lang])
        if then == "hangup":
            r.hangup()
        elif then == "leave":
            r.leave()
        else:
            r.redirect(self.url("queue-wait", lang=lang), method="POST")
        return r.to_xml()

    def wait_again(self, lang: str) -> str:
        r = VoiceResponse()
        r.redirect(self.url("queue-wait", lang=lang if lang in VOICES else "zh"), method="POST")
        return r.to_xml()

    @staticmethod
    def leave() -> str:
        """Out of the queue: Twilio then asks the ``<Enqueue>``'s action (``queue-left``)."""
        r = VoiceResponse()
        r.leave()
        return r.to_xml()

    @staticmethod
    def hangup() -> str:
        r = VoiceResponse()
        r.hangup()
        return r.to_xml()

    def agent_queue(self, call_sid: str) -> str:
        """The agent's browser leg bridges the waiting caller's own queue."""
        r = VoiceResponse()
        dial = Dial()
        dial.queue(self.queue_name(call_sid))
        r.append(dial)
        return r.to_xml()

    def agent_callback(self, call_sid: str, number: str, caller_id: str) -> str:
        """The agent's browser leg calls a call-back's number from the hospital's line;
        how it went (``DialCallStatus``) comes back to ``agent-dialed``."""
        r = VoiceResponse()
        dial = Dial(
            caller_id=caller_id or None,
            action=self.url("agent-dialed", call=call_sid),
            method="POST",
            timeout=CALLBACK_RING_SECONDS,
        )
        dial.number(number)
        r.append(dial)
        return r.to_xml()

    def busy(self, call_sid: str = "") -> str:
        """The database-free answer: Mandarin "system busy, call again or hold for an
        agent", then the caller's own agent queue. Used by the fallback URL and when the
        store stalls."""
        voice = VOICES["zh"]
        r = VoiceResponse()
        r.say(self.catalogue.say("zh", "busy"), **voice)
        r.append(self._enqueue("zh", call_sid))
        r.say(self.catalogue.say("zh", "queue_closed"), **voice)
        r.hangup()
        return r.to_xml()

    @staticmethod
    def empty() -> str:
        return VoiceResponse().to_xml()


def queue_prompt(
    position: int | None, wait_seconds: int | None
) -> tuple[str, dict[str, int | None]]:
    """The prompt for a waiting caller: ``queue_status`` with ``position`` (1: next) and
    ``minutes`` (rounded up; 0: under a minute), each None when not known, or
    ``queue_wait`` when neither is. A position or wait Twilio cannot have sent (below 1,
    over its largest queue, over a day) is not said."""
    if position is not None and not 1 <= position <= MAX_QUEUE_POSITION:
        position = None
    minutes = None
    if wait_seconds is not None and 0 < wait_seconds <= MAX_QUEUE_WAIT_SECONDS:
        minutes = 0 if wait_seconds < 60 else -(-wait_seconds // 60)
    if position is None and minutes is None:
        return "queue_wait", {}
    return "queue_status", {"position": position, "minutes": minutes}
