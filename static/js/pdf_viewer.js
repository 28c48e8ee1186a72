/* An in-page PDF viewer on pdf.js, for browsers without a PDF viewer of their own
 * (Android tablets) and so every delegate sees the same thing.
 *
 * pdf.js comes from the npm registry (pdfjs-dist), copied into static/vendor/pdfjs
 * by scripts/build_assets.sh; nothing of it is in git. The page says where it is
 * with data-pdfjs-* attributes on the element that holds the viewer. When the
 * library is missing or cannot load, open() rejects and the caller falls back to
 * the browser's own viewer.
 *
 * Pages are laid out at once (their sizes are known) and drawn on canvases only
 * when they scroll near the view, so a 200-page dossier opens as fast as a
 * 2-page note.
 */
(function () {
  "use strict";

  var libraries = {};
  var MIN_SCALE = 0.4;
  var MAX_SCALE = 4;

  function library(cfg) {
    if (!cfg || !cfg.lib) return Promise.reject(missing(new Error("pdf.js is not installed")));
    if (!libraries[cfg.lib]) {
      // A dynamic import() works from this classic script; a failed load is retried next time.
      libraries[cfg.lib] = import(cfg.lib).then(function (lib) {
        lib.GlobalWorkerOptions.workerSrc = cfg.worker;
        return lib;
      }, function (error) {
        delete libraries[cfg.lib];
        throw missing(error);
      });
    }
    return libraries[cfg.lib];
  }

  // Marks "the viewer itself is unavailable" apart from "this file cannot be read".
  function missing(error) {
    error.viewerMissing = true;
    return error;
  }

  function config(node) {
    var data = node.dataset;
    return { lib: data.pdfjs, worker: data.pdfjsWorker, fonts: data.pdfjsFonts, wasm: data.pdfjsWasm };
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function button(label, title, handler) {
    var b = el("button", "btn btn-sm btn-ghost", label);
    b.type = "button";
    b.title = title;
    b.setAttribute("aria-label", title);
    b.addEventListener("click", handler);
    return b;
  }

  /* Open `url` inside `container`. `T` holds the translated labels (page, previous, next,
   * zoom_in, zoom_out, fit_width, page_failed). Returns a handle at once: handle.ready
   * resolves once page 1 is laid out and rejects when the library or the file cannot be
   * loaded; handle.destroy() stops everything (another paper was chosen). */
  function open(container, url, cfg, T, startPage) {
    T = T || {};
    var handle = { destroyed: false };
    handle.destroy = function () {
      handle.destroyed = true;
      if (handle.task) handle.task.destroy();
    };
    handle.ready = library(cfg).then(function (lib) {
      if (handle.destroyed) throw new Error("closed");
      var task = lib.getDocument({
        url: url,
        withCredentials: true,
        isEvalSupported: false,
        standardFontDataUrl: cfg.fonts || undefined,
        wasmUrl: cfg.wasm || undefined
      });
      handle.task = task;
      return task.promise;
    }).then(function (pdf) {
      if (handle.destroyed) { pdf.destroy(); return handle; }
      return build(container, pdf, T, handle, startPage || 1);
    });
    return handle;
  }

  function build(container, pdf, T, handle, startPage) {
    var count = pdf.numPages;
    container.textContent = "";
    var toolbar = el("div", "pdf-toolbar btn-row");
    var pageInput = el("input", "pdf-page-input");
    pageInput.type = "number";
    pageInput.min = "1";
    pageInput.max = String(count);
    pageInput.value = "1";
    pageInput.setAttribute("aria-label", T.page || "Page");
    var zoomLabel = el("span", "pdf-zoom muted");
    var pagesBox = el("div", "pdf-pages");
    pagesBox.tabIndex = 0;
    pagesBox.setAttribute("role", "document");
    var slots = [];
    var scale = null;       // CSS pixels per PDF point; null until fitted to the width
    var fitted = true;      // follow the container's width until the reader zooms
    var baseSize = null;    // page 1 at scale 1: the fit-to-width reference
    var observer = null;

    toolbar.appendChild(button("‹", T.previous || "Previous page", function () { goTo(current() - 1); }));
    var where = el("label", "pdf-where");
    where.appendChild(document.createTextNode((T.page || "Page") + " "));
    where.appendChild(pageInput);
    where.appendChild(document.createTextNode(" / " + count));
    toolbar.appendChild(where);
    toolbar.appendChild(button("›", T.next || "Next page", function () { goTo(current() + 1); }));
    toolbar.appendChild(button("−", T.zoom_out || "Zoom out", function () { zoom(scale / 1.25); }));
    toolbar.appendChild(zoomLabel);
    toolbar.appendChild(button("+", T.zoom_in || "Zoom in", function () { zoom(scale * 1.25); }));
    toolbar.appendChild(button("↔", T.fit_width || "Fit width", function () { fitted = true; layout(); }));
    pageInput.addEventListener("change", function () { goTo(parseInt(pageInput.value, 10) || 1); });

    container.appendChild(toolbar);
    container.appendChild(pagesBox);

    for (var n = 1; n <= count; n++) {
      var slot = el("div", "pdf-page");
      slot.dataset.page = String(n);
      slot.setAttribute("aria-label", (T.page || "Page") + " " + n);
      pagesBox.appendChild(slot);
      slots.push({ node: slot, page: null, drawn: null, task: null, size: null });
    }

    function current() {
      var top = pagesBox.scrollTop + pagesBox.clientHeight / 3;
      for (var i = 0; i < slots.length; i++) {
        var node = slots[i].node;
        if (node.offsetTop + node.offsetHeight > top) return i + 1;
      }
      return count;
    }

    function goTo(page) {
      page = Math.max(1, Math.min(count, page));
      pageInput.value = String(page);
      pagesBox.scrollTop = slots[page - 1].node.offsetTop - pagesBox.offsetTop;
    }

    function zoom(next) {
      fitted = false;
      scale = Math.max(MIN_SCALE, Math.min(MAX_SCALE, next));
      layout();
    }

    function fitScale() {
      var width = pagesBox.clientWidth - 16;
      return Math.max(MIN_SCALE, Math.min(MAX_SCALE, width / baseSize.width));
    }

    // Every page gets its box at the current scale (pages not yet fetched take page 1's
    // size), then the visible ones are drawn.
    function layout() {
      var keep = current();
      if (fitted) scale = fitScale();
      zoomLabel.textContent = Math.round(scale * 100) + "%";
      slots.forEach(function (slot) {
        var size = slot.size || baseSize;
        slot.node.style.width = Math.floor(size.width * scale) + "px";
        slot.node.style.height = Math.floor(size.height * scale) + "px";
        if (slot.drawn !== null && slot.drawn !== scale) slot.stale = true;
      });
      goTo(keep);
      slots.forEach(function (slot) { if (slot.visible) draw(slot); });
    }

    function draw(slot) {
      if (handle.destroyed || (slot.drawn === scale && !slot.stale) || slot.busy) return;
      slot.busy = true;
      var index = slots.indexOf(slot) + 1;
      var want = scale;
      (slot.page ? Promise.resolve(slot.page) : pdf.getPage(index)).then(function (page) {
        slot.page = page;
        var viewport = page.getViewport({ scale: want });
        slot.size = page.getViewport({ scale: 1 });
        var ratio = window.devicePixelRatio || 1;
        var canvas = el("canvas");
        canvas.width = Math.floor(viewport.width * ratio);
        canvas.height = Math.floor(viewport.height * ratio);
        canvas.style.width = Math.floor(viewport.width) + "px";
        canvas.style.height = Math.floor(viewport.height) + "px";
        slot.node.style.width = canvas.style.width;
        slot.node.style.height = canvas.style.height;
        slot.task = page.render({
          canvasContext: canvas.getContext("2d"),
          viewport: viewport,
          transform: ratio !== 1 ? [ratio, 0, 0, ratio, 0, 0] : null
        });
        return slot.task.promise.then(function () {
          slot.node.textContent = "";
          slot.node.appendChild(canvas);
          slot.drawn = want;
          slot.stale = false;
        });
      }).catch(function (error) {
        if (error && error.name === "RenderingCancelledException") return;
        slot.node.classList.add("pdf-page-failed");
        slot.node.textContent = T.page_failed || "This page could not be displayed.";
      }).then(function () {
        slot.busy = false;
        if (slot.visible && slot.drawn !== scale) draw(slot);
      });
    }

    return pdf.getPage(1).then(function (first) {
      baseSize = first.getViewport({ scale: 1 });
      slots[0].page = first;
      slots[0].size = baseSize;
      observer = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          var slot = slots[parseInt(entry.target.dataset.page, 10) - 1];
          slot.visible = entry.isIntersecting;
          if (slot.visible) draw(slot);
        });
      }, { root: pagesBox, rootMargin: "400px 0px" });
      slots.forEach(function (slot) { observer.observe(slot.node); });
      pagesBox.addEventListener("scroll", function () {
        if (document.activeElement !== pageInput) pageInput.value = String(current());
      }, { passive: true });
      var resized = null;
      handle.onResize = function () {
        if (!fitted) return;
        clearTimeout(resized);
        resized = setTimeout(layout, 150);
      };
      window.addEventListener("resize", handle.onResize);
      layout();
      goTo(startPage);
      handle.goTo = goTo;
      handle.pages = count;
      handle.destroy = function () {
        handle.destroyed = true;
        if (observer) observer.disconnect();
        window.removeEventListener("resize", handle.onResize);
        slots.forEach(function (slot) { if (slot.task) slot.task.cancel(); });
        pdf.destroy();
      };
      container.dataset.pdfPages = String(count);
      return handle;
    });
  }

  window.MTTQPdfViewer = { open: open, config: config };

  // A page whose only job is to show one PDF (the "open at page" links of search).
  document.addEventListener("DOMContentLoaded", function () {
    var holder = document.getElementById("pdf-viewer");
    if (!holder) return;
    var T = JSON.parse(document.getElementById("pdf-viewer-i18n").textContent);
    var page = parseInt(holder.dataset.page, 10) || 1;
    open(holder, holder.dataset.src, config(holder), T, page)
      .ready.catch(function (error) {
        if (error && error.viewerMissing) {
          // No pdf.js on this server: the browser's own viewer, at the page.
          window.location.replace(holder.dataset.src + "#page=" + page);
          return;
        }
        holder.textContent = "";
        var fallback = document.getElementById("pdf-viewer-fallback");
        if (fallback) fallback.hidden = false;
      });
  });
})();
