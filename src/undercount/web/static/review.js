// Keyboard shortcuts of the review page: s = same person, d = different people, k = skip,
// n = write a note (Esc leaves the note; Enter in it does nothing: a decision key decides).
// Each decision key submits the page's CSRF-protected decision form with the matching button.
(function () {
  "use strict";
  var keys = { s: "same", d: "different", k: "skip" };
  var sent = false;
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) { return; }
    var target = event.target;
    if (target && target.id === "note") {
      if (event.key === "Escape" || event.key === "Enter") { event.preventDefault(); target.blur(); }
      return;
    }
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) { return; }
    if ((event.key || "").toLowerCase() === "n" && document.getElementById("note")) {
      event.preventDefault();
      document.getElementById("note").focus();
      return;
    }
    var decision = keys[(event.key || "").toLowerCase()];
    var form = document.getElementById("decide-form");
    if (!decision || !form || sent) { return; }
    var button = form.querySelector('button[value="' + decision + '"]');
    if (!button) { return; }
    event.preventDefault();
    sent = true;
    form.requestSubmit(button);
  });
  // A page restored from the back-forward cache may be decided again.
  window.addEventListener("pageshow", function () { sent = false; });
})();
