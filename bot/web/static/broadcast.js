// A broadcast being sent: asks every few seconds for its progress and updates the numbers,
// the bar and the failure reasons in place. Without this script a reload shows the same.
(function () {
  "use strict";
  var block = document.getElementById("progress");
  if (!block || !window.fetch || block.getAttribute("data-live") !== "1") return;
  var url = block.getAttribute("data-poll");
  var every = Math.max(1, parseInt(block.getAttribute("data-every"), 10) || 2) * 1000;
  var bar = document.getElementById("progress-bar");
  var failures = document.getElementById("progress-failures");
  var badge = document.getElementById("status-badge");
  var timer = null;

  function show(body) {
    block.querySelectorAll("[data-field]").forEach(function (el) {
      var value = body[el.getAttribute("data-field")];
      if (value !== undefined && value !== null) el.textContent = String(value);
    });
    if (bar) {
      bar.max = Math.max(1, body.total);
      bar.value = body.total - body.pending;
    }
    if (failures) {
      failures.textContent = "";
      var reasons = body.failures.length ? body.failures : null;
      (reasons || [null]).forEach(function (f) {
        var item = document.createElement("li");
        item.textContent = f ? f.reason + " — " + f.count : failures.getAttribute("data-empty");
        failures.appendChild(item);
      });
    }
    if (badge) badge.textContent = body.status_text;
    if (body.finished) {
      clearInterval(timer);
      block.removeAttribute("data-live");
    }
  }

  function poll() {
    fetch(url, { headers: { accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 401 || response.status === 403 || response.status === 404) {
          clearInterval(timer); // signed out or gone: a reload says so
          return null;
        }
        return response.ok ? response.json() : null;
      })
      .then(function (body) { if (body) show(body); })
      .catch(function () { /* offline for a moment: try again next time */ });
  }

  timer = setInterval(poll, every);
})();
