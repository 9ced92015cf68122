// Loaded (not deferred) in <head>, before first paint, so a remembered theme never flashes
// the other one. A file rather than an inline script: the Content-Security-Policy allows no
// inline script.
(function () {
  try {
    var t = localStorage.getItem("dashboard-theme");
    if (t === "dark" || t === "light") document.documentElement.dataset.theme = t;
  } catch (e) {}
})();
