"""``/``: a page with a link to every door of this engine, and how to try the two that are
not web pages (the phone line and the texts). Public: it names addresses, never secrets."""

from __future__ import annotations

from html import escape
from pathlib import Path

from aiohttp import web

from . import demo_modem
from .keys import SETTINGS

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>guahao</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5}}
code,pre{{background:#f4f4f4;padding:0 .2em}}pre{{padding:.5em}}</style></head>
<body>
<h1>guahao 挂号</h1>
<p>The hospital booking engine. Its doors:</p>
<ul>
<li><a href="console/login">Agent console</a> (坐席): the agents' desk and the back office</li>
<li><a href="api/v1/">Hospital API</a>: <a href="api/v1/openapi.json">its OpenAPI document</a>
  (a bearer token from <code>guahao token create</code>)</li>
<li><a href="fhir/R4/metadata">FHIR R4</a> (the same tokens): slots, IHE $find, $hold, $book;
  <a href="fhir/R4/$bulk-publish">SMART Scheduling Links</a> (public)</li>
<li><a href="healthz">/healthz</a> (the store answers) and <a href="metrics">/metrics</a>
  (Prometheus)</li>
<li>Phone line (IVR): {phone}</li>
<li>Texts (SMS): {sms}</li>
</ul>
</body></html>
"""

PHONE_OPEN = """Twilio posts to <code>{base}/twilio/voice</code>. Call it from a terminal as
Twilio would (keys on stdin, one line per menu, Enter; an empty line is silence):
<pre>guahao phone --from 13800130001</pre>(with the engine's configuration and Twilio
auth token, or in the demo folder; <code>--url</code> when this engine is reached at another
address than its public URL)"""
PHONE_CLOSED = """closed: every call is refused until <code>twilio_auth_token</code> and
<code>public_url</code> are set (docs/twilio.md)"""
SMS_MODEM = """the demo's simulated modem: text the engine as a patient with
<pre>echo '13800130001 CX' &gt; {inbox}</pre>"""
SMS_OTHER = """<code>/twilio/sms</code> for a Twilio number, or a GSM modem on a serial port
(docs/sms.md)"""


async def home(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if settings.twilio_auth_token and settings.public_url:
        phone = PHONE_OPEN.format(base=escape(settings.public_url))
    else:
        phone = PHONE_CLOSED
    port = Path(settings.modem_port) if settings.modem_port else None
    if port is not None and port.name == demo_modem.PORT_NAME:
        sms = SMS_MODEM.format(inbox=escape(str(demo_modem.inbox_path(port.parent))))
    else:
        sms = SMS_OTHER
    return web.Response(text=PAGE.format(phone=phone, sms=sms), content_type="text/html")
