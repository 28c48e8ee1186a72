/* Dates typed and shown as dd/mm/yyyy (and dd/mm/yyyy HH:mm), whatever the browser's
 * own locale: a native date input follows the browser (mm/dd/yyyy in an English
 * browser), which clerks misread.
 *
 * Each input[type=date] / input[type=datetime-local] becomes a hidden field that keeps
 * the ISO value the server expects, with a text field beside it in the Vietnamese
 * order. Without JavaScript the native input stays.
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
    var text = document.createElement("input");
    text.type = "text";
    text.className = "vn-date" + (input.className ? " " + input.className : "");
    text.inputMode = "numeric";
    text.autocomplete = "off";
    text.placeholder = withTime ? "dd/mm/yyyy hh:mm" : "dd/mm/yyyy";
    text.value = toDisplay(input.value, withTime);
    if (input.required) text.required = true;
    if (input.id) { text.id = input.id; input.id = input.id + "-iso"; }
    var label = input.getAttribute("aria-label");
    if (label) text.setAttribute("aria-label", label);
    input.dataset.vnDate = "1";
    input.type = "hidden";
    input.parentNode.insertBefore(text, input);
    function sync() {
      var value = text.value.trim();
      if (!value) { input.value = ""; text.setCustomValidity(""); return; }
      var iso = toIso(value, withTime);
      input.value = iso || "";
      text.setCustomValidity(iso ? "" : text.placeholder);
    }
    text.addEventListener("input", sync);
    text.addEventListener("change", sync);
  }

  function run(root) {
    (root || document).querySelectorAll('input[type="date"], input[type="datetime-local"]').forEach(enhance);
  }

  document.addEventListener("DOMContentLoaded", function () { run(document); });
  document.addEventListener("htmx:afterSwap", function (event) { run(event.target); });
  window.MTTQDateInputs = { run: run, toIso: toIso, toDisplay: toDisplay };
})();
