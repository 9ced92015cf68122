// A <select> or checkbox marked data-autosubmit submits its form when changed (the filters).
// Written here, not as an onchange="" attribute: the Content-Security-Policy allows no inline
// script.
//
// Chromium fires "change" for every arrow key on a closed <select>: submitting then would
// reload the page per key and lose the focus (WCAG 3.2.2). So a change made with the pointer
// submits at once; one made with the keyboard waits for Enter (or the Filter button), and
// the button shows that a change is waiting.
(function () {
  var pointerAt = 0;
  document.addEventListener("pointerdown", function () { pointerAt = Date.now(); }, true);

  function isAuto(field) {
    return field instanceof Element && field.matches("[data-autosubmit]") && field.form;
  }
  function markPending(form, on) {
    var button = form.querySelector("button[type=submit], button:not([type])");
    if (button) button.classList.toggle("pending", on);
  }
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (!isAuto(field)) return;
    // A pick from the open list follows a pointer press (a few seconds at most).
    if (field.type === "checkbox" || Date.now() - pointerAt < 10000) {
      field.form.requestSubmit();
    } else {
      markPending(field.form, true);
    }
  });
  document.addEventListener("keydown", function (event) {
    var field = event.target;
    pointerAt = 0;  // keys on a closed <select> change it: that is not a pick
    if (event.key === "Enter" && isAuto(field) && field.tagName === "SELECT") {
      event.preventDefault();
      field.form.requestSubmit();
    }
  });
})();
