// A <select> or checkbox marked data-autosubmit submits its form when changed (the filters).
// Written here, not as an onchange="" attribute: the Content-Security-Policy allows no inline
// script.
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field instanceof Element && field.matches("[data-autosubmit]") && field.form) {
    field.form.requestSubmit();
  }
});
