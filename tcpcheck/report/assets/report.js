/* Part 5: explanation cards, connection sections and navigation; sets everything up. */

  function drawCards(conn, box) {
    box.replaceChildren();
    if (!conn.cards.length) return;
    box.appendChild(el("h3", null, "Findings on this ladder"));
    conn.cards.forEach(function (card) {
      var rule = rulesBySlug[card.rule] || { summary: "", what: [], why: [] };
      var frameHref = "#frame-" + (card.at || conn.capture + "-" + card.frame);
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

  /* The data of each drawn section, by id: a window resized lays its pictures out again. */
  var drawn = new Map();

  function render(section) {
    if (section.getAttribute("data-rendered") === "1") return;
    var conn = diagramData(section.id);
    drawn.set(section.id, conn);
    drawPictures(section, conn);
    drawCards(conn, section.querySelector(".cards"));
    section.setAttribute("data-rendered", "1");
  }

  function drawPictures(section, conn) {
    drawLadder(conn, section.querySelector(".ladder"));
    var graphs = section.querySelector(".seqgraphs");
    graphs.replaceChildren();
    conn.graphs.forEach(function (graph) {
      graphs.appendChild(drawGraph(graph, conn.capture, conn.connection, graphs));
    });
  }

  /* A drawn, open section whose ladder's box changed width (the window was resized, maybe
   * while it was closed) is drawn again to fit it. */
  function refit(section) {
    var conn = drawn.get(section.id);
    var box = section.querySelector(".ladder");
    if (conn && section.open && box.clientWidth > 0
        && box.getAttribute("data-room") !== String(contentWidth(box))) {
      drawPictures(section, conn);
    }
  }

  function setupSections() {
    window.addEventListener("resize", debounce(function () {
      drawn.forEach(function (conn, id) { refit(document.getElementById(id)); });
    }));
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
      if (section.open) {
        render(section);
        refit(section);
      }
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
      var home = openSection(connectionCapture(Number(m[1])), f[F.connection]);
      // A finding whose row is collapsed has no card: show where its frame is instead (a
      // stitched set's later file is no capture of its section's: the section, then).
      var card = document.getElementById("finding-" + m[1])
        || frameTarget(f[F.capture], f[F.frame]) || home;
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
