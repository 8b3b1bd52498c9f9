// Show a form field only when the field it depends on has the given value (visible_if).
// The server applies the same rule, so a hidden field never reaches a system.
(function () {
  function valueOf(form, name) {
    var input = form.elements[name];
    if (!input) return "";
    if (input.type === "checkbox") return input.checked ? "true" : "false";
    return input.value;
  }
  function update(form) {
    form.querySelectorAll("[data-visible-field]").forEach(function (field) {
      var shown = valueOf(form, field.dataset.visibleField) === field.dataset.visibleEquals;
      field.hidden = !shown;
      field.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !shown; });
    });
  }
  document.querySelectorAll("form.microapp").forEach(function (form) {
    form.addEventListener("change", function () { update(form); });
    update(form);
  });
})();
