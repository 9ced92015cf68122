// The board's theme toggle on the telemetry pages: the same key ("dashboard-theme") and the
// same attribute (data-theme on <html>) as static/dashboard/dashboard.js, so a choice made on
// one page holds on every other. theme-prepaint.js has applied it before first paint.
(function () {
  "use strict";
  var root = document.documentElement;
  function current() {
    return root.dataset.theme || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  }
  function show() {
    var b = document.getElementById("theme-toggle");
    if (b) b.setAttribute("aria-pressed", current() === "dark" ? "true" : "false");
  }
  document.addEventListener("DOMContentLoaded", function () {
    var b = document.getElementById("theme-toggle");
    if (b) b.addEventListener("click", function () {
      var next = current() === "dark" ? "light" : "dark";
      root.dataset.theme = next;
      try { localStorage.setItem("dashboard-theme", next); } catch (e) {}
      show();
    });
    show();
  });
})();
