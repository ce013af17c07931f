// Settings pages with rows of fields (blueprints/console_routing_settings.py, console_alert_settings.py,
// console_duty_settings.py): the "add a row" button copies the last row empty, with fresh ids; a checkbox with
// data-row-name keeps its value and is renamed to that prefix plus the new row's index (the duty roster's
// weekdays-3). Without script the page still offers two empty rows, so this is a convenience only.
(function () {
  var button = document.querySelector("[data-add-row]");
  var rows = document.querySelector("[data-rows]");
  if (!button || !rows) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    var all = rows.querySelectorAll("[data-row]");
    var last = all[all.length - 1];
    var n = all.length;
    var copy = last.cloneNode(true);
    copy.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
    copy.querySelectorAll(".invalid").forEach(function (e) { e.classList.remove("invalid"); });
    copy.querySelectorAll("[id]").forEach(function (e) { e.id = e.id.replace(/^([a-z])\d+-/, "$1" + n + "-"); });
    copy.querySelectorAll("label[for]").forEach(function (e) {
      e.htmlFor = e.htmlFor.replace(/^([a-z])\d+-/, "$1" + n + "-");
    });
    copy.querySelectorAll("input, select").forEach(function (e) {
      e.removeAttribute("aria-invalid");
      e.removeAttribute("aria-describedby");
      if (e.type === "checkbox" && e.dataset.rowName) { e.checked = false; e.name = e.dataset.rowName + n; }
      else if (e.type === "checkbox") { e.checked = false; e.value = String(n); }
      else if (e.tagName === "SELECT") { e.selectedIndex = 0; }
      else { e.value = ""; }
    });
    var legend = copy.querySelector("legend");
    if (legend) { legend.textContent = legend.textContent.replace(/\d+/, String(n + 1)); }
    rows.appendChild(copy);
    var first = copy.querySelector("input, select");
    if (first) { first.focus(); }
  });
})();
