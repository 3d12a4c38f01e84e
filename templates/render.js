(function () {
  "use strict";
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  var options = {
    ast: true, // interpret expressions: no eval, so the page's CSP needs no 'unsafe-eval'
    renderer: "svg",
    actions: { export: true, source: false, compiled: false, editor: false },
    tooltip: { theme: dark ? "dark" : "light" }
  };
  if (dark) { options.theme = "dark"; }
  var charts = [];

  // Small multiples come laid out for paper (the static drawing, print, email); on screen
  // they take as many columns as the room beside them holds: usermeta.wrap gives one cell's
  // width and the width beside the cells (a legend).
  function columnsFor(wrap, target) {
    if (!wrap) { return null; }
    var room = (target.closest(".figures") || target.parentNode).clientWidth;
    return Math.max(1, Math.floor((room - (wrap.extra || 0)) / wrap.cell));
  }

  function setColumns(node, columns) {
    // a concatenation draws nothing when asked for more columns than it has panels
    if (node.columns !== undefined) {
      node.columns = node.concat ? Math.min(columns, node.concat.length) : columns;
    }
    (node.vconcat || []).forEach(function (child) { setColumns(child, columns); });
  }

  // A chart that may narrow (usermeta.fit: its width, the room its labels take beside it,
  // its least width) takes the room its figure has on a phone; never more than its width.
  function widthFor(fit, target) {
    if (!fit) { return null; }
    var room = (target.closest(".figures") || target.parentNode).clientWidth;
    return Math.max(fit.min, Math.min(fit.width, room - fit.extra));
  }

  function draw(chart) {
    var spec = JSON.parse(chart.source.textContent);
    chart.wrap = (spec.usermeta && spec.usermeta.wrap) || null;
    chart.fit = (spec.usermeta && spec.usermeta.fit) || null;
    var columns = columnsFor(chart.wrap, chart.target);
    if (columns !== null) { setColumns(spec, columns); }
    chart.columns = columns;
    chart.width = widthFor(chart.fit, chart.target);
    if (chart.width !== null) { spec.width = chart.width; }
    if (chart.view) { chart.view.finalize(); }
    return vegaEmbed(chart.target, spec, options).then(function (result) {
      chart.view = result;
      chart.target.setAttribute("data-rendered", "true");
      if (columns !== null) { chart.target.setAttribute("data-columns", String(columns)); }
      // the static drawing stays for print (laid out for paper) and readers without
      // JavaScript (email, locked-down viewers); on screen the live chart replaces it
      var still = document.querySelector("[data-static-for='" + chart.target.id + "']");
      if (still) {
        still.classList.add("for-print");
        chart.target.classList.add("has-print");
      }
    }).catch(function (error) {
      chart.target.textContent = "This chart could not be drawn: " + error;
      chart.target.setAttribute("data-rendered", "error");
      console.error(error);
    });
  }

  var specs = document.querySelectorAll("script[type='application/json'][data-chart]");
  Array.prototype.forEach.call(specs, function (node) {
    var target = document.getElementById(node.getAttribute("data-chart"));
    if (!target) { return; }
    var chart = { source: node, target: target, view: null, columns: null, wrap: null,
                  fit: null, width: null };
    charts.push(chart);
    draw(chart);
  });

  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      charts.forEach(function (chart) {
        if (!chart.view) { return; }
        if (chart.columns !== null && columnsFor(chart.wrap, chart.target) !== chart.columns) {
          draw(chart);
        } else if (chart.width !== null && widthFor(chart.fit, chart.target) !== chart.width) {
          draw(chart);
        }
      });
    }, 200);
  });
})();
(function () {
  "use strict";
  // Tables a reader can sort (click a column heading), filter, page through and download as
  // CSV; a link to every section and table; #anchor opens a collapsed section. No text from
  // the page is ever parsed as HTML: everything is read and written as textContent.
  var PAGE = 25;
  var MINUS = /\u2212/g;

  function mainText(cell) {
    var text = "";
    Array.prototype.forEach.call(cell.childNodes, function (node) {
      if (!(node.nodeType === 1 && node.classList.contains("sub"))) { text += node.textContent; }
    });
    return text.trim();
  }

  function subText(cell) {
    var sub = cell.querySelector(".sub");
    return sub ? sub.textContent.replace(/\u00a0/g, " ").trim() : "";
  }

  function sortKey(cell) {
    var text = mainText(cell).replace(MINUS, "-").replace(/,/g, "");
    var match = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?%?$/i.exec(text);
    return match ? parseFloat(text) : null;
  }

  function csvField(text) {
    // a spreadsheet must not run text as a formula (OWASP: every cell that starts with
    // = + - @ tab or CR gets a leading '); numbers are written as numbers, by csvNumber
    if (/^[=+\-@\t\r]/.test(text)) { text = "'" + text; }
    return /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function csvNumber(cell) {
    // a numeric cell (by its type, not its look) holding one number: that number, plain
    if (!cell.classList.contains("num") || subText(cell)) { return null; }
    var text = mainText(cell).replace(MINUS, "-").replace(/,/g, "");
    return /^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text) ? text : null;
  }

  function csvOf(table, rows) {
    var header = Array.prototype.map.call(table.tHead.rows[0].cells, function (c) {
      return csvField(c.textContent.trim());
    });
    var lines = [header.join(",")];
    rows.forEach(function (row) {
      lines.push(Array.prototype.map.call(row.cells, function (c) {
        var number = csvNumber(c);
        if (number !== null) { return number; }
        var sub = subText(c);
        return csvField(mainText(c) + (sub ? " (" + sub + ")" : ""));
      }).join(","));
    });
    return lines.join("\r\n") + "\r\n";
  }

  function slug(text) {
    return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "table";
  }

  function copyLink(id) {
    var url = location.href.split("#")[0] + "#" + id;
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(url).catch(function () { return null; });
    }
    history.replaceState(null, "", "#" + id);
  }

  function anchor(id, label) {
    var link = document.createElement("a");
    link.className = "anchor";
    link.href = "#" + id;
    link.textContent = "#";
    link.title = "Copy a link to this " + label;
    link.setAttribute("aria-label", link.title);
    link.addEventListener("click", function (event) {
      event.preventDefault();
      event.stopPropagation(); // inside a <summary>: do not fold the section
      copyLink(id);
      link.textContent = "copied";
      setTimeout(function () { link.textContent = "#"; }, 1200);
    });
    return link;
  }

  function enhance(table, id) {
    var body = table.tBodies[0];
    if (!table.tHead || !body) { return; }
    var rows = Array.prototype.slice.call(body.rows);
    var state = { column: -1, descending: false, query: "", shown: PAGE, changed: false };
    var bar = document.createElement("div");
    bar.className = "table-tools";
    var filter = null;
    if (rows.length > 5) {
      filter = document.createElement("input");
      filter.type = "search";
      filter.placeholder = "Filter rows";
      filter.setAttribute("aria-label", "Filter the rows of this table");
      bar.appendChild(filter);
    }
    var changed = null;
    if (table.hasAttribute("data-changed-vs")) {
      var label = document.createElement("label");
      changed = document.createElement("input");
      changed.type = "checkbox";
      label.appendChild(changed);
      label.appendChild(document.createTextNode(" Only changed vs " + table.getAttribute("data-changed-vs")));
      bar.appendChild(label);
    }
    var count = document.createElement("span");
    count.className = "table-count";
    bar.appendChild(count);
    var download = document.createElement("a");
    download.textContent = "CSV";
    download.title = "Download this table's rows (all of them, in this order) as CSV";
    download.download = id + ".csv";
    download.href = "#";
    bar.appendChild(download);
    bar.appendChild(anchor(id, "table"));
    var more = document.createElement("button");
    more.type = "button";
    more.className = "table-more";
    var scroll = table.closest(".table-scroll") || table;
    scroll.parentNode.insertBefore(bar, scroll);
    scroll.parentNode.insertBefore(more, scroll.nextSibling);

    function ordered() {
      var list = rows.slice();
      if (state.column >= 0) {
        var sign = state.descending ? -1 : 1;
        list.sort(function (a, b) {
          var x = a.cells[state.column], y = b.cells[state.column];
          if (!x || !y) { return 0; }
          var kx = sortKey(x), ky = sortKey(y);
          if (kx !== null && ky !== null) { return sign * (kx - ky); }
          if (kx !== null) { return -1; } // numbers first, missing values last
          if (ky !== null) { return 1; }
          return sign * mainText(x).localeCompare(mainText(y));
        });
      }
      return list;
    }

    function draw() {
      var list = ordered();
      var query = state.query.toLowerCase();
      var matching = list.filter(function (row) {
        if (state.changed && row.getAttribute("data-changed") !== "yes") { return false; }
        return !query || row.textContent.toLowerCase().indexOf(query) >= 0;
      });
      list.forEach(function (row) { body.appendChild(row); row.hidden = true; });
      matching.slice(0, state.shown).forEach(function (row) { row.hidden = false; });
      var shown = Math.min(state.shown, matching.length);
      count.textContent = shown < rows.length ? shown + " of " + rows.length + " rows" : "";
      count.hidden = !count.textContent;
      var left = matching.length - shown;
      more.hidden = left <= 0;
      more.textContent = "Show " + Math.min(left, PAGE) + " more of " + left;
      download.href = "data:text/csv;charset=utf-8," + encodeURIComponent(csvOf(table, matching));
    }

    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      th.classList.add("sortable");
      th.tabIndex = 0;
      th.title = "Sort by this column";
      function sort() {
        state.descending = state.column === column ? !state.descending : false;
        state.column = column;
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) {
          other.removeAttribute("aria-sort");
        });
        th.setAttribute("aria-sort", state.descending ? "descending" : "ascending");
        draw();
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); }
      });
    });
    if (filter) {
      filter.addEventListener("input", function () {
        state.query = filter.value;
        state.shown = PAGE;
        draw();
      });
    }
    if (changed) {
      changed.addEventListener("change", function () {
        state.changed = changed.checked;
        state.shown = PAGE;
        draw();
      });
    }
    more.addEventListener("click", function () { state.shown += PAGE; draw(); });
    draw();
  }

  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) { return; }
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") { node.open = true; }
    }
    var row = target.closest("tr");  // a row on a later page of its table: shown
    if (row && row.hidden) { row.hidden = false; }
    var own = target.querySelector(":scope > details");
    if (own) { own.open = true; }
    target.scrollIntoView();
  }

  var used = {};
  Array.prototype.forEach.call(document.querySelectorAll("main section.card[id]"), function (section) {
    var heading = section.querySelector("h2");
    if (heading) { heading.parentNode.insertBefore(anchor(section.id, "section"), heading.nextSibling); }
    Array.prototype.forEach.call(section.querySelectorAll("table"), function (table, n) {
      var id = section.id + "-" + slug(table.closest("details.behind") ?
        table.closest("details.behind").querySelector("summary").textContent : "table-" + (n + 1));
      while (used[id] || (document.getElementById(id) && document.getElementById(id) !== table)) {
        id += "-" + (n + 1);
      }
      used[id] = true;
      table.id = id;
      enhance(table, id);
    });
  });
  window.addEventListener("hashchange", openTarget);
  openTarget();

  // A table wider than its box scrolls sideways: say so. The edge with more columns beyond
  // it fades (.more-left, .more-right) and a line under the table says to scroll; both go
  // when everything is in view. Measured again on resize and when a section opens.
  var boxes = Array.prototype.slice.call(document.querySelectorAll(".table-scroll"));
  function cue(box) {
    var hint = box.nextElementSibling && box.nextElementSibling.classList.contains("scroll-hint") ?
      box.nextElementSibling : null;
    var hidden = box.offsetParent === null; // inside a closed section: measured when opened
    var wide = !hidden && box.scrollWidth > box.clientWidth + 1;
    var left = wide && box.scrollLeft > 1;
    var right = wide && box.scrollLeft + box.clientWidth < box.scrollWidth - 1;
    box.classList.toggle("more-left", left);
    box.classList.toggle("more-right", right);
    if (wide && !hint) {
      hint = document.createElement("p");
      hint.className = "scroll-hint";
      hint.textContent = "\u21c6 Wider than the page: scroll sideways for more columns.";
      box.parentNode.insertBefore(hint, box.nextSibling);
    }
    if (hint) { hint.hidden = !wide; }
  }
  boxes.forEach(function (box) {
    box.addEventListener("scroll", function () { cue(box); }, { passive: true });
    cue(box);
  });
  function cueAll() { boxes.forEach(cue); }
  window.addEventListener("resize", cueAll);
  document.addEventListener("toggle", cueAll, true); // a <details> opened or closed
})();
