/* The agent's softphone (坐席软电话, #14) on the desk: Twilio's Voice SDK (vendored under
   static/vendor/twilio-voice/, window.Twilio.Device) with a token from POST voice/token.

   - Registers at load; asks for a new token when the SDK says the old one will expire.
   - Taking a waiting caller (the desk's "take" form) is posted here instead of navigating
     away (a page load would end the call): when this agent won the caller, the browser
     connects with {params: {call: <the caller's CallSid>}}, and the engine's TwiML bridges
     exactly that caller (contract C2). The caller's record opens in its own tab ("o").
   - Keys while on a call: m mute/unmute · p hold/resume · x transfer · h hang up · o record.
     Hold and transfer ask the engine (POST desk/calls/<sid>/hold|resume|transfer), which
     redirects the caller's leg with Twilio's REST API; resume connects again.
   - The call timer (mm:ss) starts when the call is accepted and runs until it ends.
   - Every state and error is shown in words (the page's language), never as a code.
   Without the softphone's settings the token endpoint answers 503: the panel says so and
   the take form works as it always did (the record opens, no audio). No framework. */
(function () {
  "use strict";
  var panel = document.getElementById("softphone");
  if (!panel) { return; }
  var base = panel.getAttribute("data-base") || "/console/";
  var csrf = panel.getAttribute("data-csrf") || "";
  var words = {};
  Array.prototype.forEach.call(panel.querySelectorAll("[data-word]"), function (el) {
    words[el.getAttribute("data-word")] = el.textContent;
  });
  /* the Voice SDK's error codes (TwilioError.code) -> words; see agent_console/i18n_softphone.py */
  var ERRORS = {
    20101: "sp_error_token", 20104: "sp_error_token", 20151: "sp_error_token",
    31000: "sp_error_network", 31005: "sp_error_network", 31009: "sp_error_network",
    31201: "sp_error_microphone", 31208: "sp_error_microphone", 31401: "sp_error_microphone",
    31402: "sp_error_microphone", 31480: "sp_error_busy", 31486: "sp_error_busy",
    31603: "sp_error_declined", 53405: "sp_error_media", 31003: "sp_error_media"
  };
  var stateEl = panel.querySelector(".sp-state");
  var callEl = panel.querySelector(".sp-call");
  var callerEl = panel.querySelector(".sp-caller");
  var timerEl = panel.querySelector(".sp-timer");
  var recordEl = panel.querySelector(".sp-record");
  var messageEl = panel.querySelector(".sp-message");
  var controls = panel.querySelector(".sp-controls");
  var muteButton = panel.querySelector('[data-sp="mute"]');
  var holdButton = panel.querySelector('[data-sp="hold"]');
  var transferForm = panel.querySelector('[data-sp="transfer"]');

  var device = null;    /* Twilio.Device, once a token came */
  var ready = false;    /* registered: calls can be connected */
  var call = null;      /* the SDK's Call of the agent's leg */
  var sid = null;       /* the caller's CallSid this agent has */
  var muted = false;
  var held = false;
  var startedAt = null; /* when the call was accepted (ms) */
  var ticking = null;

  function say(key) {
    panel.setAttribute("data-state", key);
    stateEl.textContent = words[key] || key;
  }
  function notice(text) {
    messageEl.textContent = text || "";
    messageEl.hidden = !text;
  }
  function errorWords(err) {
    return words[ERRORS[err && err.code] || "sp_error_other"];
  }
  function post(path, data) {
    return fetch(base + path, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Accept": "application/json",
        "X-CSRF-Token": csrf,
        "Content-Type": "application/x-www-form-urlencoded"
      },
      body: new URLSearchParams(data || {}).toString()
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        body.status = response.status;
        return body;
      });
    });
  }
  function token() {
    return post("voice/token").then(function (body) {
      if (body.status !== 200 || !body.token) { throw body; }
      return body.token;
    });
  }

  /* -- the timer ------------------------------------------------------------------- */
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function showTime() {
    var seconds = startedAt === null ? 0 : Math.max(0, Math.floor((Date.now() - startedAt) / 1000));
    timerEl.textContent = two(Math.floor(seconds / 60)) + ":" + two(seconds % 60);
  }
  function startTimer() {
    if (startedAt !== null) { return; }  /* resumed after hold: the call's time goes on */
    startedAt = Date.now();
    showTime();
    ticking = window.setInterval(showTime, 1000);
  }
  function stopTimer() {
    if (ticking !== null) { window.clearInterval(ticking); }
    ticking = null;
    startedAt = null;
  }

  /* -- the panel's look ------------------------------------------------------------ */
  function showCall(on) {
    callEl.hidden = !on;
    controls.hidden = !on;
  }
  function labels() {
    muteButton.textContent = words[muted ? "sp_unmute" : "sp_mute"];
    holdButton.textContent = words[held ? "sp_resume" : "sp_hold"];
  }
  function over(key) {
    stopTimer();
    call = null;
    sid = null;
    muted = false;
    held = false;
    labels();
    showCall(false);
    say(key || "sp_ended");
  }

  /* -- the call ---------------------------------------------------------------------- */
  function connect(callSid) {
    sid = callSid;
    say("sp_calling");
    showCall(true);
    return Promise.resolve(device.connect({ params: { call: callSid } })).then(function (c) {
      call = c;
      muted = false;
      labels();
      c.on("accept", function () {
        held = false;
        labels();
        startTimer();
        say("sp_in_call");
      });
      c.on("disconnect", function () {
        if (call !== c) { return; }
        if (held) { call = null; return; }  /* on hold: the caller waits, the call goes on */
        over("sp_ended");
      });
      c.on("cancel", function () { if (call === c && !held) { over("sp_ended"); } });
      c.on("reject", function () { if (call === c) { over("sp_ended"); } });
      c.on("error", function (err) { notice(errorWords(err)); });
      c.on("mute", function (isMuted) {
        muted = !!isMuted;
        labels();
        if (call === c && startedAt !== null) { say(muted ? "sp_muted" : "sp_in_call"); }
      });
    }).catch(function (err) {
      notice(errorWords(err));
      over("sp_ready");
    });
  }

  function take(form) {
    var match = /\/desk\/calls\/([^/]+)\/take$/.exec(form.getAttribute("action") || "");
    if (!match) { return false; }
    var callSid = decodeURIComponent(match[1]);
    notice("");
    post("desk/calls/" + encodeURIComponent(callSid) + "/take").then(function (body) {
      if (body.status !== 200) {
        notice(body.message || words.sp_error_server);
        return;
      }
      var row = body.call || {};
      callerEl.textContent = [row.caller, row.patient_name].filter(Boolean).join(" · ");
      recordEl.setAttribute("href", body.next || (base + "desk/calls/" + callSid));
      connect(callSid);
    }, function () { notice(words.sp_error_server); });
    return true;
  }

  function toggleMute() {
    if (!call) { return; }
    muted = !muted;
    call.mute(muted);
    labels();
    say(muted ? "sp_muted" : "sp_in_call");
  }

  function toggleHold() {
    if (!sid) { return; }
    var path = "desk/calls/" + encodeURIComponent(sid);
    if (held) {
      post(path + "/resume").then(function (body) {
        if (body.status !== 200) { notice(body.message || words.sp_error_server); return; }
        notice("");
        connect(body.connect.call);
      }, function () { notice(words.sp_error_server); });
      return;
    }
    held = true;  /* before Twilio ends this leg: its "disconnect" is the hold, not the end */
    post(path + "/hold").then(function (body) {
      if (body.status !== 200) {
        held = false;
        notice(body.message || words.sp_error_server);
        return;
      }
      notice(body.message);
      labels();
      say("sp_on_hold");
      if (call) {
        var leg = call;
        call = null;
        leg.disconnect();  /* the caller left the bridge: close this leg now */
      }
    }, function () { held = false; notice(words.sp_error_server); });
  }

  function hangUp() {
    if (held && !call) {  /* the caller waits on hold: hanging up here would forget them */
      notice(words.sp_held_hangup);
      return;
    }
    if (call) {
      var leg = call;
      leg.disconnect();
    }
    if (sid) { over("sp_ended"); }
  }

  function transfer() {
    if (!sid) { return; }
    var kind = transferForm.querySelector('[data-sp="transfer-kind"]').value;
    var agent = transferForm.querySelector('[data-sp="transfer-agent"]').value.trim();
    if (kind === "agent" && !agent) { notice(words.sp_bad_target); return; }
    var to = kind === "ivr" ? "ivr" : "agent:" + agent;
    post("desk/calls/" + encodeURIComponent(sid) + "/transfer", { to: to }).then(function (body) {
      notice(body.message || words.sp_error_server);
      if (body.status !== 200) { return; }
      var leg = call;
      over("sp_transferred");
      if (leg) { leg.disconnect(); }
    }, function () { notice(words.sp_error_server); });
  }

  /* -- the page ------------------------------------------------------------------------- */
  muteButton.addEventListener("click", toggleMute);
  holdButton.addEventListener("click", toggleHold);
  panel.querySelector('[data-sp="hangup"]').addEventListener("click", hangUp);
  transferForm.addEventListener("submit", function (e) { e.preventDefault(); transfer(); });
  transferForm.querySelector('[data-sp="transfer-kind"]').addEventListener("change", function (e) {
    transferForm.querySelector('[data-sp="transfer-agent"]').hidden = e.target.value === "ivr";
  });
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!ready || !form || !/\/take$/.test(form.getAttribute("action") || "")) { return; }
    if (sid) {  /* taking another caller would leave this page, and this call with it */
      e.preventDefault();
      notice(words.sp_one_call);
      return;
    }
    if (take(form)) { e.preventDefault(); }
  });
  function typing(el) {
    var tag = (el && el.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || (el && el.isContentEditable);
  }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target) || !sid) { return; }
    var act = {
      "m": toggleMute,
      "p": toggleHold,
      "h": hangUp,
      "x": function () { transferForm.querySelector("select").focus(); },
      "o": function () { recordEl.click(); }
    }[e.key];
    if (act) { e.preventDefault(); act(); }
  });

  /* the other agents of the hospital, suggested in the transfer field */
  function loadAgents() {
    var list = panel.querySelector("#sp-agents");
    if (!list) { return; }
    fetch(list.getAttribute("data-source"), {
      credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (r) { return r.ok ? r.json() : { agents: [] }; }).then(function (body) {
      list.textContent = "";
      (body.agents || []).forEach(function (a) {
        var option = document.createElement("option");
        option.value = a.username;
        option.label = a.display_name || a.username;
        list.appendChild(option);
      });
    }, function () { /* suggestions only: the field takes any user name */ });
  }

  function renew() {
    token().then(function (fresh) { device.updateToken(fresh); },
                 function () { notice(words.sp_error_token); });
  }

  function start() {
    if (!window.Twilio || !window.Twilio.Device) { say("sp_offline"); return; }
    say("sp_connecting");
    token().then(function (first) {
      device = new window.Twilio.Device(first, { closeProtection: true });
      device.on("registered", function () {
        if (!ready) { loadAgents(); }
        ready = true;
        if (!sid) { say("sp_ready"); }
      });
      device.on("unregistered", function () {
        ready = false;
        if (!sid) { say("sp_offline"); }
      });
      device.on("error", function (err) {
        notice(errorWords(err));
        if (ERRORS[err && err.code] === "sp_error_token") { renew(); }
      });
      device.on("tokenWillExpire", renew);
      return device.register();
    }).catch(function (body) {
      if (body && body.error === "softphone_not_configured") {
        say("sp_not_configured");
        notice(body.message);
      } else {
        say("sp_offline");
        notice(body && body.code ? errorWords(body) : (body && body.message) || words.sp_error_server);
      }
    });
  }
  start();
})();
