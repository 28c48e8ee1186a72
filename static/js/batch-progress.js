/* Live progress of a batch issue (templates/signing/batch_progress.html).
 *
 * Asks the status endpoint once a second until the batch has finished and
 * redraws the bar, the summary and the per-document rows. All text (statuses,
 * error messages) comes translated from the server and is inserted with
 * textContent, never as HTML. Without JavaScript the page shows the state at
 * load time and a refresh link.
 */
(function () {
  "use strict";

  var INTERVAL_MS = 1000;

  function cell(row, text, href) {
    var td = document.createElement("td");
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      td.appendChild(a);
    } else {
      td.textContent = text;
    }
    row.appendChild(td);
    return td;
  }

  function draw(root, data, pdfLabel) {
    root.querySelector('[data-batch="status"]').textContent = data.status_display;
    var bar = root.querySelector('[data-batch="bar"]');
    bar.max = Math.max(data.total, 1);
    bar.value = data.done;
    bar.textContent = data.done + "/" + data.total;
    root.querySelector('[data-batch="summary"]').textContent = data.summary;
    var body = root.querySelector('[data-batch="items"]');
    var rows = document.createDocumentFragment();
    data.items.forEach(function (item, index) {
      var tr = document.createElement("tr");
      tr.dataset.status = item.status;
      cell(tr, String(index + 1));
      cell(tr, item.title, item.url);
      var result = cell(tr, item.status_display);
      if (item.message) {
        result.appendChild(document.createTextNode(": "));
        var span = document.createElement("span");
        span.className = "batch-error";
        span.textContent = item.message;
        result.appendChild(span);
      }
      cell(tr, item.symbol);
      cell(tr, item.pdf_url ? pdfLabel : "", item.pdf_url || null);
      rows.appendChild(tr);
    });
    body.replaceChildren(rows);
    root.dataset.finished = data.finished ? "1" : "0";
  }

  function start(root) {
    var url = root.dataset.statusUrl;
    var template = document.getElementById("batch-pdf-label");
    var pdfLabel = template ? template.content.textContent.trim() : "PDF";
    if (!url || root.dataset.finished === "1") return;

    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin",
                   cache: "no-store" })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (data) {
          draw(root, data, pdfLabel);
          if (!data.finished) window.setTimeout(poll, INTERVAL_MS);
        })
        .catch(function () {
          // A lost request (server restart, network blip) is retried, more slowly.
          window.setTimeout(poll, INTERVAL_MS * 3);
        });
    }

    window.setTimeout(poll, INTERVAL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("batch-progress");
    if (root) start(root);
  });
})();
