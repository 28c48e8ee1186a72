/* Small enhancements for the MTTQ e-Office pages. Every page works without them. */
(function () {
  "use strict";

  // Vietnamese users often type without accents: compare folded text.
  function fold(text) {
    return (text || "")
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .replace(/đ/g, "d")
      .replace(/Đ/g, "D")
      .toLowerCase()
      .trim();
  }

  function onReady(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  // Times are shown in the person's own zone (workflow.middleware.UserTimezoneMiddleware).
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("mttq_tz=" + zone) === -1) {
      document.cookie = "mttq_tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
    }
  } catch (e) { /* no Intl: the site's zone is used */ }

  // Close buttons on messages.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss]");
    if (button) button.parentElement.remove();
  });

  // A reason is mandatory for some actions (return, withdraw): ask before sending.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-needs-reason]");
    if (!button || !button.form) return;
    var reason = button.form.querySelector("textarea[name=comment]");
    if (!reason) return;
    if (!reason.value.trim()) {
      event.preventDefault();
      reason.setCustomValidity(button.dataset.needsReason);
      reason.reportValidity();
      reason.focus();
    }
  });
  document.addEventListener("input", function (event) {
    if (event.target.matches("textarea[name=comment]")) event.target.setCustomValidity("");
  });

  // Double-click protection: a form marked data-once is sent once. The server
  // also refuses a repeated action (expected_state), this just avoids the noise.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-once]") || event.defaultPrevented) return;
    if (form.dataset.sending === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.sending = "1";
    form.classList.add("is-busy");
    // After the submit has collected the clicked button's value.
    setTimeout(function () {
      form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
        b.disabled = true;
      });
    }, 0);
  });
  // htmx forms stay on the page: let them be used again once the answer is in.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target.closest && event.target.closest("form[data-once]");
    if (!form) return;
    delete form.dataset.sending;
    form.classList.remove("is-busy");
    form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
  });
  // Coming back with the browser's back button must not leave buttons disabled.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      delete form.dataset.sending;
      form.classList.remove("is-busy");
      form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
    });
  });

  // Drafting department: only the chosen issuing unit's departments.
  function linkUnitAndDepartment() {
    var unit = document.getElementById("id_unit");
    var department = document.getElementById("id_drafting_department");
    if (!unit || !department) return;
    function apply() {
      Array.prototype.forEach.call(department.options, function (option) {
        var owner = option.getAttribute("data-unit");
        var hide = owner !== null && owner !== unit.value;
        option.hidden = hide;
        option.disabled = hide;
        if (hide && option.selected) department.value = "";
      });
    }
    unit.addEventListener("change", apply);
    apply();
  }

  // Long unit lists: a filter box, click-to-toggle without Ctrl, and a count.
  function enhanceMultiSelect(select) {
    if (select.dataset.enhanced) return;
    select.dataset.enhanced = "1";
    var filter = document.createElement("input");
    filter.type = "search";
    filter.className = "option-filter";
    filter.placeholder = select.closest("form").dataset.filterPlaceholder || "…";
    filter.setAttribute("aria-label", filter.placeholder);
    select.parentNode.insertBefore(filter, select);
    var count = document.createElement("span");
    count.className = "selected-count";
    select.parentNode.insertBefore(count, select.nextSibling);
    var template = select.closest("form").dataset.selectedTemplate || "{n}";

    function updateCount() {
      count.textContent = template.replace("{n}", select.selectedOptions.length);
    }
    filter.addEventListener("input", function () {
      var wanted = fold(filter.value);
      Array.prototype.forEach.call(select.options, function (option) {
        option.hidden = wanted !== "" && fold(option.textContent).indexOf(wanted) === -1;
      });
    });
    select.addEventListener("mousedown", function (event) {
      var option = event.target;
      if (option.tagName !== "OPTION" || event.shiftKey) return;
      event.preventDefault();
      var top = select.scrollTop;
      option.selected = !option.selected;
      select.focus();
      select.scrollTop = top;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    select.addEventListener("change", updateCount);
    updateCount();
  }

  onReady(function () {
    linkUnitAndDepartment();
    document.querySelectorAll("select[multiple][data-filterable]").forEach(enhanceMultiSelect);
  });
})();
