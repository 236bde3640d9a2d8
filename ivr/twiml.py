"""TwiML, built with the ``twilio`` package's builders only (no hand-made XML).

Every ``<Gather>`` is followed by a ``<Redirect>`` to the same step's "no input" URL,
so a caller who presses nothing is asked again (and, after three times, put through to
an agent) instead of falling off the end of the document.
"""

from __future__ import annotations

from urllib.parse import urlencode

from twilio.twiml.voice_response import Enqueue, Gather, Record, VoiceResponse

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
# The agent queue's wait URL: Twilio runs its TwiML, then asks again (with the caller's
# new QueuePosition and AvgQueueTime); so the position is said once per pass.
QUEUE_WAIT_PAUSE_SECONDS = 30  # without music: the place is said every 30 s (#14)
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

    def answer(self, state: CallState, prompts: list[Prompt]) -> str:
        """The TwiML for ``state`` (at step ``state.seq``) saying ``prompts`` first."""
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
            r.append(self._enqueue(lang))
            r.say(self.catalogue.say(lang, "queue_closed"), **voice)
            r.hangup()
        else:
            for text in texts:
                r.say(text, **voice)
            r.hangup()
        return r.to_xml()

    def _enqueue(self, lang: str) -> Enqueue:
        return Enqueue(
            self.queue, wait_url=self.url("queue-wait", lang=lang), wait_url_method="POST"
        )

    def queue_wait(
        self, lang: str, position: int | None = None, wait_seconds: int | None = None
    ) -> str:
        """One pass of the wait URL: the caller's place and the expected wait (or, when
        Twilio sent neither, "please hold"), then the hold music, or 30 s of quiet when no
        music is set. Twilio asks again when it is done."""
        lang = lang if lang in VOICES else "zh"
        r = VoiceResponse()
        r.say(self.catalogue.say(lang, *queue_prompt(position, wait_seconds)), **VOICES[lang])
        if self.hold_music_url:
            r.play(self.hold_music_url)
        else:
            r.pause(length=QUEUE_WAIT_PAUSE_SECONDS)
        return r.to_xml()

    def busy(self) -> str:
        """The database-free answer: Mandarin "system busy, call again or hold for an
        agent", then the agent queue. Used by the fallback URL and when the store stalls."""
        voice = VOICES["zh"]
        r = VoiceResponse()
        r.say(self.catalogue.say("zh", "busy"), **voice)
        r.append(self._enqueue("zh"))
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
