/* The meeting room: polls a small JSON endpoint keyed on the room version and
 * redraws agenda, papers, speakers and votes. No framework, no third-party code.
 *
 * The server answers 304 while nothing changed, so an idle room costs one tiny
 * request per second per delegate. A delegate whose connection drops keeps an
 * old version; the first poll that gets through returns the whole current state.
 */
(function () {
  "use strict";

  var root = document.getElementById("room");
  if (!root) return;
  var T = JSON.parse(document.getElementById("room-i18n").textContent);
  var state = JSON.parse(document.getElementById("room-state-data").textContent);
  var stateUrl = root.dataset.stateUrl;
  var opUrl = root.dataset.opUrl;
  var pollMs = parseInt(root.dataset.pollMs, 10) || 1000;
  var csrf = root.dataset.csrf;

  var selectedItem = null;    // the item whose papers are listed
  var followedItem = null;    // the current item we last followed
  var openPaper = null;       // id of the paper in the viewer
  var failures = 0;

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else if (key.indexOf("data-") === 0 || key.indexOf("aria-") === 0) node.setAttribute(key, attrs[key]);
      else node[key] = attrs[key];
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, key) { return values[key]; });
  }

  function setLive(ok) {
    var live = $("live");
    live.dataset.status = ok ? "ok" : "lost";
    live.textContent = ok ? T.live : T.reconnecting;
  }

  function showError(message) {
    var box = $("messages");
    if (!box) { window.alert(message); return; }
    var div = el("div", { className: "message message-error", role: "alert" },
      [el("span", { className: "message-text", text: message })]);
    box.appendChild(div);
    setTimeout(function () { div.remove(); }, 6000);
  }

  // --- talking to the server ---------------------------------------------------------------

  function post(op, body) {
    return fetch(opUrl.replace("OP", op), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { showError(data.message || T.error); return; }
        apply(data);
      });
    }).catch(function () { showError(T.error); });
  }

  function poll() {
    fetch(stateUrl + "?v=" + encodeURIComponent(state.v), {
      credentials: "same-origin", cache: "no-store"
    }).then(function (response) {
      if (response.status === 304) { return null; }
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (data) {
      failures = 0;
      setLive(true);
      if (data) apply(data);
    }).catch(function () {
      failures += 1;
      setLive(false);
    }).then(function () {
      // Back off gently while the network is down, never beyond 5 s.
      setTimeout(poll, failures ? Math.min(5000, pollMs * (1 + failures)) : pollMs);
    });
  }

  // --- drawing -------------------------------------------------------------------------------

  function apply(data) {
    state = data;
    if (state.current_item !== followedItem) {
      // Everyone follows the secretary to the new current item.
      followedItem = state.current_item;
      if (state.current_item) selectedItem = state.current_item;
    }
    if (!selectedItem && state.items.length) selectedItem = state.items[0].id;
    render();
  }

  function render() {
    $("room-state").textContent = state.state_label;
    root.dataset.state = state.state;
    root.dataset.version = state.v;
    $("attendance-count").textContent = format(T.checked_in, {
      n: state.attendance.checked_in, total: state.attendance.total
    });
    $("my-attendance").textContent = state.me.attendance_label ? T.your_attendance + " " + state.me.attendance_label : "";
    $("check-in").hidden = !state.me.can_check_in;
    $("item-controls").hidden = !state.me.can_run;
    var notice = $("room-not-started");
    if (notice && state.state !== "published") notice.hidden = true;
    renderItems();
    renderPapers();
    renderSpeakers();
    renderVotes();
  }

  function renderItems() {
    var list = $("items");
    list.textContent = "";
    state.items.forEach(function (item) {
      var isCurrent = item.id === state.current_item;
      var li = el("li", {
        className: "room-item" + (isCurrent ? " is-current" : "") + (item.id === selectedItem ? " is-selected" : ""),
        "data-item": item.id
      });
      if (isCurrent) li.setAttribute("aria-current", "step");
      var button = el("button", { type: "button", className: "item-button" }, [
        el("span", { className: "item-title", text: item.order + ". " + item.title }),
        el("span", { className: "muted small", text: [item.time, item.presenter].filter(Boolean).join(" · ") })
      ]);
      button.addEventListener("click", function () { selectedItem = item.id; render(); });
      li.appendChild(button);
      if (isCurrent) li.appendChild(el("span", { className: "badge now-badge", text: T.current }));
      if (state.me.can_run && !isCurrent) {
        var make = el("button", { type: "button", className: "btn btn-sm btn-ghost make-current", text: T.make_current });
        make.addEventListener("click", function () { post("set_item", { item: item.id }); });
        li.appendChild(make);
      }
      list.appendChild(li);
    });
  }

  function currentItemData() {
    for (var i = 0; i < state.items.length; i++) {
      if (state.items[i].id === selectedItem) return state.items[i];
    }
    return null;
  }

  function renderPapers() {
    var item = currentItemData();
    var list = $("papers");
    list.textContent = "";
    $("papers-item").textContent = item ? "— " + item.title : "";
    if (!item || !item.papers.length) {
      list.appendChild(el("li", { className: "muted", text: T.no_papers }));
      return;
    }
    item.papers.forEach(function (paper) {
      var meta = [paper.symbol, paper.type, paper.pages ? paper.pages + " " + T.pages : ""].filter(Boolean).join(" · ");
      var open = el("button", { type: "button", className: "paper-button", "data-paper": paper.id }, [
        el("span", { className: "paper-title", text: paper.title }),
        el("span", { className: "muted small", text: meta })
      ]);
      open.addEventListener("click", function () { showPaper(paper); });
      var li = el("li", { className: paper.id === openPaper ? "is-open" : "" }, [open]);
      if (paper.changed) li.appendChild(el("span", { className: "badge badge-warn", text: T.changed }));
      list.appendChild(li);
    });
  }

  // PDFs open in the page's own viewer (pdf.js, static/js/pdf_viewer.js), which works on
  // tablets without a PDF viewer; without pdf.js, the browser's viewer in an <object>.
  // When the file cannot be read: a clear message and the download link.
  var pdfConfig = window.MTTQPdfViewer ? window.MTTQPdfViewer.config(root) : null;
  var pdfHandle = null;

  function showPaper(paper) {
    openPaper = paper.id;
    if (pdfHandle) { pdfHandle.destroy(); pdfHandle = null; }
    var viewer = $("viewer");
    viewer.textContent = "";
    var full = paper.view_url;
    if (paper.is_pdf && pdfConfig && pdfConfig.lib) {
      full = root.dataset.viewerUrl + "?src=" + encodeURIComponent(paper.view_url) +
        "&title=" + encodeURIComponent(paper.title);
    }
    var links = el("p", { className: "viewer-links btn-row" }, [
      el("a", { href: full, target: "_blank", rel: "noopener", className: "btn btn-sm btn-ghost", text: T.open_full }),
      paper.download_url ? el("a", { href: paper.download_url, className: "btn btn-sm btn-ghost", text: T.download }) : null
    ]);
    viewer.appendChild(el("h3", { className: "viewer-title", text: paper.title }));
    viewer.appendChild(links);
    if (paper.download_url && !paper.is_pdf) {
      viewer.appendChild(el("p", { className: "callout", text: T.not_pdf }));
    } else if (paper.is_pdf && pdfConfig && pdfConfig.lib) {
      var box = el("div", { className: "pdf-viewer" });
      viewer.appendChild(box);
      var handle = window.MTTQPdfViewer.open(box, paper.view_url, pdfConfig, T);
      pdfHandle = handle;
      handle.ready.catch(function (error) {
        if (pdfHandle !== handle || openPaper !== paper.id) return;
        viewer.removeChild(box);
        if (error && error.viewerMissing) showNative(paper, viewer);
        else failed(viewer);
      });
    } else {
      showNative(paper, viewer);
    }
    loadNote(paper);
    renderPapers();
  }

  function showNative(paper, viewer) {
    fetch(paper.view_url, { method: "HEAD", credentials: "same-origin" }).then(function (response) {
      if (openPaper !== paper.id) return;
      if (!response.ok) { throw new Error(String(response.status)); }
      var frame;
      if (paper.is_pdf) {
        frame = el("object", { data: paper.view_url, type: "application/pdf", className: "viewer-frame" }, [
          el("p", { className: "callout", text: T.no_pdf_viewer }),
          el("p", {}, [el("a", { href: paper.download_url, text: T.download })])
        ]);
      } else {
        frame = el("iframe", { src: paper.view_url, className: "viewer-frame", title: paper.title });
      }
      frame.addEventListener("error", function () { failed(viewer); });
      viewer.appendChild(frame);
    }).catch(function () { failed(viewer); });
  }

  function failed(viewer) {
    var message = viewer.querySelector(".render-failed");
    if (!message) viewer.appendChild(el("p", { className: "callout callout-warn render-failed", role: "alert", text: T.render_failed }));
  }

  // --- private notes ---------------------------------------------------------------------------

  var noteTimer = null;
  var noteUrl = null;
  var noteDirty = false;

  function loadNote(paper) {
    flushNote();
    noteUrl = paper.note_url;
    var box = $("note");
    var text = $("note-text");
    box.hidden = false;
    text.value = "";
    text.disabled = true;
    $("note-status").textContent = "";
    fetch(noteUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : { text: "" }; })
      .then(function (data) { text.value = data.text || ""; text.disabled = false; })
      .catch(function () { text.disabled = false; });
  }

  function saveNote() {
    if (!noteUrl || !noteDirty) return;
    noteDirty = false;
    var url = noteUrl;
    $("note-status").textContent = T.saving;
    fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ text: $("note-text").value })
    }).then(function (r) { return r.json().then(function (d) { return [r.ok, d]; }); })
      .then(function (res) {
        if (!res[0]) throw new Error(res[1].message || "");
        if (url === noteUrl) $("note-status").textContent = T.saved + " " + res[1].at;
      }).catch(function () {
        noteDirty = true;
        $("note-status").textContent = T.save_failed;
        clearTimeout(noteTimer);
        noteTimer = setTimeout(saveNote, 3000);
      });
  }

  function flushNote() { clearTimeout(noteTimer); saveNote(); }

  $("note-text").addEventListener("input", function () {
    noteDirty = true;
    clearTimeout(noteTimer);
    noteTimer = setTimeout(saveNote, 700);
  });
  $("note-text").addEventListener("blur", flushNote);
  window.addEventListener("pagehide", flushNote);

  // --- speakers and votes ----------------------------------------------------------------------

  function renderSpeakers() {
    var list = $("speakers");
    list.textContent = "";
    var mine = null;
    state.speakers.forEach(function (s) {
      if (s.mine) mine = s;
      list.appendChild(el("li", { className: "speaker speaker-" + s.state }, [
        el("span", { text: s.name + (s.mine ? " " + T.you : "") }),
        el("span", { className: "muted small", text: " — " + (s.state === "speaking" ? T.speaking : T.waiting) })
      ]));
    });
    if (!state.speakers.length) list.appendChild(el("li", { className: "muted", text: T.no_speakers }));
    $("speak").hidden = !state.me.can_speak || !!mine;
    $("withdraw-speak").hidden = !mine || mine.state !== "waiting";
    $("next-speaker").hidden = !state.me.can_run;
  }

  function renderVotes() {
    var box = $("votes");
    box.textContent = "";
    var anyOpen = false;
    state.votes.forEach(function (vote) {
      var card = el("div", { className: "vote vote-" + vote.state, "data-vote": vote.id });
      card.appendChild(el("p", { className: "vote-question" }, [
        el("strong", { text: vote.question }),
        el("span", { className: "muted small", text: " (" + (vote.secret ? T.secret : T.named) + ")" })
      ]));
      if (vote.state === "open") {
        anyOpen = true;
        card.appendChild(el("p", { className: "small", text: T.open_vote + " · " + vote.cast + "/" + vote.eligible + " " + T.ballots }));
        if (vote.voted) {
          card.appendChild(el("p", { className: "vote-done", text: T.voted + (vote.my_choice ? " (" + T[vote.my_choice] + ")" : "") }));
        } else if (state.me.can_vote) {
          var row = el("div", { className: "btn-row vote-buttons" });
          ["yes", "no", "abstain"].forEach(function (choice) {
            var b = el("button", { type: "button", className: "btn btn-vote btn-vote-" + choice, text: T[choice], "data-choice": choice });
            b.addEventListener("click", function () {
              row.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
              post("ballot", { vote: vote.id, choice: choice }).then(render);
            });
            row.appendChild(b);
          });
          card.appendChild(row);
        }
        if (state.me.can_manage_votes) {
          var close = el("button", { type: "button", className: "btn btn-sm btn-warning", text: T.close_vote });
          close.addEventListener("click", function () { post("close_vote", { vote: vote.id }); });
          card.appendChild(close);
        }
      } else if (vote.result) {
        card.appendChild(el("p", { className: "vote-result", text:
          T.result + ": " + T.yes + " " + vote.result.yes + " · " + T.no + " " + vote.result.no +
          " · " + T.abstain + " " + vote.result.abstain + " (" + vote.cast + "/" + vote.eligible + ")" }));
      }
      box.appendChild(card);
    });
    if (!state.votes.length) box.appendChild(el("p", { className: "muted", text: T.no_votes }));
    $("open-vote").hidden = !state.me.can_manage_votes || anyOpen;
    renderDockVote();
  }

  // --- tablet dock, vote alert, agenda drawer --------------------------------------------------

  var alerted = {};

  function ballotButtons(vote) {
    var row = el("div", { className: "btn-row vote-buttons" });
    ["yes", "no", "abstain"].forEach(function (choice) {
      var b = el("button", { type: "button", className: "btn btn-vote btn-vote-" + choice, text: T[choice], "data-choice": choice });
      b.addEventListener("click", function () {
        row.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
        post("ballot", { vote: vote.id, choice: choice }).then(render);
      });
      row.appendChild(b);
    });
    return row;
  }

  function renderDockVote() {
    var dock = $("dock-vote");
    if (!dock) return;
    dock.textContent = "";
    var open = state.votes.filter(function (v) { return v.state === "open"; })[0];
    if (!open) { $("vote-alert").hidden = true; return; }
    dock.appendChild(el("p", { className: "dock-question", text: open.question }));
    if (open.voted) {
      dock.appendChild(el("p", { className: "vote-done", text: T.voted }));
    } else if (state.me.can_vote) {
      dock.appendChild(ballotButtons(open));
    }
    // A vote the person has not answered yet: say so once, loudly.
    if (!alerted[open.id] && state.me.can_vote && !open.voted) {
      alerted[open.id] = true;
      $("vote-alert-text").textContent = format(T.vote_alert, { question: open.question });
      $("vote-alert").hidden = false;
      if (navigator.vibrate) { try { navigator.vibrate([200, 100, 200]); } catch (e) { /* ignore */ } }
    }
    if (open.voted) $("vote-alert").hidden = true;
  }

  function setDrawer(open) {
    var agenda = $("room-agenda");
    agenda.classList.toggle("is-open", open);
    $("drawer-backdrop").hidden = !open;
    $("agenda-toggle").setAttribute("aria-expanded", open ? "true" : "false");
  }
  $("agenda-toggle").addEventListener("click", function () {
    setDrawer(!$("room-agenda").classList.contains("is-open"));
  });
  $("drawer-backdrop").addEventListener("click", function () { setDrawer(false); });
  root.querySelectorAll("[data-drawer-close]").forEach(function (b) {
    b.addEventListener("click", function () { setDrawer(false); });
  });
  // Choosing an item in the drawer shows its papers: close the drawer on small screens.
  $("items").addEventListener("click", function (event) {
    if (event.target.closest(".item-button") && window.matchMedia("(max-width: 1180px)").matches) {
      setDrawer(false);
    }
  });
  $("vote-alert-close").addEventListener("click", function () { $("vote-alert").hidden = true; });
  $("vote-alert-go").addEventListener("click", function () { $("vote-alert").hidden = true; });

  // --- wiring ----------------------------------------------------------------------------------

  root.querySelectorAll("[data-op]").forEach(function (button) {
    button.addEventListener("click", function () { post(button.dataset.op); });
  });
  $("check-in").addEventListener("click", function () { post("check_in"); });
  $("open-vote").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    post("open_vote", { question: form.question.value, secret: form.secret.checked }).then(function () {
      form.reset();
    });
  });

  apply(state);
  setTimeout(poll, pollMs);
})();
