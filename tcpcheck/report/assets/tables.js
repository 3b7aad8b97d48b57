/* Part 2: the findings and connections tables, drawn a page at a time. */

  /* A table drawn a page at a time from rows of data: columns say how to draw a cell and
   * what to sort by; filter() says which rows match the controls. */
  function PagedTable(options) {
    this.table = document.getElementById(options.table);
    this.body = this.table.tBodies[0];
    this.rows = options.rows;
    this.columns = options.columns;
    this.filter = options.filter;
    this.rowNode = options.rowNode;
    this.count = document.getElementById(options.count);
    this.more = document.getElementById(options.more);
    this.noun = options.noun;
    this.sortKey = null;
    this.sortDir = 1;
    this.matching = [];
    this.shown = 0;
    var self = this;
    this.table.querySelectorAll("th[data-key] button").forEach(function (button) {
      button.addEventListener("click", function () {
        self.sortBy(button.parentNode.getAttribute("data-key"));
      });
    });
    this.more.addEventListener("click", function () { self.showMore(); });
  }

  PagedTable.prototype.sortBy = function (key) {
    this.sortDir = this.sortKey === key ? -this.sortDir : 1;
    this.sortKey = key;
    var dir = this.sortDir;
    this.table.querySelectorAll("th[data-key]").forEach(function (th) {
      if (th.getAttribute("data-key") === key) {
        th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      } else {
        th.removeAttribute("aria-sort");
      }
    });
    this.update();
  };

  PagedTable.prototype.update = function () {
    var filter = this.filter();
    var matching = [];
    for (var i = 0; i < this.rows.length; i++) {
      if (filter(this.rows[i], i)) matching.push(i);
    }
    if (this.sortKey !== null) {
      var value = this.columns[this.sortKey];
      var rows = this.rows, dir = this.sortDir;
      var keys = new Map();
      matching.forEach(function (i) { keys.set(i, value(rows[i])); });
      matching.sort(function (a, b) {
        return dir * compareKeys(keys.get(a), keys.get(b)) || a - b;
      });
    }
    this.matching = matching;
    this.shown = 0;
    this.body.replaceChildren();
    this.showMore();
  };

  PagedTable.prototype.showMore = function () {
    var end = Math.min(this.matching.length, this.shown + PAGE);
    var fragment = document.createDocumentFragment();
    for (var i = this.shown; i < end; i++) {
      var index = this.matching[i];
      fragment.appendChild(this.rowNode(this.rows[index], index));
    }
    this.body.appendChild(fragment);
    this.shown = end;
    var total = this.rows.length, matched = this.matching.length;
    this.count.textContent = (matched === total ? plural(total, this.noun)
      : num(matched) + " of " + plural(total, this.noun) + " match")
      + (end < matched ? " · showing the first " + num(end) : "");
    var left = matched - end;
    this.more.hidden = left <= 0;
    this.more.textContent = "show " + num(Math.min(PAGE, left)) + " more (" + num(left)
      + " not shown)";
  };

  /* Sort keys are numbers, strings, or arrays of them compared item by item. */
  function compareKeys(a, b) {
    if (Array.isArray(a)) {
      for (var i = 0; i < a.length; i++) {
        var order = compareKeys(a[i], b[i]);
        if (order) return order;
      }
      return 0;
    }
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function debounce(fn) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, 150);
    };
  }

  function cell(content, className) {
    return el("td", className ? { "class": className } : null, content);
  }

  // ---------------------------------------------------------------- next steps

  /* A finding's Wireshark display filter and tcpcheck show command, put together as
   * tcpcheck/report/nextstep.py does (show null when the capture is no file to open). */
  function nextStep(f) {
    var parts = data.nextStep, cap = f[F.capture], frame = f[F.frame];
    var conn = parts.filters[cap + "-" + f[F.connection]];
    var term = "frame.number == " + frame;
    var prefix = parts.show[cap];
    return { filter: conn ? conn + " && " + term : term,
      show: prefix === null ? null : prefix + " --frame " + frame,
      unavailable: parts.unavailable[cap] };
  }

  /* A button that copies text; disabled, saying why, when there is none. */
  function copyButton(label, text, why) {
    var button = el("button", { type: "button", "class": "copy", title: text || why,
      "data-copy": text, disabled: text ? null : "disabled" }, label);
    button.addEventListener("click", function () { copyText(text, button); });
    return button;
  }

  function copyText(text, button) {
    var done = function () {
      button.classList.add("copied");
      setTimeout(function () { button.classList.remove("copied"); }, 1200);
    };
    // A page opened from disk may not get the asynchronous clipboard: select and copy.
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { selectAndCopy(text, done); });
    } else {
      selectAndCopy(text, done);
    }
  }

  function selectAndCopy(text, done) {
    var area = el("textarea", { readonly: "readonly", "class": "copy-buffer" });
    area.value = text;
    document.body.appendChild(area);
    area.select();
    if (document.execCommand("copy")) done();
    area.remove();
  }

  // ---------------------------------------------------------------- findings table

  var findingsTable = null;

  function setupFindings() {
    if (!document.getElementById("findings-table")) return;
    var boxes = ["error", "warning", "info"].map(function (label) {
      return document.getElementById("filter-severity-" + label);
    });
    var rule = document.getElementById("filter-rule");
    var capture = document.getElementById("filter-capture");
    var connection = document.getElementById("filter-connection");
    var search = document.getElementById("filter-text");
    var haystack = null;

    function filter() {
      var severities = {};
      boxes.forEach(function (box) { if (box.checked) severities[box.value] = true; });
      var ruleIndex = rule.value === "" ? -1 : data.rules.findIndex(function (r) {
        return r.slug === rule.value;
      });
      var cap = capture && capture.value !== "" ? Number(capture.value) : -1;
      var conn = connection.value.trim() === "" ? -1 : Number(connection.value);
      var needle = search.value.trim().toLowerCase();
      if (needle && haystack === null) {
        haystack = data.findings.map(function (f) {
          var r = data.rules[f[F.rule]];
          return (r.code + " " + r.slug + " " + f[F.side] + " " + f[F.message]).toLowerCase();
        });
      }
      return function (f, i) {
        return severities[f[F.severity]] === true
          && (ruleIndex < 0 || f[F.rule] === ruleIndex)
          && (cap < 0 || f[F.capture] === cap)
          && (conn < 0 || f[F.connection] === conn)
          && (!needle || haystack[i].indexOf(needle) >= 0);
      };
    }

    findingsTable = new PagedTable({
      table: "findings-table", count: "findings-count", more: "findings-more",
      noun: "finding", rows: data.findings, filter: filter,
      columns: {
        // Errors first, then warnings, then info; each by capture, then frame.
        severity: function (f) { return [-f[F.severity], f[F.capture], f[F.frame]]; },
        rule: function (f) { return data.rules[f[F.rule]].code; },
        capture: function (f) { return f[F.capture]; },
        connection: function (f) { return f[F.connection] * 1e4 + f[F.capture]; },
        frame: function (f) { return f[F.frame] * 1e4 + f[F.capture]; },
        time: function (f) { return f[F.time]; },
        side: function (f) { return f[F.side]; },
        message: function (f) { return f[F.message]; }
      },
      rowNode: function (f, index) {
        var severity = SEVERITY[f[F.severity]];
        var r = data.rules[f[F.rule]];
        var cap = f[F.capture], conn = f[F.connection], frame = f[F.frame];
        var home = connectionCapture(index);
        var hasDiagram = diagrams[diagramKey(home, conn)] !== undefined;
        var tr = el("tr", {
          "class": "finding sev-" + severity, "data-index": index, "data-capture": cap,
          "data-connection": conn, "data-frame": frame
        });
        tr.appendChild(cell(severity, "sev"));
        tr.appendChild(el("td", { "class": "rule", title: r.summary },
          [el("code", null, r.code), " " + r.slug]));
        if (multipleCaptures) tr.appendChild(captureCell(cap));
        tr.appendChild(cell(hasDiagram ? link("#conn-" + home + "-" + conn, String(conn))
          : String(conn), "num"));
        // A frame of another file than its connection's section: found through the finding.
        var frameHref = home === cap ? "#frame-" + cap + "-" + frame : "#finding-" + index;
        tr.appendChild(cell(hasDiagram ? link(frameHref, String(frame)) : String(frame),
          "num"));
        tr.appendChild(cell(seconds(f[F.time]), "num"));
        tr.appendChild(cell(f[F.side]));
        tr.appendChild(cell(f[F.card] ? link("#finding-" + index, f[F.message])
          : f[F.message], "msg"));
        var step = nextStep(f);
        tr.appendChild(cell([copyButton("filter", step.filter),
          copyButton("show", step.show, step.unavailable)], "next"));
        return tr;
      }
    });
    var update = function () { findingsTable.update(); };
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    rule.addEventListener("change", update);
    if (capture) capture.addEventListener("change", update);
    connection.addEventListener("input", debounce(update));
    search.addEventListener("input", debounce(update));
    findingsTable.sortBy("severity");
  }

  /* "list this connection's findings": the findings table filtered to one connection. */
  function showFindingsOf(capture, connection) {
    if (!findingsTable) return;
    document.getElementById("filter-connection").value = String(connection);
    var select = document.getElementById("filter-capture");
    if (select) select.value = String(capture);
    ["error", "warning", "info"].forEach(function (label) {
      document.getElementById("filter-severity-" + label).checked = true;
    });
    document.getElementById("filter-rule").value = "";
    document.getElementById("filter-text").value = "";
    findingsTable.update();
    document.getElementById("findings").scrollIntoView({ block: "start" });
  }

  // ---------------------------------------------------------------- connections table

  function setupConnections() {
    if (!document.getElementById("connections-table")) return;
    var level = document.getElementById("conn-filter-findings");
    var close = document.getElementById("conn-filter-close");
    var capture = document.getElementById("conn-filter-capture");
    var search = document.getElementById("conn-filter-text");
    var haystack = null;

    function filter() {
      var min = Number(level.value);
      var kind = close.value;
      var cap = capture && capture.value !== "" ? Number(capture.value) : -1;
      var needle = search.value.trim().toLowerCase();
      if (needle && haystack === null) {
        haystack = data.connections.map(function (c) {
          return ["#" + c[C.id], c[C.client], c[C.server], c[C.client_state],
            c[C.server_state], c[C.close], c[C.midstream] ? "midstream" : ""]
            .join(" ").toLowerCase();
        });
      }
      return function (c, i) {
        var e = c[C.errors], w = c[C.warnings], n = c[C.info];
        return (min === 0 || (min === 1 && e + w + n > 0) || (min === 2 && e + w > 0)
            || (min === 3 && e > 0))
          && (kind === "" || c[C.close] === kind)
          && (cap < 0 || c[C.capture] === cap)
          && (!needle || haystack[i].indexOf(needle) >= 0);
      };
    }

    var table = new PagedTable({
      table: "connections-table", count: "connections-count", more: "connections-more",
      noun: "connection", rows: data.connections, filter: filter,
      columns: {
        capture: function (c) { return c[C.capture]; },
        id: function (c) { return c[C.id] * 1e4 + c[C.capture]; },
        client: function (c) { return c[C.client]; },
        server: function (c) { return c[C.server]; },
        packets: function (c) { return c[C.packets]; },
        client_bytes: function (c) { return c[C.client_bytes]; },
        server_bytes: function (c) { return c[C.server_bytes]; },
        client_state: function (c) { return c[C.client_state]; },
        server_state: function (c) { return c[C.server_state]; },
        close: function (c) { return c[C.close]; },
        findings: function (c) { return c[C.errors] * 1e12 + c[C.warnings] * 1e6 + c[C.info]; },
        duration: function (c) { return c[C.duration]; }
      },
      rowNode: function (c) {
        var cap = c[C.capture], id = c[C.id];
        var tr = el("tr", { "class": "connection", "data-capture": cap, "data-connection": id });
        if (multipleCaptures) tr.appendChild(captureCell(cap));
        tr.appendChild(cell(c[C.diagram] ? link("#conn-" + cap + "-" + id, String(id))
          : String(id), "num"));
        tr.appendChild(cell(c[C.client], "mono"));
        tr.appendChild(cell(c[C.server], "mono"));
        tr.appendChild(cell(num(c[C.packets]), "num"));
        tr.appendChild(cell(num(c[C.client_bytes]), "num"));
        tr.appendChild(cell(num(c[C.server_bytes]), "num"));
        tr.appendChild(cell(c[C.client_state]));
        tr.appendChild(cell(c[C.server_state]));
        tr.appendChild(cell(c[C.close] + (c[C.midstream] ? " (midstream)" : "")));
        var tally = el("td", { "class": "num" });
        [["error", C.errors], ["warning", C.warnings], ["info", C.info]].forEach(function (p) {
          if (c[p[1]]) {
            tally.appendChild(el("span", { "class": "badge sev-" + p[0],
              title: plural(c[p[1]], p[0]) }, num(c[p[1]]) + p[0][0].toUpperCase()));
          }
        });
        if (!tally.firstChild) tally.textContent = "–";
        tr.appendChild(tally);
        tr.appendChild(cell(duration(c[C.duration]), "num"));
        return tr;
      }
    });
    var update = function () { table.update(); };
    level.addEventListener("change", update);
    close.addEventListener("change", update);
    if (capture) capture.addEventListener("change", update);
    search.addEventListener("input", debounce(update));
    update();
  }

