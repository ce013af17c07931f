// The time-limit settings page (blueprints/console_sla_settings.py): 400 ms after the last edit of the policy
// text, the severity, the received-at or the estate, post them to the console's preview route (CSRF header)
// and show the deadlines, or the policy's problems with their lines. Server text is inserted as text only.
(function () {
  var form = document.getElementById("sla-form");
  if (!form) { return; }
  var text = document.getElementById("s-document");
  var severity = document.getElementById("p-severity");
  var received = document.getElementById("p-received");
  var estate = document.getElementById("p-estate");
  var table = document.getElementById("preview-table");
  var status = document.getElementById("preview-status");
  var problems = document.getElementById("policy-problems");
  var strings = document.getElementById("preview-strings").dataset;
  var csrf = form.querySelector("[name=csrf_token]").value;
  var timer = null, seq = 0;
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  if (!received.value) {  // now, as the browser's local time (the estate's time for staff on site)
    var d = new Date();
    received.value = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes());
  }
  function cell(row, value) { var td = document.createElement("td"); td.textContent = value; row.appendChild(td); }
  function showProblems(list, message) {
    problems.textContent = "";
    if (message) { var head = document.createElement("li"); head.textContent = message; problems.appendChild(head); }
    (list || []).forEach(function (p) {
      var li = document.createElement("li");
      li.textContent = (p.line ? strings.error.replace("{n}", p.line) + ": " : "") + (p.path ? p.path + " " : "") +
        (p.problem || "");
      problems.appendChild(li);
    });
  }
  function render(data) {
    var body = table.querySelector("tbody");
    body.textContent = "";
    data.stages.forEach(function (s) {
      var row = document.createElement("tr");
      row.setAttribute("data-stage", s.name);
      cell(row, s.label); cell(row, s.due_local); cell(row, s.explanation);
      body.appendChild(row);
    });
    table.hidden = false;
    status.textContent = data.policy_version + " · " + data.timezone;
  }
  function run() {
    var mine = ++seq;
    status.textContent = strings.waiting;
    fetch(form.dataset.previewUrl, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify({scope: form.dataset.scope, document: text.value, severity: severity.value,
                            received_at: received.value, estate: estate ? estate.value : null})
    }).then(function (r) { return r.json().then(function (data) { return {ok: r.ok, data: data}; }); })
      .then(function (res) {
        if (mine !== seq) { return; }  // a later edit is on its way
        if (res.ok) { showProblems([], null); render(res.data); return; }
        table.hidden = true;
        status.textContent = res.data.message || strings.failed;
        showProblems((res.data.details || {}).problems, null);
      })
      .catch(function () { if (mine === seq) { status.textContent = strings.failed; } });
  }
  function later() { window.clearTimeout(timer); timer = window.setTimeout(run, 400); }
  [text, severity, received, estate].forEach(function (el) {
    if (el) { el.addEventListener("input", later); el.addEventListener("change", later); }
  });
  run();
})();
