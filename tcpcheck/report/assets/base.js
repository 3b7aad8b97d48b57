/* tcpcheck HTML report, part 1 of 5 (html.py SCRIPTS): the embedded data and small helpers.
 * The parts are inlined in order inside one function scope. No network, no libraries:
 * the page must open from disk. The ids and classes used here are documented in
 * tcpcheck/report/html.py. */
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

  /* The width of a box's content: its clientWidth less its padding. */
  function contentWidth(box) {
    var style = getComputedStyle(box);
    return box.clientWidth - (parseFloat(style.paddingLeft) || 0)
      - (parseFloat(style.paddingRight) || 0);
  }

  function diagramKey(capture, connection) { return capture + "-" + connection; }
  /* The capture whose section draws finding ``index``'s connection: its own, or in a
   * stitched set the file its connection is listed in. */
  function connectionCapture(index) {
    var elsewhere = (data.connectionCaptures || {})[index];
    return elsewhere === undefined ? data.findings[index][F.capture] : elsewhere;
  }

  var diagrams = {};
  data.connections.forEach(function (row) {
    if (row[C.diagram]) diagrams[diagramKey(row[C.capture], row[C.id])] = row;
  });

  function link(href, content, attrs) {
    var a = el("a", attrs, content);
    a.setAttribute("href", href);
    return a;
  }

