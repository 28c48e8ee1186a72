/* The signing moment: the PDF being signed, the capacity and key, then progress.
 *
 * - [data-preview-src]: shows that PDF in the page's own viewer (pdf_viewer.js), or in
 *   the browser's viewer when pdf.js is not installed.
 * - form[data-sign-progress]: on submit, the buttons are disabled and a progress bar
 *   with the elapsed seconds shows until the server answers (signing takes seconds).
 * - button[data-sign-dialog]: on the document page, opens the <dialog> with the panel
 *   instead of signing at once; the dialog's form posts to the button's data-url.
 *   Without JavaScript those buttons submit the decision form as before.
 */
(function () {
  "use strict";

  function strings() {
    var node = document.getElementById("pdf-viewer-i18n");
    try { return node ? JSON.parse(node.textContent) : {}; } catch (e) { return {}; }
  }

  function frame(holder, src) {
    var iframe = document.createElement("iframe");
    iframe.src = src;
    iframe.className = "sign-pdf-frame";
    iframe.title = holder.getAttribute("aria-label") || "PDF";
    holder.replaceChildren(iframe);
  }

  function showPreview(holder) {
    if (!holder || holder.dataset.loaded) return;
    holder.dataset.loaded = "1";
    var src = holder.dataset.previewSrc;
    var viewer = window.MTTQPdfViewer;
    if (!viewer) { frame(holder, src); return; }
    holder.textContent = "";
    viewer.open(holder, src, viewer.config(holder), strings(), 1).ready.catch(function () {
      frame(holder, src);
    });
  }

  function startProgress(form) {
    var box = form.querySelector("[data-progress]");
    form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
      b.disabled = true;
    });
    form.setAttribute("aria-busy", "true");
    if (!box) return;
    box.hidden = false;
    var elapsed = box.querySelector("[data-progress-elapsed]");
    var started = Date.now();
    window.setInterval(function () {
      if (elapsed) elapsed.textContent = Math.round((Date.now() - started) / 1000) + " s";
    }, 500);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-sign-progress]");
    if (!form || event.defaultPrevented) return;
    // Disable after the browser has taken the submitter's value.
    window.setTimeout(function () { startProgress(form); }, 0);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-sign-dialog]");
    if (!button) return;
    var dialog = document.getElementById(button.dataset.signDialog);
    if (!dialog || typeof dialog.showModal !== "function") return;
    event.preventDefault();
    var form = dialog.querySelector("form");
    form.action = button.dataset.url;
    var title = dialog.querySelector("[data-dialog-title]");
    if (title) title.textContent = button.dataset.title || button.textContent;
    var submit = form.querySelector("button[type=submit]");
    if (submit) submit.textContent = button.dataset.confirm || button.textContent;
    // The opinion typed in the decision form goes with the signature.
    var comment = button.form && button.form.querySelector("textarea[name=comment]");
    var hidden = form.querySelector("input[name=comment]");
    if (comment && hidden) hidden.value = comment.value;
    dialog.showModal();
    showPreview(dialog.querySelector("[data-preview-src]"));
  });

  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-dialog-close]");
    if (!close) return;
    var dialog = close.closest("dialog");
    if (dialog && !dialog.querySelector("form[aria-busy=true]")) dialog.close();
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-preview-src]").forEach(function (holder) {
      if (!holder.closest("dialog")) showPreview(holder);
    });
  });
})();
