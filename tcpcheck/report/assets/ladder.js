/* Part 3: ladder diagrams, laid out to the width of their box.
 *
 * Columns, left to right: frame, time, the client's state changes (right-aligned against its
 * line), the client's line, the arrows, the server's line, the server's state changes, the
 * finding codes. Each column is as wide as the longest text it holds (monospace: characters
 * times one measured character width), so a ladder needs no more room than its text; extra
 * room goes to the arrows, up to SPAN_MAX. When the box is narrower than the ladder with state
 * changes on one line, they take two ("ESTABLISHED →" over "CLOSE_WAIT") and the notes under
 * the arrows wrap shorter; only when even that does not fit, because a label would overlap
 * another, is the ladder wider than its box, which then scrolls. */

  var G = data.ladder;
  var EDGE = 8;
  /* Pixels between the frame, time and state columns. */
  var COLUMN_GAP = 16;
  /* Pixels from an endpoint's line to its state text. */
  var BESIDE = 12;
  /* Pixels from an endpoint's line to the text between the lines (labels, notes). */
  var INSIDE = 14;
  /* Characters a note or a stretch's summary line keeps at least, however narrow the box. */
  var MIN_NOTE_CHARS = 32;
  /* The widest the arrows get, in pixels: longer ones only spread a row's text apart. */
  var SPAN_MAX = 640;
  /* Pixels between the lines of a state change written on two lines. */
  var STATE_LEADING = 14;
  var charWidth = null;

  function changeText(change) { return change[0] + " \u2192 " + change[1]; }

  /* The width of a character of 12 px monospace text in this browser, measured once. */
  function monoWidth() {
    if (charWidth === null) {
      var probe = svg("svg", { width: 0, height: 0, "aria-hidden": "true",
        style: "position:absolute" }, text(0, 0, "0000000000"));
      document.body.appendChild(probe);
      var measured = probe.firstChild.getComputedTextLength() / 10;
      probe.remove();
      charWidth = measured > 0 ? measured : 7.25;
    }
    return charWidth;
  }

  /* A state change as written beside its line: one line, or two in a narrow ladder. The
   * space between them belongs to the line that hides it (its outer end), so that the
   * element's text still reads "BEFORE → AFTER". */
  function changeLines(change, split, side) {
    if (!split) return [changeText(change)];
    return side === "client" ? [change[0] + " \u2192", " " + change[1]]
      : [change[0] + " \u2192 ", change[1]];
  }

  /* The state an endpoint was left in, under its line; "(end of capture)" when the end of the
   * capture changed it without a segment. */
  function finalLines(conn, side, split) {
    var change = conn.finalChange[side];
    if (!change) return [conn.final[side]];
    return split ? [change[0] + " \u2192", " " + change[1], " (end of capture)"]
      : [changeText(change) + " (end of capture)"];
  }

  function rowLabel(row) { return (row.retransmission ? "\u21bb " : "") + row.label; }

  function codesWidth(findings, cw) {
    return findings.reduce(function (sum, f) { return sum + f[1].length * cw + 10; }, 0);
  }

  /* Greedy word wrap to ``chars`` characters, later lines indented by ``indent``. */
  function wrap(words, chars, indent) {
    var lines = [], line = "";
    words.split(" ").forEach(function (word) {
      if (line && (line + " " + word).length > chars) {
        lines.push(line);
        line = indent + word;
      } else {
        line = line ? line + " " + word : word;
      }
    });
    if (line) lines.push(line);
    return lines;
  }

  /* Where everything of ``conn``'s ladder goes in a box ``room`` pixels wide: x of the frame
   * and time columns' right edges, of the endpoint lines and of the codes; the width; whether
   * state changes take two lines; characters per line of the notes between the lines. */
  function ladderLayout(conn, room) {
    var texts = ladderText(conn);
    var frame = EDGE + texts.widest(texts.frames);
    var time = frame + COLUMN_GAP + texts.widest(texts.times);
    var note = texts.width("0", 11);
    for (var split = 0; split < 2; split++) {
      var client = sideWidths(conn, texts, "client", split);
      var server = sideWidths(conn, texts, "server", split);
      var left = time + COLUMN_GAP + Math.max(client.centred / 2,
        client.beside ? BESIDE + client.beside : 0);
      var codesAt = BESIDE + (server.beside ? server.beside + COLUMN_GAP : 0);
      var right = EDGE + Math.max(server.centred / 2, texts.codes ? codesAt + texts.codes
        : server.beside ? BESIDE + server.beside : 0);
      var spanMin = Math.max(texts.widest(texts.labels) + 2 * INSIDE,
        texts.widest(texts.answers, 10) + 2 * INSIDE, MIN_NOTE_CHARS * note + 2 * INSIDE,
        (client.centred + server.centred) / 2 + COLUMN_GAP);
      if (left + spanMin + right <= room || split) {
        var span = Math.max(spanMin, Math.min(SPAN_MAX, room - left - right));
        return { frame: frame, time: time, client: left, server: left + span,
          codes: left + span + codesAt, width: Math.floor(left + span + right),
          split: Boolean(split), room: room,
          noteChars: Math.floor((span - 2 * INSIDE) / note) };
      }
    }
  }

  /* The texts of the ladder's columns, and how wide a text is at a font size. */
  function ladderText(conn) {
    var cw = monoWidth();
    function width(s, size) { return s.length * cw * (size || 12) / 12; }
    var out = { rows: [], frames: ["frame"], times: ["time (s)"], labels: [], answers: [],
      codes: 0, width: width, widest: function (list, size) {
        return list.reduce(function (m, s) { return Math.max(m, width(s, size)); }, 0);
      } };
    conn.items.forEach(function (item) {
      if (item.file) return;
      if (item.collapsed) {
        out.times.push("\u2013 " + seconds(item.collapsed.end));
        return;
      }
      out.rows.push(item);
      out.frames.push(shown(item));
      out.times.push(seconds(item.time));
      out.labels.push(rowLabel(item));
      (item.answers || []).forEach(function (a) { out.answers.push("\u21b3 " + a.text); });
      out.codes = Math.max(out.codes, codesWidth(item.findings || [], cw));
    });
    return out;
  }

  /* How far an endpoint's text reaches from its line: ``beside`` (state changes, written from
   * the line outwards) and ``centred`` (role, address, first and last state, centred on it). */
  function sideWidths(conn, texts, name, split) {
    var beside = [];
    texts.rows.forEach(function (row) {
      var change = row[name + "Change"];
      if (change) beside = beside.concat(changeLines(change, split, name));
    });
    return { beside: texts.widest(beside), centred: Math.max(texts.width(name, 13),
      texts.width(conn[name]), texts.width(conn.initial[name], 13),
      texts.widest(finalLines(conn, name, split), 13)) };
  }

  /* The lines of a row's owed-reply notes as drawn: html.py's wrapping when the ladder has
   * room for its lines, else wrapped again to the room there is. */
  function noteLines(row, L) {
    return (row.owes || []).map(function (note) {
      if (L.noteChars >= data.noteChars) return { owes: note.lines, settled: note.settled };
      function again(lines) {
        return wrap(lines.map(function (line) { return line.trim(); }).join(" "),
          L.noteChars, "  ");
      }
      return { owes: again(note.lines), settled: again(note.settled) };
    });
  }

  /* A row's height: the segment, then a line per line of its owed replies' notes. */
  function rowHeight(notes) {
    var lines = 0;
    notes.forEach(function (note) { lines += note.owes.length + note.settled.length; });
    return G.row + lines * G.note;
  }

  /* A row's frame number as written: a stitched set's rows give their own file's. */
  function shown(row) { return row.shown || String(row.frame); }

  function gapWords(gap) {
    var bytes = [];
    if (gap.clientBytes) bytes.push(num(gap.clientBytes) + " bytes client\u2192server");
    if (gap.serverBytes) bytes.push(num(gap.serverBytes) + " bytes server\u2192client");
    if (!bytes.length) bytes.push("no data");
    var frames = gap.shown || [gap.firstFrame, gap.lastFrame];
    return "\u2026 " + plural(gap.count, "segment") + ", frames " + frames[0]
      + "\u2013" + frames[1] + ", " + bytes.join(", ") + ", "
      + plural(gap.retransmissions, "retransmission") + " \u2026";
  }

  function drawLadder(conn, box) {
    box.replaceChildren();
    var L = ladderLayout(conn, contentWidth(box));
    var items = conn.items;
    // What each item needs: a row its notes, a collapsed stretch its summary's lines.
    var parts = items.map(function (item) {
      if (item.file) return [item.file];
      return item.collapsed ? wrap(gapWords(item.collapsed), L.noteChars, "")
        : noteLines(item, L);
    });
    var finals = { client: finalLines(conn, "client", L.split),
      server: finalLines(conn, "server", L.split) };
    var height = G.top + G.bottom
      + (Math.max(finals.client.length, finals.server.length) - 1) * 16;
    items.forEach(function (item, i) {
      height += item.collapsed || item.file ? gapHeight(parts[i]) : rowHeight(parts[i]);
    });
    var root = svg("svg", {
      "class": "ladder-svg", width: L.width, height: height,
      viewBox: "0 0 " + L.width + " " + height, role: "img",
      "data-split": L.split ? "1" : null,
      "aria-label": "ladder diagram of connection " + conn.connection
    });
    // Endpoints: role, address, state before the first segment.
    [["client", L.client, conn.client], ["server", L.server, conn.server]].forEach(function (e) {
      root.appendChild(text(e[1], 18, e[0], { "class": "role " + e[0], "text-anchor": "middle" }));
      root.appendChild(text(e[1], 36, e[2], { "class": "muted", "text-anchor": "middle" }));
      root.appendChild(text(e[1], 62, conn.initial[e[0]], {
        "class": "state initial", "data-side": e[0], "text-anchor": "middle"
      }));
    });
    root.appendChild(text(L.frame, 62, "frame", { "class": "muted", "text-anchor": "end" }));
    root.appendChild(text(L.time, 62, "time (s)", { "class": "muted", "text-anchor": "end" }));

    // Drawn last, over the rows' highlight bands, so the lines never look broken.
    var lines = svg("g", { "class": "lifelines" });
    var y = G.top;
    var rowY = {};
    var solidFrom = G.top - 20;
    function lifeline(y1, y2, dashed) {
      [L.client, L.server].forEach(function (x) {
        lines.appendChild(svg("line", { "class": "lifeline" + (dashed ? " dashed" : ""),
          x1: x, x2: x, y1: y1, y2: y2 }));
      });
    }
    items.forEach(function (item, i) {
      if (item.file) {
        root.appendChild(drawFile(item.file, y, L));
        y += gapHeight(parts[i]);
      } else if (item.collapsed) {
        var h = gapHeight(parts[i]);
        lifeline(solidFrom, y + 4, false);
        lifeline(y + 4, y + h - 4, true);
        solidFrom = y + h - 4;
        root.appendChild(drawGap(item.collapsed, y, conn.capture, L, parts[i]));
        y += h;
      } else {
        root.appendChild(drawRow(item, y, conn.capture, L, parts[i]));
        rowY[item.frame] = y;
        y += rowHeight(parts[i]);
      }
    });
    lifeline(solidFrom, y + 8, false);
    root.appendChild(replyLinks(items, rowY, L));
    root.appendChild(lines);
    // States at the end, with the change the end of the capture made without a segment.
    ["client", "server"].forEach(function (side) {
      root.appendChild(multiline(side === "client" ? L.client : L.server, y + 30, finals[side],
        16, { "class": "state final", "data-side": side, "text-anchor": "middle" }));
    });
    root.appendChild(text(L.time, y + 30, "end", { "class": "muted", "text-anchor": "end" }));
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
    box.setAttribute("data-room", String(L.room));
  }

  /* A text of one line, or of several (tspans) ``leading`` pixels apart; the element's text
   * is the lines joined, so a reader or a test reads it whole. */
  function multiline(x, y, lines, leading, attrs) {
    if (lines.length === 1) return text(x, y, lines[0], attrs);
    var node = text(x, y, "", attrs);
    lines.forEach(function (line, i) {
      node.appendChild(svg("tspan", { x: x, dy: i ? leading : 0 }, line));
    });
    return node;
  }

  function drawRow(row, y, capture, L, notes) {
    var findings = row.findings || [];
    var fromClient = row.fromClient;
    var classes = "seg " + (fromClient ? "from-client" : "from-server");
    if (row.severity) classes += " hl sev-" + row.severity;
    if (row.retransmission) classes += " rtx";
    var g = svg("g", { "class": classes, id: "frame-" + (row.at || capture + "-" + row.frame),
      "data-frame": row.frame });
    var tip = "frame " + shown(row) + " \u00b7 " + seconds(row.time) + " s \u00b7 "
      + (fromClient ? "client \u2192 server" : "server \u2192 client") + " \u00b7 " + row.label;
    if (row.observations) tip += " \u00b7 " + row.observations.join(", ");
    findings.forEach(function (f) { tip += "\n" + f[1] + " (" + f[2] + ")"; });
    g.appendChild(svg("title", null, tip));
    // The row's body links to the first finding's card when the row is highlighted.
    var body = findings.length
      ? svg("a", { href: "#finding-" + findings[0][0], "class": "row-link" })
      : svg("g");
    g.appendChild(body);
    var h = rowHeight(notes);
    body.appendChild(svg("rect", { "class": "hl-bg", x: 0, y: y + 2, width: L.codes - 10,
      height: h - 4, rx: 4 }));
    if (row.severity) {
      body.appendChild(svg("line", { "class": "hl-edge", x1: 2, x2: 2, y1: y + 3,
        y2: y + h - 3 }));
    }
    // From the top of the row: label, arrow, then the retransmission tag under the arrow.
    var base = y + 24;
    body.appendChild(text(L.frame, base, shown(row), { "text-anchor": "end" }));
    body.appendChild(text(L.time, base, seconds(row.time),
      { "class": "muted", "text-anchor": "end" }));
    var x1 = fromClient ? L.client : L.server, x2 = fromClient ? L.server : L.client;
    var dir = fromClient ? 1 : -1;
    var y1 = y + 18, y2 = y + 23;
    var tipX = x2 - dir * 2;
    body.appendChild(svg("line", { "class": "arrow", x1: x1 + dir * 2, y1: y1,
      x2: tipX - dir * 9, y2: y2 }));
    body.appendChild(svg("path", { "class": "head",
      d: "M" + tipX + " " + y2 + " l" + (-dir * 11) + " -4.5 v9 z" }));
    body.appendChild(text((L.client + L.server) / 2, y + 14, rowLabel(row),
      { "class": "label", "text-anchor": "middle" }));
    if (row.retransmission) {
      body.appendChild(text(x1 + dir * 8, y + 33, "retransmission",
        { "class": "rtx-tag", "text-anchor": fromClient ? "start" : "end", "font-size": 10 }));
    }
    // State changes beside their endpoint's line; on two lines they straddle the arrow.
    var top = L.split ? y + 17 : base;
    [["client", row.clientChange, L.client - BESIDE, "end"],
      ["server", row.serverChange, L.server + BESIDE, "start"]].forEach(function (s) {
      if (!s[1]) return;
      g.appendChild(multiline(s[2], top, changeLines(s[1], L.split, s[0]), STATE_LEADING, {
        "class": "state", "data-side": s[0], "data-frame": row.frame, "text-anchor": s[3]
      }));
    });
    var x = L.codes;
    findings.forEach(function (f) {
      var a = svg("a", { href: "#finding-" + f[0] });
      a.appendChild(text(x, base, f[1], { "class": "code sev-" + f[2] }));
      g.appendChild(a);
      x += f[1].length * monoWidth() + 10;
    });
    drawAnswers(g, row, y, capture, L);
    drawOwed(g, row, y, capture, L, notes);
    return g;
  }

  function gapHeight(lines) { return G.gap + (lines.length - 1) * G.note; }

  /* Where a stitched set's next file starts: the frame numbers below are that file's. */
  function drawFile(path, y, L) {
    var g = svg("g", { "class": "file-change", "data-file": path });
    var mid = y + G.gap / 2;
    g.appendChild(svg("line", { "class": "file-rule", x1: 0, x2: L.width - EDGE,
      y1: mid, y2: mid }));
    g.appendChild(text((L.client + L.server) / 2, mid - 6, "\u2014 " + path + " \u2014",
      { "class": "file-name", "text-anchor": "middle" }));
    return g;
  }

  /* A collapsed stretch: a band across the ladder, the lines dashed through it, and its
   * summary wrapped between the lines, clear of them. */
  function drawGap(gap, y, capture, L, lines) {
    var h = gapHeight(lines);
    var g = svg("g", { "class": "gap", id: "gap-" + capture + "-" + gap.firstFrame,
      "data-first": gap.firstFrame, "data-last": gap.lastFrame });
    g.appendChild(svg("rect", { "class": "gap-band", x: L.time + COLUMN_GAP, y: y + 8,
      width: L.width - L.time - COLUMN_GAP - EDGE, height: h - 16, rx: 4 }));
    var first = y + (h - lines.length * G.note) / 2 + 12;
    g.appendChild(multiline((L.client + L.server) / 2, first, lines, G.note,
      { "class": "summary", "text-anchor": "middle" }));
    g.appendChild(text(L.time, y + h / 2 - 3, seconds(gap.start),
      { "class": "muted", "text-anchor": "end" }));
    g.appendChild(text(L.time, y + h / 2 + 13, "\u2013 " + seconds(gap.end),
      { "class": "muted", "text-anchor": "end" }));
    g.appendChild(text(L.frame, y + h / 2 + 4, "\u22ee", { "class": "muted",
      "text-anchor": "end" }));
    return g;
  }

  // ---------------------------------------------------------------- owed replies

  /* Under the arrow of a segment that left its receiver owing a reply: what was owed and how
   * it was settled (``notes``: their lines as drawn), linked to the reply's row when there is
   * one. */
  function drawOwed(g, row, y, capture, L, notes) {
    var line = y + G.row + 8;
    (row.owes || []).forEach(function (note, i) {
      var met = note.outcome === "answered" || note.outcome === "rate-limited";
      var group = svg("g", { "class": "owed" + (note.severity ? " sev-" + note.severity
        : met ? " met" : ""),
        "data-frame": note.frame, "data-reply-frame": note.replyFrame, "data-kind": note.kind,
        "data-outcome": note.outcome });
      group.appendChild(svg("title", null, note.reason));
      notes[i].owes.forEach(function (words) {
        group.appendChild(text(L.client + INSIDE, line, words, { "class": "owes" }));
        line += G.note;
      });
      var settled = note.replyFrame !== null
        ? svg("a", { href: "#frame-" + capture + "-" + note.replyFrame, "class": "settled" })
        : svg("g", { "class": "settled" });
      notes[i].settled.forEach(function (words) {
        settled.appendChild(text(L.client + INSIDE, line, words));
        line += G.note;
      });
      group.appendChild(settled);
      linkHover(group, note.frame, note.replyFrame);
      g.appendChild(group);
    });
  }

  /* Under the arrow of a reply: the segment it answers, linked to that row. */
  function drawAnswers(g, row, y, capture, L) {
    var x = (L.client + L.server) / 2;
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
  function replyLinks(items, rowY, L) {
    var layer = svg("g", { "class": "reply-links" });
    items.forEach(function (item) {
      (item.owes || []).forEach(function (note) {
        var ya = rowY[note.frame], yb = rowY[note.replyFrame];
        if (ya === undefined || yb === undefined || note.frame === note.replyFrame) return;
        var client = note.side === "client";
        var x = client ? L.client : L.server, out = client ? -16 : 16;
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
