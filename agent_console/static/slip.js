/* The booking slip (预约凭条): the "print" button prints it; opened from the booking's
   "print the slip" link (?print=1) it prints at once. A file of its own: the console's
   Content-Security-Policy allows no inline script. */
(function () {
  "use strict";
  var button = document.querySelector("[data-print]");
  if (button) {
    button.addEventListener("click", function () { window.print(); });
  }
  if (document.body.hasAttribute("data-print-now")) {
    window.addEventListener("load", function () { window.print(); });
  }
})();
