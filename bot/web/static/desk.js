// The desk's queue: asks every few seconds whether new requests came in (with the page's
// filters) and offers to show them. Without this script the "Tải lại" link does the same.
(function () {
  "use strict";
  var banner = document.getElementById("new-requests");
  if (!banner || !window.fetch) return;
  var link = banner.querySelector("a");
  var every = Math.max(5, parseInt(banner.getAttribute("data-every"), 10) || 15) * 1000;
  var url = banner.getAttribute("data-poll");
  var timer = null;

  function show(count) {
    if (count > 0) {
      link.textContent = link.getAttribute("data-text").replace("{n}", String(count));
      banner.hidden = false;
    }
  }

  function poll() {
    fetch(url, { headers: { accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) {
          clearInterval(timer); // signed out or no longer allowed: the next click says so
          return null;
        }
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        if (body && typeof body["new"] === "number") show(body["new"]);
      })
      .catch(function () { /* offline for a moment: try again next time */ });
  }

  timer = setInterval(poll, every);
})();
