"""The live engine with the agents' softphone set up, and a recording stand-in for Twilio's
Voice SDK, for the softphone's browser test and ``scripts/screenshots.py``.

Twilio's cloud cannot be reached from here, so the page's ``Twilio.Device`` is replaced
before any script runs (``page.add_init_script(STAND_IN)``): the vendored SDK keeps a
``Twilio.Device`` already defined, and this one records what the softphone asked of it
(``window.__softphone``: every Device's token, ``register()``, ``connect(options)``,
``updateToken``; every Call's ``mute``, ``disconnect``) and lets the test play Twilio's
side (``emit('accept')`` on a call, ``emit('tokenWillExpire')`` on the device).
Twilio's REST API is a local fake (tests/fakes/twilio_calls.py) on the engine's loop.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from booking_core.kernel.pii import Cipher
from engine.app import build_app
from engine.config import load_settings
from engine.keys import SERVICES
from tests.agent_console.browser.live_desk import LiveEngine
from tests.agent_console.desk.desk_world import build
from tests.fakes.twilio_calls import ACCOUNT, API_KEY, API_SECRET, FakeTwilioCalls

APP = "AP" + "c" * 32

STAND_IN = """
(function () {
  var record = window.__softphone = { devices: [], calls: [] };
  function Emitter() {}
  Emitter.prototype.on = function (name, fn) {
    this.handlers = this.handlers || {};
    (this.handlers[name] = this.handlers[name] || []).push(fn);
    return this;
  };
  Emitter.prototype.emit = function (name) {
    var args = Array.prototype.slice.call(arguments, 1);
    ((this.handlers || {})[name] || []).forEach(function (fn) { fn.apply(null, args); });
  };
  function Call(options) {
    this.options = options; this.muted = []; this.disconnects = 0; this.handlers = {};
    record.calls.push(this);
  }
  Call.prototype = Object.create(Emitter.prototype);
  Call.prototype.mute = function (flag) { this.muted.push(flag === undefined ? true : flag); };
  Call.prototype.isMuted = function () { return !!this.muted[this.muted.length - 1]; };
  Call.prototype.disconnect = function () {
    this.disconnects += 1;
    // kept in the tab's sessionStorage too: a hang-up opens the wrap-up form, a page load
    // that ends this record (the test reads it there: hung_up below)
    var kept = JSON.parse(sessionStorage.getItem("__softphone.hangups") || "[]");
    kept.push(record.calls.indexOf(this));
    sessionStorage.setItem("__softphone.hangups", JSON.stringify(kept));
    this.emit("disconnect", this);
  };
  function Device(token, options) {
    this.token = token; this.options = options || {}; this.registered = 0;
    this.connects = []; this.updatedTokens = []; this.handlers = {};
    record.devices.push(this);
  }
  Device.prototype = Object.create(Emitter.prototype);
  Device.prototype.register = function () {
    var device = this;
    this.registered += 1;
    return Promise.resolve().then(function () { device.emit("registered"); });
  };
  Device.prototype.connect = function (options) {
    this.connects.push(JSON.parse(JSON.stringify(options)));
    return Promise.resolve(new Call(options));
  };
  Device.prototype.updateToken = function (token) { this.updatedTokens.push(token); };
  window.Twilio = { Device: Device };
})();
"""


AUTH_TOKEN = "test-auth-token-of-the-account"  # signs what the tests post as Twilio


class SoftphoneEngine(LiveEngine):
    """:class:`LiveEngine` with the softphone's settings, its REST calls going to a
    :class:`FakeTwilioCalls` (``self.twilio``) on the engine's loop."""

    twilio: FakeTwilioCalls

    async def _start(self) -> dict[str, Any]:
        self.twilio = await FakeTwilioCalls().__aenter__()
        settings = load_settings(
            env={
                "GUAHAO_PII_KEY": Cipher.generate_key(),
                "GUAHAO_TWILIO_API_KEY_SECRET": API_SECRET,
                # the account's texts need these once its SID is set (engine/texting.py);
                # the voice door checks Twilio's signatures with it (the agent leg's TwiML)
                "GUAHAO_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            },
            overrides={
                "db": self.db,
                "public_url": self.url,
                "twilio_account_sid": ACCOUNT,
                "twilio_api_key_sid": API_KEY,
                "twilio_twiml_app_sid": APP,
                "twilio_sms_from": "+861069000000",
                "twilio_api_base": self.twilio.base_url,
            },
        )
        app = build_app(settings, clock=self.clock)
        self.runner = web.AppRunner(app, shutdown_timeout=2)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        self.services = app[SERVICES]
        return await build(self.services)

    def stop(self) -> None:
        try:
            self.call(self.twilio.__aexit__(None, None, None))
        finally:
            super().stop()
