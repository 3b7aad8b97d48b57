/* tcpcheck HTML report: tables, ladder diagrams and time-sequence graphs drawn from the
 * JSON the page embeds. No network, no libraries: the page must open from disk.
 * The ids and classes used here are documented in tcpcheck/report/html.py. */
(function () {
  "use strict";

  var SVGNS = "http://www.w3.org/2000/svg";
  var SEVERITY = { 3: "error", 2: "warning", 1: "info" };
  var RANK = { error: 3, warning: 2, info: 1 };
  var data = JSON.parse(document.getElementById("tcpcheck-data").textContent);
  var PAGE = data.pageRows;
  var multipleCaptures = data.captures.length > 1;
  // Table cells name a capture by its file name, unless two captures share one.
  var baseNames = data.captures.map(function (path) { return path.split(/[\\/]/).pop(); });
  var captureNames = new Set(baseNames).size === baseNames.length ? baseNames : data.captures;

  function captureCell(index) {
    return el("td", { "class": "mono", title: data.captures[index] }, captureNames[index]);
  }

  function fieldIndex(names) {
    var out = {};
    names.forEach(function (name, i) { out[name] = i; });
    return out;
  }
  var F = fieldIndex(data.findingFields);
  var C = fieldIndex(data.connectionFields);
  var rulesBySlug = {};
  data.rules.forEach(function (rule) { rulesBySlug[rule.slug] = rule; });

  // ---------------------------------------------------------------- small helpers

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    setAll(node, attrs);
    append(node, children);
    return node;
  }

  function svg(tag, attrs, children) {
    var node = document.createElementNS(SVGNS, tag);
    setAll(node, attrs);
    append(node, children);
    return node;
  }

  function setAll(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (key) {
      var value = attrs[key];
      if (value !== null && value !== undefined && value !== false) {
        node.setAttribute(key, String(value));
      }
    });
  }

  function append(node, children) {
    if (children === null || children === undefined) return;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" || typeof child === "number"
        ? document.createTextNode(String(child)) : child);
    });
  }

  function text(x, y, content, attrs) {
    var node = svg("text", attrs);
    node.setAttribute("x", x);
    node.setAttribute("y", y);
    node.textContent = content;
    return node;
  }

  function num(n) { return n.toLocaleString("en-US"); }

  function seconds(t) { return t.toFixed(6); }

  function plural(n, noun, many) {
    return num(n) + " " + (n === 1 || noun === "info" ? noun : (many || noun + "s"));
  }

  /* A duration as the terminal report writes it: 0.4 ms, 12.35 s, 3m07s, 2h05m. */
  function duration(s) {
    if (s < 1) return (s * 1000).toFixed(1) + " ms";
    if (s < 60) return s.toFixed(2) + " s";
    var minutes = Math.floor(s / 60), secs = Math.floor(s) % 60;
    if (minutes < 60) return minutes + "m" + String(secs).padStart(2, "0") + "s";
    return Math.floor(minutes / 60) + "h" + String(minutes % 60).padStart(2, "0") + "m";
  }

  function diagramKey(capture, connection) { return capture + "-" + connection; }

  var diagrams = {};
  data.connections.forEach(function (row) {
    if (row[C.diagram]) diagrams[diagramKey(row[C.capture], row[C.id])] = row;
  });

  function link(href, content, attrs) {
    var a = el("a", attrs, content);
    a.setAttribute("href", href);
    return a;
  }

  // ---------------------------------------------------------------- sortable, paged tables

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
        var hasDiagram = diagrams[diagramKey(cap, conn)] !== undefined;
        var tr = el("tr", {
          "class": "finding sev-" + severity, "data-index": index, "data-capture": cap,
          "data-connection": conn, "data-frame": frame
        });
        tr.appendChild(cell(severity, "sev"));
        tr.appendChild(el("td", { "class": "rule", title: r.summary },
          [el("code", null, r.code), " " + r.slug]));
        if (multipleCaptures) tr.appendChild(captureCell(cap));
        tr.appendChild(cell(hasDiagram ? link("#conn-" + cap + "-" + conn, String(conn))
          : String(conn), "num"));
        tr.appendChild(cell(hasDiagram ? link("#frame-" + cap + "-" + frame, String(frame))
          : String(frame), "num"));
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

  // ---------------------------------------------------------------- ladder diagram

  var G = data.ladder;
  var X_FRAME = 64, X_TIME = 160, X_CLIENT = 372, X_SERVER = 852, X_CODES = 1056;
  var LADDER_WIDTH = 1220;

  function changeText(change) { return change[0] + " \u2192 " + change[1]; }

  function drawLadder(conn, box) {
    var items = conn.items;
    var height = G.top + G.bottom;
    items.forEach(function (item) { height += item.collapsed ? G.gap : rowHeight(item); });
    var root = svg("svg", {
      "class": "ladder-svg", width: LADDER_WIDTH, height: height,
      viewBox: "0 0 " + LADDER_WIDTH + " " + height, role: "img",
      "aria-label": "ladder diagram of connection " + conn.connection
    });
    // Endpoints: role, address, state before the first segment.
    [["client", X_CLIENT, conn.client], ["server", X_SERVER, conn.server]].forEach(function (e) {
      root.appendChild(text(e[1], 18, e[0], { "class": "role " + e[0], "text-anchor": "middle" }));
      root.appendChild(text(e[1], 36, e[2], { "class": "muted", "text-anchor": "middle" }));
      root.appendChild(text(e[1], 62, conn.initial[e[0]], {
        "class": "state initial", "data-side": e[0], "text-anchor": "middle"
      }));
    });
    root.appendChild(text(X_FRAME, 62, "frame", { "class": "muted", "text-anchor": "end" }));
    root.appendChild(text(X_TIME, 62, "time (s)", { "class": "muted", "text-anchor": "end" }));

    // Drawn last, over the rows' highlight bands, so the lines never look broken.
    var lines = svg("g", { "class": "lifelines" });
    var y = G.top;
    var rowY = {};
    var solidFrom = G.top - 20;
    function lifeline(y1, y2, dashed) {
      [X_CLIENT, X_SERVER].forEach(function (x) {
        lines.appendChild(svg("line", { "class": "lifeline" + (dashed ? " dashed" : ""),
          x1: x, x2: x, y1: y1, y2: y2 }));
      });
    }
    items.forEach(function (item) {
      if (item.collapsed) {
        lifeline(solidFrom, y + 4, false);
        lifeline(y + 4, y + G.gap - 4, true);
        solidFrom = y + G.gap - 4;
        root.appendChild(drawGap(item.collapsed, y, conn.capture));
        y += G.gap;
      } else {
        root.appendChild(drawRow(item, y, conn.capture));
        rowY[item.frame] = y;
        y += rowHeight(item);
      }
    });
    lifeline(solidFrom, y + 8, false);
    root.appendChild(replyLinks(items, rowY));
    root.appendChild(lines);
    // States at the end, with the change the end of the capture made without a segment.
    ["client", "server"].forEach(function (side) {
      var change = conn.finalChange[side];
      var label = change ? changeText(change) + " (end of capture)" : conn.final[side];
      root.appendChild(text(side === "client" ? X_CLIENT : X_SERVER, y + 30, label, {
        "class": "state final", "data-side": side, "text-anchor": "middle"
      }));
    });
    root.appendChild(text(X_TIME, y + 30, "end", { "class": "muted", "text-anchor": "end" }));
    box.replaceChildren();
    if (conn.undrawn > 0) {
      var more = link("#findings", "list this connection's findings");
      more.addEventListener("click", function (event) {
        event.preventDefault();
        showFindingsOf(conn.capture, conn.connection);
      });
      box.appendChild(el("p", { "class": "undrawn" }, [
        plural(conn.undrawn, "more segment") + " with only info findings "
          + (conn.undrawn === 1 ? "is" : "are") + " not drawn (the ladder keeps the first "
          + "ones); the findings table has them all: ", more, "."]));
    }
    if (conn.unseenReplies > 0) {
      box.appendChild(el("p", { "class": "undrawn unseen-replies" },
        plural(conn.unseenReplies, "more owed reply", "more owed replies")
          + " without a finding " + (conn.unseenReplies === 1 ? "is" : "are")
          + " in the collapsed stretches (the first ones are drawn)."));
    }
    box.appendChild(root);
    box.setAttribute("data-drawn", "1");
  }

  function drawRow(row, y, capture) {
    var findings = row.findings || [];
    var fromClient = row.fromClient;
    var classes = "seg " + (fromClient ? "from-client" : "from-server");
    if (row.severity) classes += " hl sev-" + row.severity;
    if (row.retransmission) classes += " rtx";
    var g = svg("g", { "class": classes, id: "frame-" + capture + "-" + row.frame,
      "data-frame": row.frame });
    var tip = "frame " + row.frame + " \u00b7 " + seconds(row.time) + " s \u00b7 "
      + (fromClient ? "client \u2192 server" : "server \u2192 client") + " \u00b7 " + row.label;
    if (row.observations) tip += " \u00b7 " + row.observations.join(", ");
    findings.forEach(function (f) { tip += "\n" + f[1] + " (" + f[2] + ")"; });
    g.appendChild(svg("title", null, tip));
    // The row's body links to the first finding's card when the row is highlighted.
    var body = findings.length
      ? svg("a", { href: "#finding-" + findings[0][0], "class": "row-link" })
      : svg("g");
    g.appendChild(body);
    var h = rowHeight(row);
    body.appendChild(svg("rect", { "class": "hl-bg", x: 0, y: y + 2, width: X_CODES - 10,
      height: h - 4, rx: 4 }));
    if (row.severity) {
      body.appendChild(svg("line", { "class": "hl-edge", x1: 2, x2: 2, y1: y + 3,
        y2: y + h - 3 }));
    }
    // From the top of the row: label, arrow, then the retransmission tag under the arrow.
    var base = y + 24;
    body.appendChild(text(X_FRAME, base, String(row.frame), { "text-anchor": "end" }));
    body.appendChild(text(X_TIME, base, seconds(row.time),
      { "class": "muted", "text-anchor": "end" }));
    var x1 = fromClient ? X_CLIENT : X_SERVER, x2 = fromClient ? X_SERVER : X_CLIENT;
    var dir = fromClient ? 1 : -1;
    var y1 = y + 18, y2 = y + 23;
    var tipX = x2 - dir * 2;
    body.appendChild(svg("line", { "class": "arrow", x1: x1 + dir * 2, y1: y1,
      x2: tipX - dir * 9, y2: y2 }));
    body.appendChild(svg("path", { "class": "head",
      d: "M" + tipX + " " + y2 + " l" + (-dir * 11) + " -4.5 v9 z" }));
    var label = (row.retransmission ? "\u21bb " : "") + row.label;
    body.appendChild(text((X_CLIENT + X_SERVER) / 2, y + 14, label,
      { "class": "label", "text-anchor": "middle" }));
    if (row.retransmission) {
      body.appendChild(text(x1 + dir * 8, y + 33, "retransmission",
        { "class": "rtx-tag", "text-anchor": fromClient ? "start" : "end", "font-size": 10 }));
    }
    // State changes beside their endpoint's line.
    [["client", row.clientChange, X_CLIENT - 12, "end"],
      ["server", row.serverChange, X_SERVER + 12, "start"]].forEach(function (s) {
      if (!s[1]) return;
      g.appendChild(text(s[2], base, changeText(s[1]), {
        "class": "state", "data-side": s[0], "data-frame": row.frame, "text-anchor": s[3]
      }));
    });
    var x = X_CODES;
    findings.forEach(function (f) {
      var a = svg("a", { href: "#finding-" + f[0] });
      a.appendChild(text(x, base, f[1], { "class": "code sev-" + f[2] }));
      g.appendChild(a);
      x += f[1].length * 8 + 10;
    });
    drawAnswers(g, row, y, capture);
    drawOwed(g, row, y, capture);
    return g;
  }

  // ---------------------------------------------------------------- owed replies

  /* A row's height: the segment, then a line per line of its owed replies' notes. */
  function rowHeight(row) {
    var lines = 0;
    (row.owes || []).forEach(function (note) { lines += note.lines.length + note.settled.length; });
    return G.row + lines * G.note;
  }

  /* Under the arrow of a segment that left its receiver owing a reply: what was owed (wrapped
   * by html.py) and how it was settled, linked to the reply's row when there is one. */
  function drawOwed(g, row, y, capture) {
    var line = y + G.row + 8;
    (row.owes || []).forEach(function (note) {
      var met = note.outcome === "answered" || note.outcome === "rate-limited";
      var group = svg("g", { "class": "owed" + (note.severity ? " sev-" + note.severity
        : met ? " met" : ""),
        "data-frame": note.frame, "data-reply-frame": note.replyFrame, "data-kind": note.kind,
        "data-outcome": note.outcome });
      group.appendChild(svg("title", null, note.reason));
      note.lines.forEach(function (words) {
        group.appendChild(text(X_CLIENT + 12, line, words, { "class": "owes" }));
        line += G.note;
      });
      var settled = note.replyFrame !== null
        ? svg("a", { href: "#frame-" + capture + "-" + note.replyFrame, "class": "settled" })
        : svg("g", { "class": "settled" });
      note.settled.forEach(function (words) {
        settled.appendChild(text(X_CLIENT + 12, line, words));
        line += G.note;
      });
      group.appendChild(settled);
      linkHover(group, note.frame, note.replyFrame);
      g.appendChild(group);
    });
  }

  /* Under the arrow of a reply: the segment it answers, linked to that row. */
  function drawAnswers(g, row, y, capture) {
    var x = (X_CLIENT + X_SERVER) / 2;
    (row.answers || []).forEach(function (answer, i) {
      var a = svg("a", { href: "#frame-" + capture + "-" + answer.frame, "class": "answers",
        "data-frame": answer.frame, "data-outcome": answer.outcome });
      a.appendChild(text(x, y + 33 + i * 11, "\u21b3 " + answer.text,
        { "text-anchor": "middle" }));
      linkHover(a, answer.frame, row.frame);
      g.appendChild(a);
    });
  }

  /* Pointing at either end of an owed reply lights the connector between its two rows. */
  function linkHover(node, frame, replyFrame) {
    function light(on) {
      var svgRoot = node.ownerSVGElement;
      if (!svgRoot) return;
      svgRoot.querySelectorAll("path.reply-link[data-frame=\"" + frame
        + "\"][data-reply-frame=\"" + replyFrame + "\"]").forEach(function (path) {
        path.classList.toggle("lit", on);
      });
    }
    node.addEventListener("mouseenter", function () { light(true); });
    node.addEventListener("mouseleave", function () { light(false); });
  }

  /* A connector on the outer side of the receiver's line, from the tip of the segment that
   * caused the obligation to the start of the reply (both rows drawn). */
  function replyLinks(items, rowY) {
    var layer = svg("g", { "class": "reply-links" });
    items.forEach(function (item) {
      (item.owes || []).forEach(function (note) {
        var ya = rowY[note.frame], yb = rowY[note.replyFrame];
        if (ya === undefined || yb === undefined || note.frame === note.replyFrame) return;
        var client = note.side === "client";
        var x = client ? X_CLIENT : X_SERVER, out = client ? -16 : 16;
        ya += 23;
        yb += 18;
        layer.appendChild(svg("path", { "class": "reply-link" + (note.severity
          ? " sev-" + note.severity : ""), "data-frame": note.frame,
          "data-reply-frame": note.replyFrame,
          d: "M" + x + " " + ya + " C" + (x + out) + " " + ya + " " + (x + out) + " " + yb
            + " " + x + " " + yb }));
      });
    });
    return layer;
  }

  function drawGap(gap, y, capture) {
    var g = svg("g", { "class": "gap", id: "gap-" + capture + "-" + gap.firstFrame,
      "data-first": gap.firstFrame, "data-last": gap.lastFrame });
    // As wide as the longest summary needs: it reaches past the lifelines, dashed over it.
    g.appendChild(svg("rect", { "class": "gap-band", x: X_TIME + 16, y: y + 8,
      width: X_CODES - X_TIME - 40, height: G.gap - 16, rx: 4 }));
    var bytes = [];
    if (gap.clientBytes) bytes.push(num(gap.clientBytes) + " bytes client\u2192server");
    if (gap.serverBytes) bytes.push(num(gap.serverBytes) + " bytes server\u2192client");
    if (!bytes.length) bytes.push("no data");
    var words = "\u2026 " + plural(gap.count, "segment") + ", frames " + gap.firstFrame
      + "\u2013" + gap.lastFrame + ", " + bytes.join(", ") + ", "
      + plural(gap.retransmissions, "retransmission") + " \u2026";
    g.appendChild(text((X_CLIENT + X_SERVER) / 2, y + G.gap / 2 + 4, words,
      { "text-anchor": "middle" }));
    g.appendChild(text(X_TIME, y + G.gap / 2 - 3, seconds(gap.start),
      { "class": "muted", "text-anchor": "end" }));
    g.appendChild(text(X_TIME, y + G.gap / 2 + 13, "\u2013 " + seconds(gap.end),
      { "class": "muted", "text-anchor": "end" }));
    g.appendChild(text(X_FRAME, y + G.gap / 2 + 4, "\u22ee", { "class": "muted",
      "text-anchor": "end" }));
    return g;
  }

  // ---------------------------------------------------------------- time-sequence graphs

  var GW = 1100, GH = 380, ML = 92, MR = 24, MT = 14, MB = 46;
  /* Space left at either end of each axis, as a share of its span: the first and last
   * points stay clear of the axes. */
  var PAD = 0.03;

  /* Round tick positions covering [lo, hi]: steps of 1, 2 or 5 times a power of ten, and
   * at least minStep (whole bytes on a sequence axis). */
  function ticks(lo, hi, count, minStep) {
    var span = hi - lo;
    if (!(span > 0)) return { step: 1, values: [lo] };
    var raw = Math.max(span / count, minStep || 0);
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 5, 10].map(function (m) { return m * power; })
      .find(function (s) { return s >= raw * (1 - 1e-9); });
    var values = [];
    // Multiples of the step rather than a running sum, which would gather rounding errors.
    for (var k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
      values.push(k === 0 ? 0 : k * step);
    }
    return { step: step, values: values };
  }

  function decimals(step) { return Math.max(0, -Math.floor(Math.log10(step) + 1e-9)); }

  /* How a sequence axis writes its numbers: bytes with thousands separators, as the
   * connections table counts them, or MB or GB (decimal) once they reach a million — one
   * unit for the whole axis, named in its title. */
  function byteScale(lo, hi, step) {
    var top = Math.max(Math.abs(lo), Math.abs(hi));
    var units = [[1e9, "GB"], [1e6, "MB"]];
    for (var i = 0; i < units.length; i++) {
      var size = units[i][0];
      // A unit only when the ticks need at most three decimals of it.
      if (top >= size && step >= size / 1000) {
        var places = decimals(step / size);
        return { unit: units[i][1], label: function (v) { return (v / size).toFixed(places); } };
      }
    }
    return { unit: "bytes", label: function (v) { return num(Math.round(v)); } };
  }

  /* tcptrace's mark of a retransmission, an "R" of fixed size over the top (x, y) of its
   * bar, so that it shows however many bytes the axis spans. One subpath starting with the
   * only absolute "M", so that a path of them counts its glyphs. */
  function rtxGlyph(x, y) {
    return "M" + (x - 3).toFixed(1) + " " + (y - 3).toFixed(1)
      + "v-10h3.5a2.5 2.5 0 0 1 0 5h-3.5m3 0l3 5";
  }

  function drawGraph(graph, capture, connection) {
    var bars = graph.bars, acks = graph.acks, windows = graph.windows;
    // The x axis spans the graph's own points (html.py), not the capture: times stay
    // seconds since the capture's start.
    var t0 = graph.start, t1 = graph.end;
    if (!(t1 > t0)) { t0 -= 0.0005; t1 = t0 + 0.001; }
    var tpad = (t1 - t0) * PAD;
    t0 -= tpad; t1 += tpad;
    var lo = Infinity, hi = -Infinity, i;
    for (i = 0; i < bars.length; i += 4) {
      lo = Math.min(lo, bars[i + 1]);
      hi = Math.max(hi, bars[i + 2]);
    }
    for (i = 1; i < acks.length; i += 2) { lo = Math.min(lo, acks[i]); hi = Math.max(hi, acks[i]); }
    if (hi <= lo) hi = lo + 1;
    // The window edge is drawn where it falls in the data's range; one far above the data
    // (a short transfer under a 64 kB window) would squash the data into a line.
    var edge = -Infinity;
    for (i = 1; i < windows.length; i += 2) edge = Math.max(edge, windows[i]);
    var clipped = edge > hi + (hi - lo);
    if (clipped) hi += (hi - lo) * 0.15;
    else hi = Math.max(hi, edge);
    var pad = (hi - lo) * PAD;
    lo -= pad; hi += pad;
    var plotW = GW - ML - MR, plotH = GH - MT - MB;
    function X(t) { return (ML + (t - t0) / (t1 - t0) * plotW).toFixed(1); }
    function Y(v) { return (MT + (hi - v) / (hi - lo) * plotH).toFixed(1); }

    var root = svg("svg", { "class": "seqgraph", width: GW, height: GH,
      viewBox: "0 0 " + GW + " " + GH, "data-direction": graph.direction, role: "img",
      "aria-label": "time-sequence graph of the " + graph.direction + "'s data" });
    var axes = svg("g", { "class": "axes" });
    root.appendChild(axes);
    var xt = ticks(t0, t1, 8), yt = ticks(lo, hi, 6, 1);
    var scale = byteScale(lo, hi, yt.step);
    xt.values.forEach(function (t) {
      var x = X(t);
      axes.appendChild(svg("line", { "class": "grid", x1: x, x2: x, y1: MT, y2: MT + plotH }));
      axes.appendChild(svg("line", { "class": "axis", x1: x, x2: x, y1: MT + plotH,
        y2: MT + plotH + 5 }));
      axes.appendChild(text(x, MT + plotH + 18, t.toFixed(decimals(xt.step)),
        { "class": "muted tick time", "text-anchor": "middle" }));
    });
    yt.values.forEach(function (v) {
      var y = Y(v);
      axes.appendChild(svg("line", { "class": "grid", x1: ML, x2: ML + plotW, y1: y, y2: y }));
      axes.appendChild(svg("line", { "class": "axis", x1: ML - 5, x2: ML, y1: y, y2: y }));
      axes.appendChild(text(ML - 8, Number(y) + 4, scale.label(v),
        { "class": "muted tick seq", "text-anchor": "end" }));
    });
    axes.appendChild(svg("path", { "class": "axis", fill: "none",
      d: "M" + ML + " " + MT + " V" + (MT + plotH) + " H" + (ML + plotW) }));
    axes.appendChild(text(ML + plotW / 2, GH - 6, "time since capture start (s)",
      { "class": "muted title", "text-anchor": "middle" }));
    axes.appendChild(text(14, MT + plotH / 2, "relative sequence number (" + scale.unit + ")", {
      "class": "muted title", "text-anchor": "middle",
      transform: "rotate(-90 14 " + (MT + plotH / 2) + ")" }));

    // One path per series: a graph of 100,000 segments stays one element each.
    var fresh = [], again = [], glyphs = [];
    for (i = 0; i < bars.length; i += 4) {
      var x = X(bars[i]), ya = Number(Y(bars[i + 1])), yb = Number(Y(bars[i + 2]));
      if (ya - yb < 1) yb = ya - 1;
      (bars[i + 3] ? again : fresh).push("M" + x + " " + ya.toFixed(1) + "V" + yb.toFixed(1));
      if (bars[i + 3]) glyphs.push(rtxGlyph(Number(x), yb));
    }
    var clipId = "clip-" + capture + "-" + connection + "-" + graph.direction;
    root.appendChild(svg("clipPath", { id: clipId },
      svg("rect", { x: ML, y: MT, width: plotW, height: plotH })));
    root.appendChild(svg("path", { "class": "windows", d: steps(windows, X, Y, t1),
      "clip-path": "url(#" + clipId + ")" }));
    root.appendChild(svg("path", { "class": "acks", d: steps(acks, X, Y, t1) }));
    root.appendChild(svg("path", { "class": "bars", d: fresh.join("") || "M0 0" }));
    if (again.length) root.appendChild(svg("path", { "class": "bars rtx", d: again.join("") }));

    var bulk = { error: [], warning: [], info: [] };
    graph.marks.forEach(function (m) {
      var mx = Number(X(m[0])), my = Number(Y(m[1]));
      if (m[6]) {
        var href = m[5] >= 0 ? "#finding-" + m[5] : "#frame-" + capture + "-" + m[2];
        var a = svg("a", { href: href });
        a.appendChild(svg("circle", { "class": "mark sev-" + m[4], cx: mx.toFixed(1),
          cy: my.toFixed(1), r: m[4] === "info" ? 3 : 5.5, "data-frame": m[2] },
          svg("title", null, m[3] + " (" + m[4] + ") at frame " + m[2])));
        root.appendChild(a);
      } else {
        bulk[m[4]].push("M" + mx.toFixed(1) + " " + (my - 3).toFixed(1) + "l3 3l-3 3l-3 -3z");
      }
    });
    Object.keys(bulk).forEach(function (severity) {
      if (bulk[severity].length) {
        root.appendChild(svg("path", { "class": "mark sev-" + severity,
          d: bulk[severity].join("") }));
      }
    });
    // Over the finding marks: a retransmission often has one (a duplicate ACK before it).
    if (glyphs.length) root.appendChild(svg("path", { "class": "rtx-marks", d: glyphs.join("") }));
    var title = (graph.direction === "client" ? "client " : "server ") + graph.sender
      + " \u2192 " + graph.receiver + ": " + plural(graph.segments, "data segment") + ", "
      + plural(graph.retransmissions, "retransmission")
      + (graph.binned ? " (binned into time columns)" : "");
    var legend = [el("span", { "class": "sw data" }), "data segment"];
    if (again.length) {
      legend.push(svg("svg", { "class": "key", width: 14, height: 20, viewBox: "0 0 14 20",
        "aria-hidden": "true" }, [
        svg("path", { "class": "bars rtx", d: "M7 20V14" }),
        svg("path", { "class": "rtx-marks", d: rtxGlyph(7, 14) })]), "retransmission");
    }
    legend.push(el("span", { "class": "sw ack" }), "ACK",
      el("span", { "class": "sw window" }), "receive window edge"
        + (clipped ? " (above the top of the graph, up to " + num(edge) + " bytes)" : ""));
    if (graph.marks.length) legend.push(" \u00b7 circles: findings");
    return el("div", { "class": "seqgraph-wrap" }, [
      el("h4", null, "Time-sequence graph, " + title), el("p", { "class": "legend" }, legend),
      root]);
  }

  /* A step line through (time, value) pairs, held to the end of the graph. */
  function steps(points, X, Y, end) {
    if (!points.length) return "M0 0";
    var parts = ["M" + X(points[0]) + " " + Y(points[1])];
    for (var i = 2; i < points.length; i += 2) {
      parts.push("H" + X(points[i]) + "V" + Y(points[i + 1]));
    }
    parts.push("H" + X(end));
    return parts.join("");
  }

  // ---------------------------------------------------------------- explanation cards

  function drawCards(conn, box) {
    box.replaceChildren();
    if (!conn.cards.length) return;
    box.appendChild(el("h3", null, "Findings on this ladder"));
    conn.cards.forEach(function (card) {
      var rule = rulesBySlug[card.rule] || { summary: "", what: [], why: [] };
      var frameHref = "#frame-" + conn.capture + "-" + card.frame;
      var reference = el("dd");
      card.reference.forEach(function (part) {
        reference.appendChild(part[1] ? link(part[1], part[0], { rel: "noopener" })
          : document.createTextNode(part[0]));
      });
      var where = [card.side, card.position].filter(Boolean).join(", ");
      var about = rule.what.length || rule.why.length ? el("details", null,
        [el("summary", null, "about this rule")].concat(rule.what.concat(rule.why)
          .map(function (p) { return el("p", null, p); }))) : null;
      box.appendChild(el("div", { "class": "card sev-" + card.severity,
        id: "finding-" + card.index }, [
        el("h4", null, [el("span", { "class": "sevname" }, card.severity),
          link(frameHref, "frame " + card.frame), " \u00b7 ", el("code", null, card.code), " ",
          card.rule]),
        rule.summary ? el("p", { "class": "summary" }, rule.summary) : null,
        el("p", { "class": "message" }, card.message),
        el("dl", null, [
          el("dt", null, "expected"), el("dd", null, card.expected),
          el("dt", null, "observed"), el("dd", null, card.observed),
          where ? el("dt", null, "where") : null, where ? el("dd", null, where) : null,
          el("dt", null, "time"), el("dd", null, seconds(card.time) + " s"),
          el("dt", null, "reference"), reference,
          el("dt", null, "next step"), nextStepItem(card.index)]),
        about,
        link(frameHref, "\u2191 back to the segment in the ladder", { "class": "back" })]));
    });
  }

  /* The filter and the show command as text to select, each with a copy button. */
  function nextStepItem(index) {
    var step = nextStep(data.findings[index]);
    var show = step.show === null ? el("span", null, step.unavailable)
      : el("code", { "class": "cmd" }, step.show);
    return el("dd", { "class": "next" }, [
      el("div", null, [el("code", { "class": "cmd" }, step.filter), " ",
        copyButton("copy", step.filter)]),
      el("div", null, [show, " ", step.show === null ? null : copyButton("copy", step.show)])]);
  }

  // ---------------------------------------------------------------- sections

  /* Every section's data is one line "ID<tab>JSON" of one block: one element for the
   * parser instead of thousands, and each line is parsed only when its section is drawn. */
  var diagramLines = null;
  function diagramData(id) {
    if (diagramLines === null) {
      diagramLines = new Map();
      document.getElementById("tcpcheck-diagrams").textContent.split("\n")
        .forEach(function (line) {
          var tab = line.indexOf("\t");
          if (tab > 0) diagramLines.set(line.slice(0, tab), line.slice(tab + 1));
        });
    }
    var conn = JSON.parse(diagramLines.get(id));
    diagramLines.delete(id);
    return conn;
  }

  function render(section) {
    if (section.getAttribute("data-rendered") === "1") return;
    var conn = diagramData(section.id);
    drawLadder(conn, section.querySelector(".ladder"));
    var graphs = section.querySelector(".seqgraphs");
    graphs.replaceChildren();
    conn.graphs.forEach(function (graph) { graphs.appendChild(drawGraph(graph, conn.capture, conn.connection)); });
    drawCards(conn, section.querySelector(".cards"));
    section.setAttribute("data-rendered", "1");
  }

  function setupSections() {
    // Sections parsed open are drawn as they come near the screen; each fires one "toggle"
    // of its own after loading, which is left to the observer. Any other opening draws the
    // section at once, so closed sections need no observer.
    var parsedOpen = new Set(document.querySelectorAll("details.conn[open]"));
    var observer = null;
    if ("IntersectionObserver" in window) {
      observer = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          if (entry.isIntersecting && entry.target.open) {
            render(entry.target);
            observer.unobserve(entry.target);
          }
        });
      }, { rootMargin: "600px 0px" });
    }
    parsedOpen.forEach(function (section) {
      if (observer) observer.observe(section);
      else render(section);
    });
    // "toggle" does not bubble, but is seen on its way down: one listener for 10,000
    // sections.
    document.addEventListener("toggle", function (event) {
      var section = event.target;
      if (!(section instanceof HTMLDetailsElement) || !section.classList.contains("conn")) return;
      if (parsedOpen.delete(section) && section.open) return;
      if (section.open) render(section);
    }, true);
  }

  // ---------------------------------------------------------------- navigation

  function openSection(capture, connection) {
    var section = document.getElementById("conn-" + capture + "-" + connection);
    if (!section) return null;
    section.open = true;
    render(section);
    return section;
  }

  var flashed = null;
  function reveal(target, block) {
    target.scrollIntoView({ block: block });
    if (flashed) flashed.classList.remove("flash");
    // A whole section would flash as one big yellow block: its title line is enough.
    if (target.tagName === "DETAILS") target = target.querySelector("summary");
    target.classList.add("flash");
    flashed = target;
    setTimeout(function () { target.classList.remove("flash"); }, 2600);
  }

  function frameTarget(capture, frame) {
    var sections = [];
    data.connections.forEach(function (c) {
      if (c[C.diagram] && c[C.capture] === capture && c[C.first_frame] <= frame
          && frame <= c[C.last_frame]) {
        var section = openSection(capture, c[C.id]);
        if (section) sections.push(section);
      }
    });
    var exact = document.getElementById("frame-" + capture + "-" + frame);
    if (exact) return exact;
    for (var i = 0; i < sections.length; i++) {
      var gaps = sections[i].querySelectorAll("g.gap");
      for (var j = 0; j < gaps.length; j++) {
        if (Number(gaps[j].getAttribute("data-first")) <= frame
            && frame <= Number(gaps[j].getAttribute("data-last"))) return gaps[j];
      }
    }
    return sections.length ? sections[0] : null;
  }

  function navigate(hash) {
    var m = /^#conn-(\d+)-(\d+)$/.exec(hash);
    if (m) {
      var section = openSection(Number(m[1]), Number(m[2]));
      if (section) reveal(section, "start");
      return;
    }
    m = /^#frame-(\d+)-(\d+)$/.exec(hash);
    if (m) {
      var target = frameTarget(Number(m[1]), Number(m[2]));
      if (target) reveal(target, target.tagName === "DETAILS" ? "start" : "center");
      return;
    }
    m = /^#finding-(\d+)$/.exec(hash);
    if (m) {
      var f = data.findings[Number(m[1])];
      if (!f) return;
      openSection(f[F.capture], f[F.connection]);
      // A finding whose row is collapsed has no card: show where its frame is instead.
      var card = document.getElementById("finding-" + m[1])
        || frameTarget(f[F.capture], f[F.frame]);
      if (card) reveal(card, card.tagName === "DETAILS" ? "start" : "center");
    }
  }

  function setupNavigation() {
    window.addEventListener("hashchange", function () { navigate(location.hash); });
    // A link to the hash already in the address bar fires no hashchange: navigate anyway
    // (the user may have closed the section or scrolled away since).
    document.addEventListener("click", function (event) {
      var a = event.target.closest ? event.target.closest("a") : null;
      if (!a) return;
      var href = a.getAttribute("href");
      if (href && href.charAt(0) === "#" && href === location.hash) {
        event.preventDefault();
        navigate(href);
      }
    });
    if (location.hash) {
      // Draw the target now; scroll again once loaded, after the browser's own scroll to
      // the fragment (which puts the freshly drawn element at the very top).
      navigate(location.hash);
      window.addEventListener("load", function () {
        setTimeout(function () { navigate(location.hash); }, 0);
      });
    }
  }

  setupFindings();
  setupConnections();
  setupSections();
  setupNavigation();
  document.documentElement.setAttribute("data-ready", "1");
})();
