// The page's only script: connection state, theme, relative times, modal and keyboard.
// Everything else is server-rendered HTML swapped in by htmx.
(function () {
  "use strict";
  // Backoff capped at 5 s (the extension's default grows far beyond that).
  htmx.config.wsReconnectDelay = function (retry) { return Math.min(5000, 250 * Math.pow(2, retry)); };
  // Fragments inside a pushed fragment are part of it, not separate swaps.
  htmx.config.allowNestedOobSwaps = false;
  // A task removed a moment ago answers 404 with a friendly fragment: show it, not nothing.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "404", swap: true, error: false },
    { code: "[45]..", swap: false, error: true },
    { code: "...", swap: false }
  ];

  var body = document.body;
  function setConn(state, text) {
    var el = document.getElementById("connection-status");
    if (!el) return;
    el.textContent = text;
    el.className = "conn conn-" + state;
    body.dataset.ws = state;
  }
  // One steady label while the extension retries (every attempt fires close and connecting
  // again), so the indicator does not flicker between states.
  body.addEventListener("htmx:wsOpen", function () { setConn("open", "Connected"); });
  body.addEventListener("htmx:wsClose", function () {
    setConn("closed", "Disconnected · Reconnecting…");
  });
  // Pushed messages are lists of hx-swap-oob fragments. htmx's own oob swap costs 1 to 4 ms
  // per fragment here (events, settling), several fragments per move: we apply them directly,
  // with the same meaning, and let htmx process only the new elements. Under a burst, what
  // arrives within one frame is applied together.
  //
  // The contract (kanban/html.py OOB_FORMS names the same four): each top-level element of a
  // message carries hx-swap-oob =
  //   "true"             replace the element with the same id
  //   "delete"           remove the element with the same id
  //   "afterbegin:#id"   put its children on top of #id
  //   "beforeend:#id"    put its children at the end of #id
  // Anything else is a server bug: it is reported on the console and left out.
  var queued = [];
  var frameBooked = false;
  body.addEventListener("htmx:wsBeforeMessage", function (e) {
    e.preventDefault();
    if (!frameBooked) {
      frameBooked = true;
      requestAnimationFrame(applyQueued);
      applyFragments(e.detail.message);
      return;
    }
    queued.push(e.detail.message);
  });
  function applyQueued() {
    frameBooked = false;
    if (!queued.length) return;
    var html = queued.join("");
    queued = [];
    applyFragments(html);
  }
  function applyInto(el, where, selector) {
    var into = document.querySelector(selector);
    if (!into) return;
    var nodes = Array.prototype.slice.call(el.children);
    if (where === "afterbegin") into.prepend.apply(into, nodes);
    else into.append.apply(into, nodes);
    nodes.forEach(function (n) { htmx.process(n); });
  }
  function applyFragments(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    var focused = document.activeElement;
    Array.prototype.slice.call(tpl.content.children).forEach(function (el) {
      var how = el.getAttribute("hx-swap-oob");
      var colon = how ? how.indexOf(":") : -1;
      var where = colon > 0 ? how.slice(0, colon) : how;
      if (colon > 0 && (where === "afterbegin" || where === "beforeend")) {
        applyInto(el, where, how.slice(colon + 1));
        return;
      }
      if (how !== "true" && how !== "delete") {
        console.warn("dashboard: unknown hx-swap-oob form, fragment left out:", how, el.id);
        return;
      }
      var old = document.getElementById(el.id);
      if (!old) return;
      if (how === "delete") { old.remove(); return; }
      el.removeAttribute("hx-swap-oob");
      var hadFocus = focused && old.contains(focused);
      var kept = readerState(old, hadFocus ? focused : null);
      old.replaceWith(el);
      htmx.process(el);
      var again = restoreReaderState(el, kept);
      if (hadFocus) { again = again || el.querySelector(".card-link") || el; if (again.focus) again.focus(); }
    });
    body.dataset.wsMessages = String((+body.dataset.wsMessages || 0) + 1);
    refreshOpenDetail();
  }

  // --- what the reader did inside a replaced fragment ---------------------------------
  // Live panels (operations, MCP servers) are replaced whole several times a second: the
  // <details> the reader opened or closed, and the control that had the keyboard focus (a
  // Stop button), are found again in the new copy by their owner's key (operation, server,
  // task) and their place within it, and keep their state.
  var OWNER_KEYS = ["data-operation-id", "data-mcp-server", "data-mcp-detail", "data-task-id"];
  var OWNER = OWNER_KEYS.map(function (a) { return "[" + a + "]"; }).join(",");
  function ownerOf(node, root) {
    var owner = node.parentElement && node.parentElement.closest(OWNER);
    return owner && root.contains(owner) ? owner : root;
  }
  function keyOf(node, root) {
    var owner = ownerOf(node, root);
    var ownerKey = owner === root ? "" : OWNER_KEYS.map(function (a) { return owner.getAttribute(a) || ""; }).join("|");
    var tag = node.tagName;
    var same = Array.prototype.filter.call(owner.querySelectorAll(tag), function (n) {
      return ownerOf(n, root) === owner;
    });
    return ownerKey + ">" + tag + "." + node.className + "[" + (node.getAttribute("data-action") || "") + "]" + same.indexOf(node);
  }
  function readerState(root, focused) {
    var details = {};
    var any = false;
    root.querySelectorAll("details").forEach(function (d) { details[keyOf(d, root)] = d.open; any = true; });
    return { details: any ? details : null, focus: focused && focused !== root ? keyOf(focused, root) : null };
  }
  function restoreReaderState(root, kept) {
    var found = null;
    if (kept.details) {
      root.querySelectorAll("details").forEach(function (d) {
        var key = keyOf(d, root);
        if (Object.prototype.hasOwnProperty.call(kept.details, key) && d.open !== kept.details[key]) d.open = kept.details[key];
      });
    }
    if (kept.focus) {
      var tag = kept.focus.slice(kept.focus.indexOf(">") + 1).split(".")[0];
      Array.prototype.some.call(root.querySelectorAll(tag), function (n) {
        if (keyOf(n, root) === kept.focus) { found = n; return true; }
        return false;
      });
    }
    return found;
  }
  // The same for htmx's own swaps of a refreshing fragment (the /mcp/ page's details).
  var swapping = null;
  body.addEventListener("htmx:beforeSwap", function (e) {
    var target = e.detail.target;
    swapping = target && target.id ? { id: target.id, kept: readerState(target, target.contains(document.activeElement) ? document.activeElement : null) } : null;
  });
  body.addEventListener("htmx:afterSwap", function () {
    if (!swapping) return;
    var now = document.getElementById(swapping.id);
    if (now) { var again = restoreReaderState(now, swapping.kept); if (again && again.focus) again.focus(); }
    swapping = null;
  });

  // --- theme: the system's by default, the user's choice once made --------------------
  var root = document.documentElement;
  function currentTheme() {
    return root.dataset.theme || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  }
  function toggleTheme() {
    var next = currentTheme() === "dark" ? "light" : "dark";
    root.dataset.theme = next;
    try { localStorage.setItem("dashboard-theme", next); } catch (e) {}
    updateThemeButton();
  }
  function updateThemeButton() {
    var b = document.getElementById("theme-toggle");
    if (b) b.setAttribute("aria-pressed", currentTheme() === "dark" ? "true" : "false");
  }

  // --- "3 min ago", kept current without a round trip ---------------------------------
  function ago(seconds) {
    seconds = Math.max(0, seconds);
    if (seconds < 45) return "just now";
    var m = Math.round(seconds / 60); if (m < 60) return m + " min ago";
    var h = Math.round(seconds / 3600); if (h < 48) return h + " h ago";
    return Math.round(seconds / 86400) + " days ago";
  }
  function refreshTimes() {
    var now = Date.now() / 1000;
    document.querySelectorAll("time[data-ts]").forEach(function (t) {
      var ts = +t.dataset.ts; if (!ts) return;
      var text = ago(now - ts); if (t.textContent !== text) t.textContent = text;
    });
  }
  setInterval(refreshTimes, 30000);

  // --- the task modal ------------------------------------------------------------------
  var modal = document.getElementById("modal");
  var opener = null;
  function openModal() {
    if (modal.open) return;  // a live refresh of the open task keeps the reader's place
    opener = document.activeElement;
    modal.showModal();
    var first = modal.querySelector("h2, [autofocus], a, button");
    if (first) { if (!first.hasAttribute("tabindex") && first.tagName === "H2") first.setAttribute("tabindex", "-1"); first.focus(); }
  }
  function closeModal() {
    if (modal.open) modal.close();
  }
  if (modal) {
    // <dialog> traps focus and closes on Esc by itself; we restore focus to the card.
    modal.addEventListener("close", function () {
      document.getElementById("modal-body").innerHTML = "";
      if (opener && document.contains(opener)) opener.focus();
      else if (opener && opener.closest) { var c = document.querySelector(".card-link"); if (c) c.focus(); }
    });
    modal.addEventListener("click", function (e) { if (e.target === modal) closeModal(); });
  }
  body.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target && e.detail.target.id === "modal-body") openModal();
  });

  // The open task's file changed: load its detail again, in place.
  function refreshOpenDetail() {
    var marker = document.getElementById("last-change");
    var detail = modal && modal.open && modal.querySelector("[data-detail-url]");
    if (!marker || !detail) return;
    var ids = [];
    try { ids = JSON.parse(marker.dataset.taskIds || "[]"); } catch (e) { return; }
    if (ids.indexOf(detail.dataset.taskId) >= 0) {
      htmx.ajax("GET", detail.dataset.detailUrl, { target: "#modal-body", swap: "innerHTML" });
    }
  }

  // --- keyboard ------------------------------------------------------------------------
  function cards() { return Array.prototype.slice.call(document.querySelectorAll("#board .card-link")); }
  function lanesOf() { return Array.prototype.slice.call(document.querySelectorAll("#board .lane")); }
  function moveCard(step) {
    var all = cards(); if (!all.length) return;
    var i = all.indexOf(document.activeElement);
    var next = i < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, i + step));
    all[next].focus(); all[next].scrollIntoView({ block: "nearest" });
  }
  function moveLane(step) {
    var lanes = lanesOf(); var card = document.activeElement.closest && document.activeElement.closest(".lane");
    var i = lanes.indexOf(card); var target = lanes[Math.min(lanes.length - 1, Math.max(0, (i < 0 ? 0 : i + step)))];
    if (target) { var c = target.querySelector(".card-link"); if (c) c.focus(); }
  }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName);
    if (e.key === "Escape") {
      var help = document.getElementById("keys-help");
      if (help && help.open) { help.close(); return; }
      if (typing) { e.target.blur(); return; }
      return;
    }
    if (typing || (modal && modal.open)) return;
    if (e.key === "/") { var s = document.getElementById("search"); if (s) { e.preventDefault(); s.focus(); s.select(); } }
    else if (e.key === "j" || e.key === "ArrowDown") { e.preventDefault(); moveCard(1); }
    else if (e.key === "k" || e.key === "ArrowUp") { e.preventDefault(); moveCard(-1); }
    else if (e.key === "l" || e.key === "ArrowRight") { e.preventDefault(); moveLane(1); }
    else if (e.key === "h" || e.key === "ArrowLeft") { e.preventDefault(); moveLane(-1); }
    else if (e.key === "?") { var h = document.getElementById("keys-help"); if (h && !h.open) h.showModal(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var t = document.getElementById("theme-toggle"); if (t) t.addEventListener("click", toggleTheme);
    var k = document.getElementById("keys-button"); if (k) k.addEventListener("click", function () { document.getElementById("keys-help").showModal(); });
    updateThemeButton();
    refreshTimes();
  });
})();
