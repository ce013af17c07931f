// The console's only script: while a new case is being opened, reload its page every few seconds so the
// deadlines and the timeline fill in (the server stops asking for it after two minutes or once complete).
(function () {
  var seconds = parseInt(document.body.getAttribute("data-refresh") || "0", 10);
  // never while someone is filling in a form (an open action or a focused field): it would lose the input
  function busy() {
    var active = document.activeElement;
    return document.querySelector("details[open]") !== null ||
      (active !== null && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName));
  }
  function tick() {
    if (busy()) { window.setTimeout(tick, seconds * 1000); } else { window.location.reload(); }
  }
  if (seconds > 0) {
    window.setTimeout(tick, seconds * 1000);
  }
})();
