/* Live operations on the board, from the #operations panel the server pushes:
 * - a card whose task has a running operation carries data-running (CONTRACT section 8) and
 *   its live cost in data-running-cost;
 * - elapsed times tick every second from data-started (seconds since the epoch).
 * The panel is replaced whole on each push, so a MutationObserver re-reads it; nothing here
 * keeps state of its own. */
(function () {
  "use strict";
  var LIVE = { running: true, stopping: true };

  var running = {};

  function readPanel() {
    var panel = document.getElementById("operations");
    running = {};
    if (panel) {
      panel.querySelectorAll("[data-operation-id][data-task-id]").forEach(function (op) {
        if (!LIVE[op.getAttribute("data-status")]) return;
        var cost = op.querySelector(".ops-cost");
        running[op.getAttribute("data-task-id")] = cost ? cost.textContent.trim() : "";
      });
    }
  }

  function markCards(root) {
    var cards = root.matches && root.matches("[data-task-id][data-path]") ? [root] : [];
    root.querySelectorAll("[data-task-id][data-path]").forEach(function (c) { cards.push(c); });
    cards.forEach(function (card) {
      var id = card.getAttribute("data-task-id");
      if (Object.prototype.hasOwnProperty.call(running, id)) {
        card.setAttribute("data-running", "");
        card.setAttribute("data-running-cost", running[id]);
        card.title = "An operation is running on this task (" + running[id] + " so far)";
      } else if (card.hasAttribute("data-running")) {
        card.removeAttribute("data-running");
        card.removeAttribute("data-running-cost");
        card.removeAttribute("title");
      }
    });
  }

  function pad(n) { return n < 10 ? "0" + n : "" + n; }

  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll("time.ops-elapsed[data-started]:not([data-ended])").forEach(function (el) {
      var s = Math.max(0, Math.floor(now - parseFloat(el.getAttribute("data-started"))));
      if (!isFinite(s)) return;
      var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
      el.textContent = (h ? h + ":" + pad(m) : m) + ":" + pad(s % 60);
    });
  }

  function start() {
    readPanel();
    markCards(document);
    tick();
    var pending = false;
    // The panel changed: re-read it and mark every card (a few per second at most).
    var panel = document.getElementById("operations");
    if (panel && panel.parentNode) {
      new MutationObserver(function () {
        if (pending) return;
        pending = true;
        requestAnimationFrame(function () { pending = false; readPanel(); markCards(document); });
      }).observe(panel.parentNode, { childList: true, subtree: true });
    }
    // Cards pushed in (a move, an edit) get their mark from what the panel last said.
    var board = document.getElementById("board");
    if (board) {
      new MutationObserver(function (records) {
        records.forEach(function (r) {
          r.addedNodes.forEach(function (n) { if (n.nodeType === 1) markCards(n); });
        });
      }).observe(board, { childList: true, subtree: true });
    }
    setInterval(tick, 1000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
