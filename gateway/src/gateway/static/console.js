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

// The hotline desk (blueprints/console_lookup.py). On the recording form: 300 ms after the agent stops typing a
// phone number (7+ digits) or a unit (2+ characters), ask /complaints/lookup and show the owners found with their
// open and recent complaints; "fill in" copies an owner into the complainant fields. On the home page: load
// the calls panel at once and every 10 seconds. Everything from the server is inserted as text, never as HTML.
(function () {
  var box = document.getElementById("caller-lookup");
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }
  function field(name) { return document.querySelector("[name=" + name + "]"); }
  function fill(owner) {
    var values = {name: owner.name, phone: owner.phone, email: owner.email, unit: owner.unit, estate: owner.estate};
    Object.keys(values).forEach(function (key) {
      var input = field(key);
      if (input && values[key] && String(values[key]).indexOf("*") < 0) {  // never a masked value
        input.value = values[key];
        if (key === "estate") { input.dispatchEvent(new Event("change")); }  // its buildings follow
      }
    });
  }
  function complaintList(title, items) {
    var section = el("div");
    section.appendChild(el("h3", title + " (" + items.length + ")"));
    var list = el("ul");
    items.forEach(function (c) {
      var li = el("li");
      var link = el("a", c.reference);
      link.href = c.url;
      link.target = "_blank";
      link.rel = "noopener";
      li.appendChild(link);
      li.appendChild(el("span", " · " + c.status_label + " · " + c.received_local + " · " + c.estate_name +
        " · " + c.summary));
      list.appendChild(li);
    });
    section.appendChild(list);
    return section;
  }
  function show(data) {
    var t = box.dataset;
    box.textContent = "";
    box.hidden = false;
    if (!data.owners.length) { box.appendChild(el("p", t.tNone, "muted")); return; }
    box.appendChild(el("h3", t.tOwners));
    var owners = el("ul");
    data.owners.forEach(function (o) {
      var li = el("li");
      li.appendChild(el("strong", o.name || "—"));
      li.appendChild(el("span", " " + o.phone + " · " + (o.unit || "—") + " · " + o.estate_name + " · " +
        o.complaints + " " + t.tCount));
      var use = el("button", t.tUse, "link");
      use.type = "button";
      use.addEventListener("click", function () { fill(o); });
      li.appendChild(use);
      owners.appendChild(li);
    });
    box.appendChild(owners);
    box.appendChild(complaintList(t.tOpen, data.open));
    box.appendChild(complaintList(t.tRecent, data.recent));
  }
  var timer = null, last = "";
  function lookup() {
    var phone = (field("phone").value || "").replace(/\D/g, ""), unit = (field("unit").value || "").trim();
    var query = phone.length >= 7 ? "phone=" + encodeURIComponent(phone)
      : unit.length >= 2 ? "unit=" + encodeURIComponent(unit) + "&estate=" + encodeURIComponent(field("estate").value)
      : "";
    if (!query || query === last) { return; }
    last = query;
    fetch(box.dataset.url + "?" + query, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) { if (query === last) { show(data); } })
      .catch(function () { box.hidden = false; box.textContent = ""; box.appendChild(el("p", box.dataset.tFailed, "muted")); });
  }
  function later() { window.clearTimeout(timer); timer = window.setTimeout(lookup, 300); }
  if (box) {
    ["phone", "unit"].forEach(function (name) { if (field(name)) { field(name).addEventListener("input", later); } });
    if (field("phone") && field("phone").value) { lookup(); }  // opened for a call: the caller is known
  }
  function loadCalls() {
    var current = document.getElementById("calls-panel");
    fetch(current.dataset.url, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;  // our own server-rendered, autoescaped fragment
        var fresh = holder.querySelector("#calls-panel");
        if (fresh) { current.replaceWith(fresh); }
      })
      .catch(function () { /* keep the last panel */ });
  }
  if (document.getElementById("calls-panel") && window.fetch) {
    loadCalls();
    window.setInterval(loadCalls, 10000);
  }
})();

// Where in the estate (templates/_location.html): when the form's estate changes, offer that estate's buildings
// (from the JSON the page carries; "other / unknown" first), or a text field where it registered none. The
// field not in use is disabled, so only one "building" is sent.
(function () {
  document.querySelectorAll("fieldset[data-building-choices]").forEach(function (box) {
    var data = document.getElementById(box.getAttribute("data-building-choices"));
    var estate = box.form ? box.form.querySelector("select[name=estate]") : null;
    if (!data || !estate) { return; }
    var choices = JSON.parse(data.textContent || "{}");
    var prefix = box.id.replace(/location$/, "");
    var pick = document.getElementById(prefix + "building-pick");
    var free = document.getElementById(prefix + "building-free");
    var select = document.getElementById(prefix + "building");
    var text = document.getElementById(prefix + "building_other");
    estate.addEventListener("change", function () {
      var buildings = choices[estate.value] || [];
      while (select.options.length) { select.remove(0); }
      select.add(new Option(select.getAttribute("data-other"), ""));
      buildings.forEach(function (b) {
        select.add(new Option(b.name === b.code ? b.name : b.name + " (" + b.code + ")", b.code));
      });
      pick.hidden = select.disabled = buildings.length === 0;
      free.hidden = text.disabled = buildings.length > 0;
    });
  });
})();
