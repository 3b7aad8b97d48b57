/* Part 4: time-sequence graphs, zoomable and pannable.
 *
 * A graph is as wide as its box (GW_MIN to GW_MAX) and as tall as its data needs: a direction
 * of a few segments gets a short one. The mouse wheel over the plot zooms around the pointer,
 * a drag pans, the reset button (or 0 on the focused graph) shows everything again; +, - and
 * the arrow keys zoom and pan a focused graph. A zoom redraws the series for the new domain,
 * which ``data-domain`` on the svg names: "t0 t1 lo hi" (seconds, relative bytes). */

  var ML = 92, MR = 24, MT = 30, MB = 46;
  var GW_MIN = 480, GW_MAX = 1100;
  /* Plot heights in pixels: one segment gets the least, PLOT_FULL_AT segments the most. */
  var PLOT_MIN = 90, PLOT_MAX = 320, PLOT_FULL_AT = 16;
  /* The smallest spans a zoom reaches: a microsecond (pcap's resolution), a few bytes. */
  var MIN_SECONDS = 1e-6, MIN_BYTES = 4;
  /* Zoom per pixel of wheel movement, and per key press. */
  var WHEEL_ZOOM = 0.002, KEY_ZOOM = 1.5;
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

  /* The whole domain of a graph: its own points' time span, its data's sequence span with the
   * window edge when it is near the data (one far above, a short transfer under a 64 kB
   * window, is left above the top, ``clipped``), each padded by PAD. */
  function fullDomain(graph) {
    var bars = graph.bars, acks = graph.acks, windows = graph.windows;
    var t0 = graph.start, t1 = graph.end;
    if (!(t1 > t0)) { t0 -= 0.0005; t1 = t0 + 0.001; }
    var tpad = (t1 - t0) * PAD;
    var lo = Infinity, hi = -Infinity, i;
    for (i = 0; i < bars.length; i += 4) {
      lo = Math.min(lo, bars[i + 1]);
      hi = Math.max(hi, bars[i + 2]);
    }
    for (i = 1; i < acks.length; i += 2) { lo = Math.min(lo, acks[i]); hi = Math.max(hi, acks[i]); }
    if (hi <= lo) hi = lo + 1;
    var edge = -Infinity;
    for (i = 1; i < windows.length; i += 2) edge = Math.max(edge, windows[i]);
    var clipped = edge > hi + (hi - lo);
    if (clipped) hi += (hi - lo) * 0.15;
    else hi = Math.max(hi, edge);
    var pad = (hi - lo) * PAD;
    return { t0: t0 - tpad, t1: t1 + tpad, lo: lo - pad, hi: hi + pad, clipped: clipped,
      edge: edge };
  }

  function plotHeight(graph) {
    var share = Math.min(1, (graph.segments - 1) / (PLOT_FULL_AT - 1));
    return Math.round(PLOT_MIN + share * (PLOT_MAX - PLOT_MIN));
  }

  function drawGraph(graph, capture, connection, box) {
    var full = fullDomain(graph);
    var view = { t0: full.t0, t1: full.t1, lo: full.lo, hi: full.hi };
    var width = Math.max(GW_MIN, Math.min(GW_MAX, contentWidth(box)));
    var plotW = width - ML - MR, plotH = plotHeight(graph), height = plotH + MT + MB;
    var root = svg("svg", { "class": "seqgraph", width: width, height: height,
      viewBox: "0 0 " + width + " " + height, "data-direction": graph.direction, role: "img",
      tabindex: 0, "aria-label": "time-sequence graph of the " + graph.direction + "'s data"
        + " (wheel or + and - zoom, drag or arrow keys pan, 0 resets)" });
    var axes = svg("g", { "class": "axes" });
    var clipId = "clip-" + capture + "-" + connection + "-" + graph.direction;
    var series = svg("g", { "class": "series", "clip-path": "url(#" + clipId + ")" });
    root.appendChild(axes);
    root.appendChild(svg("clipPath", { id: clipId },
      svg("rect", { x: ML, y: MT, width: plotW, height: plotH })));
    root.appendChild(series);
    var plot = { w: plotW, h: plotH, height: height };
    var reset = el("button", { type: "button", "class": "graph-reset", disabled: true },
      "reset zoom");
    var again = false;
    function paint() {
      drawAxes(axes, view, plot);
      again = drawSeries(series, graph, view, plot, capture);
      root.setAttribute("data-domain", [view.t0, view.t1, view.lo, view.hi].join(" "));
      reset.disabled = view.t0 === full.t0 && view.t1 === full.t1 && view.lo === full.lo
        && view.hi === full.hi;
    }
    paint();
    zoomable(root, view, full, plot, paint, reset);
    var title = (graph.direction === "client" ? "client " : "server ") + graph.sender
      + " \u2192 " + graph.receiver + ": " + plural(graph.segments, "data segment") + ", "
      + plural(graph.retransmissions, "retransmission")
      + (graph.binned ? " (binned into time columns)" : "");
    return el("div", { "class": "seqgraph-wrap" }, [
      el("h4", null, "Time-sequence graph, " + title),
      el("p", { "class": "legend" }, graphLegend(graph, full, again, reset)), root]);
  }

  /* What the series' colours mean (retransmissions only when there are some), and the reset
   * button. */
  function graphLegend(graph, full, again, reset) {
    var legend = [el("span", { "class": "sw data" }), "data segment"];
    if (again) {
      legend.push(svg("svg", { "class": "key", width: 14, height: 20, viewBox: "0 0 14 20",
        "aria-hidden": "true" }, [
        svg("path", { "class": "bars rtx", d: "M7 20V14" }),
        svg("path", { "class": "rtx-marks", d: rtxGlyph(7, 14) })]), "retransmission");
    }
    legend.push(el("span", { "class": "sw ack" }), "ACK",
      el("span", { "class": "sw window" }), "receive window edge"
        + (full.clipped ? " (above the top of the graph, up to " + num(full.edge) + " bytes)"
          : ""));
    if (graph.marks.length) legend.push(" \u00b7 circles: findings");
    legend.push(" ", reset);
    return legend;
  }

  /* Grid, ticks and titles of the domain ``view``. */
  function drawAxes(axes, view, plot) {
    axes.replaceChildren();
    var X = scaleX(view, plot), Y = scaleY(view, plot);
    var xt = ticks(view.t0, view.t1, Math.max(3, Math.round(plot.w / 120))),
      yt = ticks(view.lo, view.hi, plot.h < 160 ? 3 : 6, 1);
    var scale = byteScale(view.lo, view.hi, yt.step);
    var bottom = MT + plot.h;
    xt.values.forEach(function (t) {
      var x = X(t);
      axes.appendChild(svg("line", { "class": "grid", x1: x, x2: x, y1: MT, y2: bottom }));
      axes.appendChild(svg("line", { "class": "axis", x1: x, x2: x, y1: bottom, y2: bottom + 5 }));
      axes.appendChild(text(x, bottom + 18, t.toFixed(decimals(xt.step)),
        { "class": "muted tick time", "text-anchor": "middle" }));
    });
    yt.values.forEach(function (v) {
      var y = Y(v);
      axes.appendChild(svg("line", { "class": "grid", x1: ML, x2: ML + plot.w, y1: y, y2: y }));
      axes.appendChild(svg("line", { "class": "axis", x1: ML - 5, x2: ML, y1: y, y2: y }));
      axes.appendChild(text(ML - 8, Number(y) + 4, scale.label(v),
        { "class": "muted tick seq", "text-anchor": "end" }));
    });
    axes.appendChild(svg("path", { "class": "axis", fill: "none",
      d: "M" + ML + " " + MT + " V" + bottom + " H" + (ML + plot.w) }));
    axes.appendChild(text(ML + plot.w / 2, plot.height - 6, "time since capture start (s)",
      { "class": "muted title", "text-anchor": "middle" }));
    // Above the axis rather than along it: a short graph is shorter than the title.
    axes.appendChild(text(8, MT - 12, "relative sequence number (" + scale.unit + ")",
      { "class": "muted title" }));
  }

  /* Pixel x of a time; far outside the plot it is held just outside, where the clip hides it
   * (a deep zoom would otherwise write coordinates of millions of pixels). */
  function scaleX(view, plot) {
    var k = plot.w / (view.t1 - view.t0);
    return function (t) {
      return Math.max(ML - 50, Math.min(ML + plot.w + 50, ML + (t - view.t0) * k)).toFixed(1);
    };
  }

  function scaleY(view, plot) {
    var k = plot.h / (view.hi - view.lo);
    return function (v) {
      return Math.max(MT - 50, Math.min(MT + plot.h + 50, MT + (view.hi - v) * k)).toFixed(1);
    };
  }

  /* The series of the domain ``view``, one path each (a graph of 100,000 segments stays one
   * element per series); true when retransmissions are drawn. */
  function drawSeries(layer, graph, view, plot, capture) {
    layer.replaceChildren();
    var X = scaleX(view, plot), Y = scaleY(view, plot);
    var bars = graph.bars, fresh = [], again = [], glyphs = [], i;
    for (i = 0; i < bars.length; i += 4) {
      if (bars[i] < view.t0 || bars[i] > view.t1 || bars[i + 2] < view.lo
          || bars[i + 1] > view.hi) continue;
      var x = X(bars[i]), ya = Number(Y(bars[i + 1])), yb = Number(Y(bars[i + 2]));
      if (ya - yb < 1) yb = ya - 1;
      (bars[i + 3] ? again : fresh).push("M" + x + " " + ya.toFixed(1) + "V" + yb.toFixed(1));
      if (bars[i + 3]) glyphs.push(rtxGlyph(Number(x), yb));
    }
    layer.appendChild(svg("path", { "class": "windows", d: steps(graph.windows, X, Y,
      view.t1) }));
    layer.appendChild(svg("path", { "class": "acks", d: steps(graph.acks, X, Y, view.t1) }));
    layer.appendChild(svg("path", { "class": "bars", d: fresh.join("") || "M0 0" }));
    if (again.length) layer.appendChild(svg("path", { "class": "bars rtx", d: again.join("") }));

    var bulk = { error: [], warning: [], info: [] };
    graph.marks.forEach(function (m) {
      if (m[0] < view.t0 || m[0] > view.t1 || m[1] < view.lo || m[1] > view.hi) return;
      var mx = Number(X(m[0])), my = Number(Y(m[1]));
      if (m[6]) {
        var href = m[5] >= 0 ? "#finding-" + m[5] : "#frame-" + capture + "-" + m[2];
        var a = svg("a", { href: href });
        a.appendChild(svg("circle", { "class": "mark sev-" + m[4], cx: mx.toFixed(1),
          cy: my.toFixed(1), r: m[4] === "info" ? 3 : 5.5, "data-frame": m[2] },
          svg("title", null, m[3] + " (" + m[4] + ") at frame " + m[2])));
        layer.appendChild(a);
      } else {
        bulk[m[4]].push("M" + mx.toFixed(1) + " " + (my - 3).toFixed(1) + "l3 3l-3 3l-3 -3z");
      }
    });
    Object.keys(bulk).forEach(function (severity) {
      if (bulk[severity].length) {
        layer.appendChild(svg("path", { "class": "mark sev-" + severity,
          d: bulk[severity].join("") }));
      }
    });
    // Over the finding marks: a retransmission often has one (a duplicate ACK before it).
    if (glyphs.length) layer.appendChild(svg("path", { "class": "rtx-marks", d: glyphs.join("") }));
    return again.length > 0;
  }

  /* Wheel, drag and keys change ``view`` within ``full`` and repaint (once per frame). */
  function zoomable(root, view, full, plot, paint, reset) {
    var pending = false;
    function isWhole() {
      return view.t0 === full.t0 && view.t1 === full.t1 && view.lo === full.lo
        && view.hi === full.hi;
    }
    function repaint() {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () { pending = false; paint(); });
    }
    function set(t0, t1, lo, hi) {
      var t = clampSpan(t0, t1, full.t0, full.t1, MIN_SECONDS);
      var v = clampSpan(lo, hi, full.lo, full.hi, MIN_BYTES);
      view.t0 = t[0]; view.t1 = t[1]; view.lo = v[0]; view.hi = v[1];
      repaint();
    }
    /* Zoom by ``factor`` (below 1: in) around the point at plot fractions (fx, fy). */
    function zoom(factor, fx, fy) {
      var tp = view.t0 + fx * (view.t1 - view.t0), vp = view.hi - fy * (view.hi - view.lo);
      set(tp - (tp - view.t0) * factor, tp + (view.t1 - tp) * factor,
        vp - (vp - view.lo) * factor, vp + (view.hi - vp) * factor);
    }
    function pan(fx, fy) {
      var dt = fx * (view.t1 - view.t0), dv = fy * (view.hi - view.lo);
      set(view.t0 - dt, view.t1 - dt, view.lo + dv, view.hi + dv);
    }
    /* The pointer's position as fractions of the plot, or null outside it. */
    function inPlot(event) {
      var r = root.getBoundingClientRect();
      var sx = r.width / Number(root.getAttribute("width"));
      var fx = ((event.clientX - r.left) / sx - ML) / plot.w;
      var fy = ((event.clientY - r.top) / sx - MT) / plot.h;
      return fx >= 0 && fx <= 1 && fy >= 0 && fy <= 1 ? [fx, fy] : null;
    }
    root.addEventListener("wheel", function (event) {
      var at = inPlot(event);
      // Zooming out of the whole graph does nothing: the page scrolls instead.
      if (!at || (event.deltaY > 0 && isWhole())) return;
      event.preventDefault();
      var pixels = event.deltaY * (event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? 400 : 1);
      zoom(Math.exp(pixels * WHEEL_ZOOM), at[0], at[1]);
    }, { passive: false });
    var drag = null;
    root.addEventListener("pointerdown", function (event) {
      if (event.button !== 0 || !inPlot(event) || event.target.closest("a")) return;
      drag = { x: event.clientX, y: event.clientY };
      root.setPointerCapture(event.pointerId);
      root.classList.add("panning");
    });
    root.addEventListener("pointermove", function (event) {
      if (!drag) return;
      var r = root.getBoundingClientRect();
      var sx = r.width / Number(root.getAttribute("width"));
      pan((event.clientX - drag.x) / sx / plot.w, (event.clientY - drag.y) / sx / plot.h);
      drag = { x: event.clientX, y: event.clientY };
    });
    function endDrag() {
      drag = null;
      root.classList.remove("panning");
    }
    root.addEventListener("pointerup", endDrag);
    root.addEventListener("pointercancel", endDrag);
    function resetView() { set(full.t0, full.t1, full.lo, full.hi); }
    reset.addEventListener("click", resetView);
    var keys = { "+": [1 / KEY_ZOOM], "=": [1 / KEY_ZOOM], "-": [KEY_ZOOM],
      ArrowLeft: [null, 0.1, 0], ArrowRight: [null, -0.1, 0], ArrowUp: [null, 0, -0.1],
      ArrowDown: [null, 0, 0.1] };
    root.addEventListener("keydown", function (event) {
      if (event.key === "0" || event.key === "Home") resetView();
      else if (keys[event.key] && keys[event.key][0] !== null) zoom(keys[event.key][0], 0.5, 0.5);
      else if (keys[event.key]) pan(keys[event.key][1], keys[event.key][2]);
      else return;
      event.preventDefault();
    });
  }

  /* [lo, hi] moved and shrunk into [min, max], at least ``least`` wide (when the whole is). */
  function clampSpan(lo, hi, min, max, least) {
    if (hi - lo >= max - min) return [min, max];
    var span = Math.max(hi - lo, Math.min(least, max - min));
    var mid = (lo + hi) / 2;
    lo = Math.max(min, Math.min(max - span, mid - span / 2));
    return [lo, lo + span];
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

