// A <select> or checkbox marked data-autosubmit submits its form when changed (the filters).
// Written here, not as an onchange="" attribute: the Content-Security-Policy allows no inline
// script.
//
// Chromium fires "change" for every arrow key on a closed <select>: submitting then would
// reload the page per key and lose the focus (WCAG 3.2.2). So a change that follows a key
// pressed on the closed <select> waits for Enter (or the Filter button, which shows that a
// change is waiting); a pick from the open list (mouse, or keys inside the list, which the
// page does not see) submits at once.
(function () {
  var keyOn = null;
  var keyAt = 0;

  function isAuto(field) {
    return field instanceof Element && field.matches("[data-autosubmit]") && field.form;
  }
  function markPending(form, on) {
    var button = form.querySelector("button[type=submit], button:not([type])");
    if (button) button.classList.toggle("pending", on);
  }
  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (!isAuto(field) || field.tagName !== "SELECT") return;
    if (event.key === "Enter") {
      event.preventDefault();
      field.form.requestSubmit();
      return;
    }
    keyOn = field;
    keyAt = Date.now();
  }, true);
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (!isAuto(field)) return;
    if (field === keyOn && Date.now() - keyAt < 1000) {
      markPending(field.form, true);
      return;
    }
    field.form.requestSubmit();
  });
})();
