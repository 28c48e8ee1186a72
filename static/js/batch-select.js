/* "Select all" and the count of chosen documents on the batch pages. */
(function () {
  "use strict";
  function update(form) {
    var boxes = form.querySelectorAll('input[type=checkbox][name=documents]');
    var chosen = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
    var out = form.querySelector("[data-selected-count]");
    if (out) out.textContent = chosen + "/" + boxes.length;
    var all = form.querySelector("[data-select-all]");
    if (all) all.checked = chosen === boxes.length;
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = chosen === 0; });
  }
  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (!form) return;
    if (event.target.matches("[data-select-all]")) {
      form.querySelectorAll('input[type=checkbox][name=documents]').forEach(function (b) {
        b.checked = event.target.checked;
      });
    }
    update(form);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form").forEach(function (form) {
      if (form.querySelector("[data-select-all]")) update(form);
    });
  });
})();
