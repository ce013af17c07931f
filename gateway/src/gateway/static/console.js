// The console's only script: while a new case is being opened, reload its page every few seconds so the
// deadlines and the timeline fill in (the server stops asking for it after two minutes or once complete).
(function () {
  var seconds = parseInt(document.body.getAttribute("data-refresh") || "0", 10);
  if (seconds > 0) {
    window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
})();
