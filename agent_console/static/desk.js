/* The agent's desk: keyboard shortcuts and the live list of incoming calls (SSE).
   "/" search · "b" book (the booking filter, or the first "book" button) · "t" take the
   first waiting caller. No framework; the pages work without this file too. */
(function () {
  "use strict";
  function typing(el) {
    var tag = (el && el.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || (el && el.isContentEditable);
  }
  function jump(name) {
    var el = document.querySelector('[data-shortcut="' + name + '"]');
    if (!el) { return false; }
    el.focus();
    if (el.select) { el.select(); }
    return true;
  }
  document.addEventListener("keydown", function (e) {
    var el = e.target;
    if (e.key === "Enter" && el && el.tagName === "SELECT" && el.form) {
      e.preventDefault();  /* Enter on a list submits its form, as in a text field */
      el.form.requestSubmit();
      return;
    }
    if (e.key === "/" && el && el.getAttribute("data-shortcut") === "search") {
      e.preventDefault();  /* already in the search box: no "/" in a name or a number */
      el.select();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || typing(el)) { return; }
    var name = { "/": "search", "b": "book", "t": "take" }[e.key];
    if (name && jump(name)) { e.preventDefault(); }
  });
  if (!document.querySelector(":focus")) {
    var first = document.querySelector("[data-first]");
    if (first) { first.focus(); }
  }
  var list = document.querySelector("[data-stream]");
  if (list && window.EventSource) {
    var source = new EventSource(list.getAttribute("data-stream"));
    source.addEventListener("agent", function (ev) {  /* the header's state, live */
      var shown = document.getElementById("agent-state");
      if (shown && ev.data && shown.contains(document.activeElement) === false) {
        shown.outerHTML = ev.data;
      }
    });
    source.addEventListener("calls", function (ev) {
      var focused = document.activeElement && document.activeElement.closest("[data-call]");
      var keep = focused && focused.getAttribute("data-call");
      list.innerHTML = ev.data;
      list.setAttribute("data-updated", String(Date.now()));
      if (keep) {
        var again = list.querySelector('[data-call="' + keep + '"] button');
        if (again) { again.focus(); }
      }
    });
  }
})();
