/* ics_model report page script (MIT licence, the project's own).
 *
 * Three things, all offline (nothing is loaded from anywhere):
 *  1. Interactive tables: every table with a JSON payload becomes a Tabulator table
 *     (sortable, searchable, downloadable as CSV from the page); long tables are inside a
 *     closed <details> and are built when opened.
 *  2. The weight explorer: sliders for pillar and indicator weights re-rank the ICSs from
 *     the normalised indicator matrix embedded in the page, with the arithmetic of
 *     ics_model.composite (two-level weighted means over the indicators each ICS has, the
 *     weights renormalised; coverage and min_coverage; ties share the lowest rank).
 *  3. Find my ICB: one selector shows the picked system's outline or ring in every chart
 *     drawn as SVG (elements of class "icbsel" with data-icb = its code) and marks its row
 *     in every table.
 */
(function () {
  "use strict";

  var TABLES = [];
  var NULLS_LAST = { alignEmptyValues: "bottom" };
  var PICKED = null;
  var INT = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 });

  // ------------------------------------------------------------------ numbers
  // As ics_model.report_html.number: separators above 1,000, 2 decimals from 1, `digits`
  // significant digits below 1, no padding zeros, NaN and infinities in words.
  function strip(s) {
    if (s.indexOf(".") < 0 || s.indexOf("e") >= 0) return s;
    return s.replace(/0+$/, "").replace(/\.$/, "");
  }
  function number(v, kind, digits) {
    if (v === null || v === undefined) return "";
    if (typeof v !== "number") return String(v);
    if (kind === "int") return INT.format(v);
    if (Number.isNaN(v)) return "n/a";
    if (!Number.isFinite(v)) return v > 0 ? "unbounded" : "-unbounded";
    var size = Math.abs(v);
    if (size >= 1000) return INT.format(v);
    if (size >= 1 || v === 0) return strip(v.toFixed(2));
    if (size < 1e-4) {
      return v.toExponential(digits - 1).replace(/\.?0+e/, "e").replace(/e([+-])(\d)$/, "e$10$2");
    }
    return strip(v.toPrecision(digits));
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function markRow(field) {
    return function (row) {
      var on = field !== null && PICKED !== null && row.getData()[field] === PICKED;
      row.getElement().classList.toggle("picked", on);
    };
  }

  // ------------------------------------------------------------------ tables
  function buildTable(box) {
    if (box.getAttribute("data-ready")) return;
    box.setAttribute("data-ready", "1");
    var spec = JSON.parse(box.querySelector("script[type='application/json']").textContent);
    var icbField = null;
    var cols = spec.columns.map(function (c, i) {
      var col = { title: c.title, field: "c" + i, headerTooltip: c.title };
      if (c.title === "icb_code") icbField = "c" + i;
      if (c.kind !== "str") {
        col.sorter = "number";
        col.sorterParams = { alignEmptyValues: "bottom" };
        col.hozAlign = "right";
        col.formatter = function (cell) {
          return number(cell.getValue(), c.kind, spec.digits);
        };
      }
      return col;
    });
    var rows = spec.rows.map(function (r) {
      var o = {};
      r.forEach(function (v, i) {
        o["c" + i] = v;
      });
      return o;
    });
    var bar = el("div", "tbar");
    var search = el("input");
    search.type = "search";
    search.placeholder = "Search this table";
    search.setAttribute("aria-label", "Search this table");
    var csv = el("button", null, "Download CSV");
    csv.type = "button";
    var count = el("span", "tcount", rows.length + " rows");
    bar.appendChild(search);
    bar.appendChild(csv);
    bar.appendChild(count);
    var holder = el("div", "tholder");
    var fallback = box.querySelector("table.static");
    box.insertBefore(bar, fallback);
    box.insertBefore(holder, fallback);
    var table = new Tabulator(holder, {
      data: rows,
      columns: cols,
      layout: "fitDataStretch",
      maxHeight: rows.length > 15 ? "34rem" : false,
      rowFormatter: markRow(icbField),
      placeholder: "No matching rows",
    });
    fallback.hidden = true;
    search.addEventListener("input", function () {
      var q = search.value.trim().toLowerCase();
      if (!q) {
        table.clearFilter();
      } else {
        table.setFilter(function (d) {
          return Object.keys(d).some(function (k) {
            var v = d[k];
            return v !== null && String(v).toLowerCase().indexOf(q) >= 0;
          });
        });
      }
    });
    table.on("dataFiltered", function (filters, shown) {
      count.textContent = shown.length + " of " + rows.length + " rows";
    });
    csv.addEventListener("click", function () {
      table.download("csv", spec.name + ".csv");
    });
    TABLES.push(table);
  }

  function tables() {
    document.querySelectorAll("div.itable").forEach(function (box) {
      var closed = box.closest("details:not([open])");
      if (!closed) {
        buildTable(box);
      } else {
        closed.addEventListener("toggle", function () {
          if (closed.open) buildTable(box);
        });
      }
    });
  }

  // ------------------------------------------------------------------ composite
  function positive(y) {
    return y > 0;
  }
  function domainOf(method, p) {
    if (method === "geometric" || method === "harmonic") return positive;
    if (method === "generalised" && p !== 1) {
      return p > 0 ? function (y) { return y >= 0; } : positive;
    }
    return null;
  }

  // One weighted mean of values ys (finite) with weights ws (>= 0, some > 0), the
  // weights first renormalised to sum to 1 (ics_model.composite.methods.reweighted_mean).
  function mean(method, p, ys, ws) {
    var total = 0, i;
    for (i = 0; i < ws.length; i++) total += ws[i];
    if (!(total > 0)) return NaN;
    var e = ws.map(function (w) { return w / total; });
    var num = 0, den = 0;
    if (method === "generalised" && p === 1) method = "arithmetic";
    if (method === "generalised" && p === 0) method = "geometric";
    for (i = 0; i < ys.length; i++) {
      if (e[i] === 0) continue;
      den += e[i];
      if (method === "arithmetic") num += e[i] * ys[i];
      else if (method === "geometric") num += e[i] * Math.log(ys[i]);
      else if (method === "harmonic") num += e[i] / ys[i];
      else num += e[i] * Math.expm1(p * Math.log(ys[i]));
    }
    if (method === "arithmetic") return num / den;
    if (method === "geometric") return Math.exp(num / den);
    if (method === "harmonic") return den / num;
    return Math.exp(Math.log1p(num / den) / p);
  }

  // Scores and ranks of every ICS for pillar weights W and indicator weights w.
  // Returns {score, scaled, rank, coverage} arrays, or {error} when the weights cannot
  // make a composite (as ics_model.composite.spec would refuse them).
  function compose(X, W, w) {
    var nP = X.pillars.length, k = X.indicators.length, n = X.codes.length;
    var q, i, c;
    var totalW = W.reduce(function (a, b) { return a + b; }, 0);
    if (!(totalW > 0)) return { error: "At least one pillar needs a weight above 0." };
    var within = new Array(nP).fill(0);
    for (i = 0; i < k; i++) within[X.indicators[i].pillar] += w[i];
    for (q = 0; q < nP; q++) {
      if (!(within[q] > 0)) {
        return { error: "Pillar " + X.pillars[q].name + ": at least one indicator needs a weight above 0." };
      }
    }
    var nominal = X.indicators.map(function (ind, j) {
      return (W[ind.pillar] / totalW) * (w[j] / within[ind.pillar]);
    });
    var score = new Array(n), coverage = new Array(n);
    for (c = 0; c < n; c++) {
      var ps = [], pw = [];
      for (q = 0; q < nP; q++) {
        var ys = [], ws = [];
        for (i = 0; i < k; i++) {
          var y = X.values[c][i];
          if (X.indicators[i].pillar !== q || y === null) continue;
          var dom = domainOf(X.pillars[q].method, X.p);
          if (dom && !dom(y)) {
            return { error: X.pillars[q].method + " aggregation needs values in its domain; " + X.codes[c] + " has " + y + " for " + X.indicators[i].name + "." };
          }
          ys.push(y);
          ws.push(w[i]);
        }
        var m = mean(X.pillars[q].method, X.p, ys, ws);
        if (!Number.isNaN(m)) {
          var domO = domainOf(X.overall, X.p);
          if (domO && !domO(m)) {
            return { error: X.overall + " aggregation across pillars needs pillar scores in its domain." };
          }
          ps.push(m);
          pw.push(W[q]);
        }
      }
      score[c] = mean(X.overall, X.p, ps, pw);
      var cov = 0;
      for (i = 0; i < k; i++) if (X.counted[c][i]) cov += nominal[i];
      coverage[c] = cov;
      if (cov < X.min_coverage || Number.isNaN(score[c])) score[c] = null;
    }
    var ranked = score.filter(function (s) { return s !== null; });
    var lo = Math.min.apply(null, ranked), hi = Math.max.apply(null, ranked);
    var scaled = score.map(function (s) {
      if (s === null) return null;
      return hi > lo ? ((s - lo) / (hi - lo)) * 100 : 50;
    });
    var rank = score.map(function (s) {
      if (s === null) return null;
      return 1 + ranked.filter(function (o) { return o > s; }).length;
    });
    return { score: score, scaled: scaled, rank: rank, coverage: coverage };
  }

  function slider(label, value, onInput) {
    var row = el("label", "wrow");
    row.appendChild(el("span", "wname", label));
    var input = el("input");
    input.type = "range";
    input.min = "0";
    input.max = "5";
    input.step = "0.25";
    input.value = String(value);
    var out = el("output", "wval", String(value));
    input.addEventListener("input", function () {
      out.textContent = input.value;
      onInput(parseFloat(input.value));
    });
    row.appendChild(input);
    row.appendChild(out);
    return { row: row, input: input, out: out };
  }

  function explorer() {
    var root = document.getElementById("explorer");
    var data = document.getElementById("explorer-data");
    if (!root || !data) return;
    var X = JSON.parse(data.textContent);
    var W = X.pillars.map(function (p) { return p.weight; });
    var w = X.indicators.map(function (i) { return i.weight; });
    var controls = el("div", "wcontrols");
    var pillarBox = el("fieldset");
    pillarBox.appendChild(el("legend", null, "Pillar weights"));
    var sliders = [];
    X.pillars.forEach(function (p, q) {
      var s = slider(p.name, W[q], function (v) { W[q] = v; update(); });
      s.input.setAttribute("data-pillar", p.name);
      sliders.push([s, function () { return X.pillars[q].weight; }]);
      pillarBox.appendChild(s.row);
    });
    var indBox = el("details");
    indBox.appendChild(el("summary", null, "Indicator weights (within their pillar)"));
    X.indicators.forEach(function (ind, j) {
      var s = slider(ind.name + " (" + X.pillars[ind.pillar].name + ")", w[j], function (v) { w[j] = v; update(); });
      s.input.setAttribute("data-indicator", ind.name);
      sliders.push([s, function () { return X.indicators[j].weight; }]);
      indBox.appendChild(s.row);
    });
    var reset = el("button", null, "Reset to the run's weights");
    reset.type = "button";
    reset.addEventListener("click", function () {
      W = X.pillars.map(function (p) { return p.weight; });
      w = X.indicators.map(function (i) { return i.weight; });
      sliders.forEach(function (pair) {
        var v = pair[1]();
        pair[0].input.value = String(v);
        pair[0].out.textContent = String(v);
      });
      update();
    });
    controls.appendChild(pillarBox);
    controls.appendChild(indBox);
    controls.appendChild(reset);
    var message = el("p", "wmessage");
    var holder = el("div", "tholder");
    root.appendChild(controls);
    root.appendChild(message);
    root.appendChild(holder);
    var table = new Tabulator(holder, {
      data: [],
      index: "icb_code",
      layout: "fitDataStretch",
      maxHeight: "34rem",
      rowFormatter: markRow("icb_code"),
      initialSort: [{ column: "rank", dir: "asc" }],
      columns: [
        { title: "rank", field: "rank", sorter: "number", sorterParams: NULLS_LAST, hozAlign: "right" },
        { title: "run's rank", field: "run_rank", sorter: "number", sorterParams: NULLS_LAST, hozAlign: "right" },
        {
          title: "change", field: "change", sorter: "number", sorterParams: NULLS_LAST, hozAlign: "right",
          formatter: function (cell) {
            var v = cell.getValue();
            if (v === null || v === undefined) return "";
            return v > 0 ? "\u25B2 " + v : v < 0 ? "\u25BC " + -v : "=";
          },
        },
        { title: "icb_code", field: "icb_code" },
        { title: "icb_name", field: "icb_name" },
        {
          title: "score (0-100)", field: "score_0_100", sorter: "number", sorterParams: NULLS_LAST, hozAlign: "right",
          formatter: function (cell) { return number(cell.getValue(), "float", 3); },
        },
        {
          title: "coverage", field: "coverage", sorter: "number", sorterParams: NULLS_LAST, hozAlign: "right",
          formatter: function (cell) { return number(cell.getValue(), "float", 3); },
        },
      ],
    });
    TABLES.push(table);

    function update() {
      var r = compose(X, W, w);
      var ranks = {};
      if (r.error) {
        message.textContent = r.error + " No ranks until then.";
        root.setAttribute("data-error", r.error);
        X.codes.forEach(function (code) { ranks[code] = null; });
      } else {
        message.textContent = "";
        root.removeAttribute("data-error");
        X.codes.forEach(function (code, c) { ranks[code] = r.rank[c]; });
      }
      root.setAttribute("data-ranks", JSON.stringify(ranks));
      root.setAttribute("data-weights", JSON.stringify({ pillars: W, indicators: w }));
      var rows = X.codes.map(function (code, c) {
        var now = r.error ? null : r.rank[c];
        var was = X.rank[c];
        return {
          icb_code: code,
          icb_name: X.names[c],
          rank: now,
          run_rank: was,
          change: now === null || was === null ? null : was - now,
          score_0_100: r.error ? null : r.scaled[c],
          coverage: r.error ? null : r.coverage[c],
        };
      });
      table.replaceData(rows);
    }
    table.on("tableBuilt", update);
  }

  // ------------------------------------------------------------------ find my ICB
  function pick(code) {
    PICKED = code || null;
    document.querySelectorAll(".icbsel.on").forEach(function (e) { e.classList.remove("on"); });
    var shown = 0;
    if (PICKED) {
      document.querySelectorAll('.icbsel[data-icb="' + PICKED + '"]').forEach(function (e) {
        e.classList.add("on");
        shown += 1;
      });
    }
    TABLES.forEach(function (t) {
      t.getRows().forEach(function (row) { row.reformat(); });
    });
    var status = document.getElementById("icb-status");
    if (status) {
      var charts = PICKED ? document.querySelectorAll("figure.svgfig .icbsel.on") : [];
      var n = new Set(Array.prototype.map.call(charts, function (e) { return e.closest("figure"); })).size;
      status.textContent = PICKED ? "marked in " + n + " charts and in the tables" : "";
    }
    document.body.setAttribute("data-picked", PICKED || "");
    return shown;
  }

  function selector() {
    var sel = document.getElementById("icb-select");
    if (!sel) return;
    sel.addEventListener("change", function () {
      pick(sel.value);
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", sel.value ? "#icb=" + sel.value : "#");
      }
    });
    var m = /icb=([A-Za-z0-9]+)/.exec(window.location.hash);
    if (m) {
      sel.value = m[1].toUpperCase();
      pick(sel.value);
    }
  }

  function start() {
    tables();
    explorer();
    selector();
  }
  window.icsReport = { number: number, compose: compose, pick: pick, tables: TABLES };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
