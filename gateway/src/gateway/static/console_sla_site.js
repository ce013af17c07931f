// The time limits' site settings (blueprints/console_sla_site.py): "add a row" buttons for the business hours,
// closures, extra working days and rungs, and the live preview: 400 ms after the last edit the form is posted to
// the preview route (CSRF header), which checks it as the save would and answers each stage's due time now and
// after the change, or the fields in error. Server text is inserted as text only.
(function () {
  var form = document.getElementById("site-form");
  if (!form) { return; }
  var table = document.getElementById("preview-table");
  var status = document.getElementById("preview-status");
  var strings = document.getElementById("preview-strings").dataset;
  var received = document.getElementById("p-received");
  var csrf = form.querySelector("[name=csrf_token]").value;
  var timer = null, seq = 0;
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  if (!received.value) {
    var d = new Date();
    received.value = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes());
  }
  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    var body = document.querySelector("[data-rows='" + button.dataset.addRow + "'] tbody");
    button.hidden = false;
    button.addEventListener("click", function () {
      var all = body.querySelectorAll("[data-row]");
      var n = all.length;
      var copy = all[n - 1].cloneNode(true);
      copy.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
      copy.querySelectorAll(".invalid").forEach(function (e) { e.classList.remove("invalid"); });
      copy.querySelectorAll("input, select").forEach(function (e) {
        e.id = e.id.replace(/-\d+-/, "-" + n + "-");
        if (e.getAttribute("aria-label")) { e.setAttribute("aria-label", e.getAttribute("aria-label").replace(/\d+$/, String(n + 1))); }
        e.removeAttribute("aria-invalid"); e.removeAttribute("aria-describedby");
        if (e.tagName === "SELECT") { e.selectedIndex = 0; } else { e.value = ""; }
      });
      body.appendChild(copy);
      copy.querySelector("input, select").focus();
    });
  });
  function clearMarks() {
    form.querySelectorAll(".live-error").forEach(function (e) { e.remove(); });
    form.querySelectorAll("[data-live-invalid]").forEach(function (e) {
      e.removeAttribute("aria-invalid"); e.removeAttribute("data-live-invalid");
    });
  }
  function mark(fields) {
    Object.keys(fields || {}).forEach(function (key) {
      var el = document.getElementById("f-" + key) || document.getElementById(key.replace(/^p_/, "p-").replace("_at", ""));
      var p = document.createElement("p");
      p.className = "field-error live-error";
      p.textContent = fields[key];
      if (el) {
        el.setAttribute("aria-invalid", "true"); el.setAttribute("data-live-invalid", "1");
        el.insertAdjacentElement("afterend", p);
      } else { status.insertAdjacentElement("afterend", p); }
    });
  }
  function cell(row, value) { var td = document.createElement("td"); td.textContent = value; row.appendChild(td); return td; }
  function render(data) {
    var body = table.querySelector("tbody");
    body.textContent = "";
    data.stages.forEach(function (s) {
      var row = document.createElement("tr");
      row.setAttribute("data-stage", s.name);
      if (s.changed) { row.setAttribute("data-changed", "1"); }
      cell(row, s.label); cell(row, s.before_local);
      var after = cell(row, s.due_local);
      if (s.changed) { var b = document.createElement("strong"); b.textContent = " · " + strings.changed; after.appendChild(b); }
      cell(row, s.explanation);
      body.appendChild(row);
    });
    table.hidden = false;
    status.textContent = data.policy_version + " · " + data.timezone;
  }
  function run() {
    var mine = ++seq;
    status.textContent = strings.waiting;
    fetch(form.dataset.previewUrl, {
      method: "POST", credentials: "same-origin", headers: {"X-CSRFToken": csrf},
      body: new URLSearchParams(new FormData(form))
    }).then(function (r) { return r.json().then(function (data) { return {ok: r.ok, data: data}; }); })
      .then(function (res) {
        if (mine !== seq) { return; }  // a later edit is on its way
        clearMarks();
        if (res.ok) { render(res.data); return; }
        table.hidden = true;
        status.textContent = res.data.message || strings.failed;
        mark((res.data.details || {}).fields);
      })
      .catch(function () { if (mine === seq) { status.textContent = strings.failed; } });
  }
  function later() { window.clearTimeout(timer); timer = window.setTimeout(run, 400); }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  run();
})();
