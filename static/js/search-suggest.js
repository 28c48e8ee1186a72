/* Typeahead for document numbers and symbols in the header search box (e.g. "05/KH").
 *
 * A WAI-ARIA combobox: the input keeps focus, ArrowDown/ArrowUp move through the
 * list (aria-activedescendant), Enter opens the chosen symbol's search, Escape
 * closes the list. Only input that looks like a number or symbol (starts with a
 * digit, or contains "/" or "-") asks the server; words are left to the search.
 * Without JavaScript the box is a plain search form.
 */
(function () {
  "use strict";

  var SYMBOL_LIKE = /^\s*\d|[\/-]/;
  var DELAY_MS = 150;

  function setup(input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var status = document.getElementById(input.dataset.suggestStatus);
    var url = input.dataset.suggestUrl;
    if (!list || !url) return;
    var timer = null;
    var controller = null;
    var items = [];
    var active = -1;
    var lastQuery = "";

    function announce(text) {
      if (status) status.textContent = text;
    }

    function close() {
      list.hidden = true;
      list.innerHTML = "";
      items = [];
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      items.forEach(function (item, i) {
        item.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      active = index;
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function choose(index) {
      var symbol = items[index] && items[index].dataset.value;
      if (!symbol) return;
      input.value = symbol;
      close();
      input.form.submit();
    }

    function show(symbols) {
      list.innerHTML = "";
      items = symbols.map(function (symbol, i) {
        var option = document.createElement("li");
        option.id = list.id + "-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.className = "suggest-option";
        option.dataset.value = symbol;
        option.textContent = symbol;
        list.appendChild(option);
        return option;
      });
      active = -1;
      if (items.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        announce((input.dataset.suggestCount || "%s").replace("%s", items.length));
      } else {
        close();
        announce("");
      }
    }

    function fetchSuggestions() {
      var query = input.value.trim();
      if (query === lastQuery) return;
      lastQuery = query;
      if (!query || !SYMBOL_LIKE.test(query)) {
        close();
        return;
      }
      if (controller) controller.abort();
      controller = window.AbortController ? new AbortController() : null;
      fetch(url + "?q=" + encodeURIComponent(query), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: controller ? controller.signal : undefined,
      })
        .then(function (response) {
          return response.ok ? response.json() : { suggestions: [] };
        })
        .then(function (data) {
          if (input.value.trim() === query) show(data.suggestions || []);
        })
        .catch(function () { /* aborted or offline: no list */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, DELAY_MS);
    });

    input.addEventListener("keydown", function (event) {
      if (list.hidden || !items.length) {
        if (event.key === "ArrowDown" && input.value.trim()) {
          lastQuery = "";
          fetchSuggestions();
        }
        return;
      }
      switch (event.key) {
        case "ArrowDown":
          event.preventDefault();
          highlight(active + 1 >= items.length ? 0 : active + 1);
          break;
        case "ArrowUp":
          event.preventDefault();
          highlight(active <= 0 ? items.length - 1 : active - 1);
          break;
        case "Enter":
          if (active >= 0) {
            event.preventDefault();
            choose(active);
          }
          break;
        case "Escape":
          event.preventDefault();
          close();
          break;
        case "Tab":
          close();
          break;
      }
    });

    // mousedown, not click: the input must not lose focus before the choice is read.
    list.addEventListener("mousedown", function (event) {
      var option = event.target.closest("[role=option]");
      if (!option) return;
      event.preventDefault();
      choose(items.indexOf(option));
    });

    input.addEventListener("blur", function () {
      setTimeout(close, 100);
    });
  }

  function init() {
    document.querySelectorAll("input[data-suggest-url]").forEach(setup);
  }

  if (document.readyState !== "loading") init();
  else document.addEventListener("DOMContentLoaded", init);
})();
