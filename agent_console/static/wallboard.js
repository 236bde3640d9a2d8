/* The supervisor's wallboard: its tiles replaced by each "wallboard" event of the stream
   (SSE), and the longest wait counted on every second between two events. No framework;
   the page shows the numbers of its load without this file too. */
(function () {
  "use strict";
  var board = document.getElementById("wallboard");
  if (!board) { return; }
  var received = Date.now();
  function clock(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }
  function tick() {
    var el = board.querySelector('[data-tile="longest_wait"]');
    if (!el || el.getAttribute("data-counting") !== "1") { return; }
    var base = parseInt(el.getAttribute("data-wait-seconds"), 10) || 0;
    el.textContent = clock(base + Math.floor((Date.now() - received) / 1000));
  }
  window.setInterval(tick, 1000);
  if (window.EventSource) {
    var source = new EventSource(board.getAttribute("data-wallboard-stream"));
    source.addEventListener("wallboard", function (ev) {
      board.innerHTML = ev.data;
      received = Date.now();
      board.setAttribute("data-updated", String(received));
    });
  }
})();
