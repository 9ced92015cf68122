// The page's only script: connection state, theme, times, modal, keyboard, and what makes
// changes visible (a flash on changed cards, "N changes since you last looked", a spoken
// summary, a dimmed board and "Retry now" while disconnected). Everything else is
// server-rendered HTML swapped in by htmx.
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
  // When the board was last known to be current: the page load, then each message.
  var lastUpdate = Date.now();
  var offlineSince = 0;
  var socketWrapper = null;  // the ws extension's public interface: reconnect()
  var openSocket = null;
  // One steady label while the extension retries (every attempt fires close and connecting
  // again), so the indicator does not flicker between states.
  body.addEventListener("htmx:wsOpen", function (e) {
    openSocket = e.detail.event && e.detail.event.target;
    socketWrapper = e.detail.socketWrapper || socketWrapper;
    setConn("open", "Connected");
    offlineSince = 0;
    lastUpdate = Date.now();
    body.classList.remove("is-offline");
    showOffline(false);
  });
  body.addEventListener("htmx:wsClose", function (e) {
    socketWrapper = e.detail.socketWrapper || socketWrapper;
    var closed = e.detail.event && e.detail.event.target;
    // A socket we replaced ("Retry now") closing late says nothing about the live one.
    if (openSocket && closed && closed !== openSocket && openSocket.readyState === 1) return;
    setConn("closed", "Disconnected · Reconnecting…");
    if (offlineSince) return;  // each failed retry closes again: say it once (role=alert)
    offlineSince = Date.now();
    body.classList.add("is-offline");
    showOffline(true);
  });
  function showOffline(on) {
    var banner = document.getElementById("offline-banner");
    if (!banner) return;
    banner.hidden = !on;
    if (!on) return;
    var text = document.getElementById("offline-text");
    if (text) {
      text.textContent = "Disconnected since " + clockText(offlineSince) +
        " — showing the board as of " + clockText(lastUpdate) + ". Reconnecting…";
    }
  }
  function retryNow() {
    setConn("reconnecting", "Reconnecting…");
    // The extension reconnects by itself with backoff; this starts the next attempt now.
    if (socketWrapper && socketWrapper.reconnect) socketWrapper.reconnect();
  }
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
    if (into.id === "activity-feed") noteFeedEntries(nodes);
  }
  function applyFragments(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    var focused = document.activeElement;
    var changed = [];
    Array.prototype.slice.call(tpl.content.children).forEach(function (el) {
      if (el.id === "last-change") {
        try { changed = changed.concat(JSON.parse(el.dataset.taskIds || "[]")); } catch (e) {}
      }
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
    lastUpdate = Date.now();
    formatClocks(document.getElementById("activity-feed"));
    if (changed.length) markChanged(changed);
    var waiting = document.getElementById("waiting");
    if (waiting && document.querySelector("#board [data-task-id]")) waiting.remove();
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

  // --- changes made visible ------------------------------------------------------------
  var FLASH_MS = 2600;
  function cardsOf(id) {
    return document.querySelectorAll('#board [data-task-id="' + CSS.escape(id) + '"]');
  }
  function flash(el) {
    el.classList.remove("is-fresh");
    void el.offsetWidth;  // restart the animation when it is already running
    el.classList.add("is-fresh");
    clearTimeout(el._freshTimer);
    el._freshTimer = setTimeout(function () { el.classList.remove("is-fresh"); }, FLASH_MS);
  }
  function markChanged(ids) {
    ids.forEach(function (id) {
      cardsOf(id).forEach(function (card) {
        flash(card);
        if (document.hidden) card.classList.add("is-unseen");
      });
    });
  }

  // "N changes since you last looked": counted while the tab is hidden.
  var away = null;  // {count, title} while hidden
  var baseTitle = document.title;
  function noteFeedEntries(nodes) {
    var entries = nodes.filter(function (n) { return n.dataset && n.dataset.event; });
    if (!entries.length) return;
    formatClocks(document.getElementById("activity-feed"));
    entries.forEach(function (n) { if (!document.hidden) flash(n); });
    queueSummary(entries);
    if (document.hidden) {
      if (!away) away = { count: 0 };
      away.count += entries.length;
      document.title = "(" + away.count + ") " + baseTitle;
    }
  }
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { if (!away) away = { count: 0 }; return; }
    var seen = away;
    away = null;
    document.title = baseTitle;
    if (!seen || !seen.count) return;
    var banner = document.getElementById("since-banner");
    var text = document.getElementById("since-text");
    if (!banner || !text) return;
    text.textContent = seen.count + (seen.count === 1 ? " change" : " changes") + " since you last looked";
    banner.hidden = false;
    document.querySelectorAll("#board .is-unseen").forEach(flash);
  });
  function dismissSince() {
    var banner = document.getElementById("since-banner");
    if (banner) banner.hidden = true;
    document.querySelectorAll("#board .is-unseen").forEach(function (c) { c.classList.remove("is-unseen"); });
  }

  // A polite, spoken summary at most every few seconds ("3 changes: 2 moved to Done, 1
  // created"), instead of every card.
  var SUMMARY_EVERY_MS = 5000;
  var PHRASES = {
    "task.completed": "moved to Done", "task.assigned": "moved to Assigned",
    "task.created": "created", "task.removed": "removed", "task.updated": "updated",
    "task.started": "started", "task.failed": "failed"
  };
  var pending = {};
  var pendingCount = 0;
  var lastSpoken = 0;
  var summaryTimer = null;
  function queueSummary(entries) {
    entries.forEach(function (n) {
      var kind = n.dataset.event;
      var phrase = PHRASES[kind] || kind.split(".").pop().replace(/_/g, " ");
      pending[phrase] = (pending[phrase] || 0) + 1;
      pendingCount += 1;
    });
    if (summaryTimer) return;
    var wait = Math.max(0, lastSpoken + SUMMARY_EVERY_MS - Date.now());
    summaryTimer = setTimeout(speakSummary, Math.max(wait, 600));
  }
  function speakSummary() {
    summaryTimer = null;
    var region = document.getElementById("live-summary");
    if (!region || !pendingCount) return;
    var parts = Object.keys(pending).sort(function (a, b) { return pending[b] - pending[a]; })
      .map(function (p) { return pending[p] + " " + p; });
    region.textContent = pendingCount + (pendingCount === 1 ? " change: " : " changes: ") + parts.join(", ");
    pending = {};
    pendingCount = 0;
    lastSpoken = Date.now();
  }

  // A small note instead of a click that does nothing.
  var toastTimer = null;
  function toast(text) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.hidden = true; }, 4000);
  }
  document.addEventListener("click", function (e) {
    if (!body.classList.contains("is-offline")) return;
    var link = e.target.closest && e.target.closest("#board a[hx-get], #activity-feed a[hx-get]");
    if (!link) return;
    e.preventDefault();
    e.stopPropagation();
    toast("Disconnected — showing the board as of " + clockText(lastUpdate));
  }, true);
  body.addEventListener("htmx:sendError", function () {
    toast("The dashboard cannot be reached — showing the board as of " + clockText(lastUpdate));
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
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  // 14:02:11 today, "Feb 10 14:02" before, in the viewer's own time zone.
  function clockText(ms) {
    var d = new Date(ms), now = new Date();
    var hm = pad(d.getHours()) + ":" + pad(d.getMinutes());
    if (d.toDateString() === now.toDateString()) return hm + ":" + pad(d.getSeconds());
    var day = MONTHS[d.getMonth()] + " " + d.getDate();
    return (d.getFullYear() === now.getFullYear() ? day : d.getFullYear() + " " + day) + " " + hm;
  }
  function formatClocks(root) {
    if (!root) return;
    root.querySelectorAll("time[data-clock]").forEach(function (t) {
      var ts = +t.dataset.clock; if (!ts) return;
      var text = clockText(ts * 1000); if (t.textContent !== text) t.textContent = text;
    });
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
    var r = document.getElementById("retry-now"); if (r) r.addEventListener("click", retryNow);
    var d = document.getElementById("since-dismiss"); if (d) d.addEventListener("click", dismissSince);
    var f = document.getElementById("filters-toggle");
    if (f) f.addEventListener("click", function () {
      var bar = f.closest(".topbar");
      var open = bar.classList.toggle("tools-open");
      f.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) { var s = document.getElementById("search"); if (s) s.focus(); }
    });
    // Lanes and the summary fit under the header, whatever height it wraps to.
    var bar = document.querySelector(".topbar");
    if (bar && window.ResizeObserver) {
      new ResizeObserver(function () {
        root.style.setProperty("--header-h", bar.offsetHeight + "px");
      }).observe(bar);
    }
    updateThemeButton();
    refreshTimes();
    formatClocks(document);
  });
  // A tab left in the background comes back with a clean "since you last looked".
  if (document.hidden) away = { count: 0 };
})();
