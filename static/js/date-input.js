/* Dates typed and shown as dd/mm/yyyy (and dd/mm/yyyy HH:mm), whatever the browser's
 * own locale: a native date input follows the browser (mm/dd/yyyy in an English
 * browser), which clerks misread.
 *
 * Each input[type=date] / input[type=datetime-local] becomes a text field in the
 * Vietnamese order; the form sends the ISO value the server expects (converted when the
 * browser builds the form data). Without JavaScript the native input stays.
 */
(function () {
  "use strict";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function toDisplay(iso, withTime) {
    var m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(iso || "");
    if (!m) return "";
    var text = m[3] + "/" + m[2] + "/" + m[1];
    if (withTime && m[4]) text += " " + m[4] + ":" + m[5];
    return text;
  }

  function toIso(text, withTime) {
    // Also accept the ISO form (pasted from elsewhere): 2025-03-02 or 2025-03-02T08:30.
    var iso = /^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?\s*$/.exec(text || "");
    if (iso) text = iso[3] + "/" + iso[2] + "/" + iso[1] + (iso[4] ? " " + iso[4] + ":" + iso[5] : "");
    var m = /^\s*(\d{1,2})[\/.\-](\d{1,2})[\/.\-](\d{4})(?:\s+(\d{1,2})[:h](\d{2}))?\s*$/.exec(text || "");
    if (!m) return null;
    var d = parseInt(m[1], 10), mo = parseInt(m[2], 10), y = parseInt(m[3], 10);
    var check = new Date(y, mo - 1, d);
    if (check.getFullYear() !== y || check.getMonth() !== mo - 1 || check.getDate() !== d) return null;
    var iso = y + "-" + pad(mo) + "-" + pad(d);
    if (withTime) {
      var h = m[4] ? parseInt(m[4], 10) : 0, mi = m[5] ? parseInt(m[5], 10) : 0;
      if (h > 23 || mi > 59) return null;
      iso += "T" + pad(h) + ":" + pad(mi);
    }
    return iso;
  }

  function enhance(input) {
    if (input.dataset.vnDate) return;
    var withTime = input.type === "datetime-local";
    var value = input.value;
    input.dataset.vnDate = withTime ? "datetime" : "date";
    // The field itself becomes text in the Vietnamese order; what is sent is converted
    // back to ISO when the form data is built (the "formdata" listener below).
    input.type = "text";
    input.value = toDisplay(value, withTime);
    input.classList.add("vn-date");
    input.inputMode = "numeric";
    input.autocomplete = "off";
    if (!input.placeholder) input.placeholder = withTime ? "dd/mm/yyyy hh:mm" : "dd/mm/yyyy";
    function check() {
      var text = input.value.trim();
      input.setCustomValidity(!text || toIso(text, withTime) ? "" : input.placeholder);
    }
    input.addEventListener("input", check);
    input.addEventListener("change", check);
  }

  document.addEventListener("formdata", function (event) {
    var form = event.target;
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.dataset || !field.dataset.vnDate || !field.name) return;
      var iso = toIso(field.value, field.dataset.vnDate === "datetime");
      event.formData.set(field.name, iso || field.value);
    });
  });

  function run(root) {
    (root || document).querySelectorAll('input[type="date"], input[type="datetime-local"]').forEach(enhance);
  }

  document.addEventListener("DOMContentLoaded", function () { run(document); });
  document.addEventListener("htmx:afterSwap", function (event) { run(event.target); });
  window.MTTQDateInputs = { run: run, toIso: toIso, toDisplay: toDisplay };
})();
