import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { formatCents } from "../allocate.ts";
import type { CostRun } from "../run/costRun.ts";

/**
 * `landlord costs --html`: one self-contained page. Chart.js (MIT) is read from node_modules at
 * run time and inlined, the run is embedded as JSON, and the page draws the Pareto curve, revenue
 * against cost by tier with the break-even line, cost by tier and by pool, and a sortable table.
 * Nothing is fetched when it opens. Every tenant-supplied string reaches the page only as JSON
 * data inserted with textContent, never as markup.
 */

let chartJs: string | undefined;

/** The Chart.js UMD build, as shipped by the npm package (resolved from this module). */
export function chartLibrary(): string {
  if (chartJs === undefined) {
    const require = createRequire(import.meta.url);
    const main = require.resolve("chart.js"); // dist/chart.cjs: the UMD build sits beside it
    chartJs = readFileSync(path.join(path.dirname(main), "chart.umd.min.js"), "utf8");
  }
  return chartJs;
}

/** JSON that is safe inside a <script> element: no "</script", no "<!--", no U+2028/9 surprises. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

const escapeHtml = (text: string): string => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** What the page embeds: the run, with display amounts computed here so the page does no money arithmetic. */
export function reportData(run: CostRun, generatedAt: string) {
  return {
    generatedAt,
    period: run.period,
    basis: run.basis,
    currency: run.currency,
    actor: run.actor ?? null,
    inputs: run.inputs,
    totals: {
      total: formatCents(run.totals.totalCents),
      tenants: formatCents(run.totals.tenantsCents),
      unallocated: formatCents(run.totals.unallocatedCents),
      revenue: formatCents(run.totals.revenueCents),
    },
    pareto: run.pareto,
    byTier: Object.entries(run.totals.byTier).map(([tier, t]) => ({ tier: tier || "(not placed)", tenants: t.tenants, cost: formatCents(t.costCents), revenue: formatCents(t.revenueCents) })),
    byPool: Object.entries(run.totals.byPool).map(([pool, t]) => ({ pool, tenants: t.tenants, cost: formatCents(t.costCents), revenue: formatCents(t.revenueCents) })),
    unallocated: run.unallocated.map((u) => ({ basis: u.basis, pool: u.pool, cost: formatCents(u.cents) })),
    tenants: run.lines.map((l) => ({
      tenant: l.tenant,
      tier: l.tier || "(not placed)",
      pool: l.pool,
      cost: formatCents(l.costCents),
      revenue: l.revenueCents === undefined ? null : formatCents(l.revenueCents),
      margin: l.marginCents === undefined ? null : formatCents(l.marginCents),
      costShare: l.costShare,
      revenueShare: l.revenueShare ?? null,
      basis: l.basis,
    })),
  };
}

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1d2433;background:#f6f7fb}
header{background:#1d2433;color:#fff;padding:16px 24px}header h1{margin:0 0 4px;font-size:20px}header p{margin:0;color:#c7cddb}
main{padding:16px 24px;display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:16px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:12px 16px}
section.wide{grid-column:1/-1}h2{font-size:15px;margin:0 0 8px}
.kpis{display:flex;gap:24px;flex-wrap:wrap}.kpi b{display:block;font-size:20px}.kpi span{color:#5b6478;font-size:12px}
.chart{position:relative;height:320px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}th,td{padding:4px 8px;border-bottom:1px solid #e6e8ef;text-align:left}
th{cursor:pointer;user-select:none;background:#f0f2f7;position:sticky;top:0}th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
td.num,th.num{text-align:right}tr.loss td.margin{color:#b42318;font-weight:600}.scroll{max-height:720px;overflow:auto}
small{color:#5b6478}
`;

/** The page's own script: charts and table from the embedded data. Runs once, synchronously, on load. */
const SCRIPT = String.raw`
(function () {
  var data = JSON.parse(document.getElementById("cost-data").textContent);
  var TIER_COLORS = { pooled: "#4e79a7", namespace: "#f28e2b", database: "#59a14f", account: "#e15759", "(not placed)": "#9c9c9c" };
  var num = function (text) { return text === null ? null : Number(text); };
  var text = function (id, value) { document.getElementById(id).textContent = value; };
  var money = function (value) { return value === null ? "" : value; };
  var pct = function (f) { return f === null ? "" : (f * 100).toFixed(2) + "%"; };

  text("period", data.period.start + " to " + data.period.end + " (basis " + data.basis + ", " + data.currency + ")");
  text("generated", "generated " + data.generatedAt + (data.actor ? " by " + data.actor : ""));
  text("total-cost", data.totals.total);
  text("tenants-cost", data.totals.tenants);
  text("unallocated-cost", data.totals.unallocated);
  text("total-revenue", data.totals.revenue);
  text("tenant-count", String(data.tenants.length));
  text("top1", pct(data.pareto.top1PctShare));
  text("top10", pct(data.pareto.top10PctShare));

  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  var charts = [];

  // Pareto: tenants sorted by cost, the cumulative share of the tenants' cost they carry.
  var costs = data.tenants.map(function (t) { return num(t.cost); }).sort(function (a, b) { return b - a; });
  var totalTenantCost = costs.reduce(function (a, b) { return a + b; }, 0);
  var running = 0;
  var pareto = [{ x: 0, y: 0 }].concat(costs.map(function (c, i) {
    running += c;
    return { x: ((i + 1) * 100) / costs.length, y: totalTenantCost > 0 ? (running * 100) / totalTenantCost : 0 };
  }));
  charts.push(new Chart(document.getElementById("chart-pareto"), {
    type: "line",
    data: { datasets: [{ label: "cumulative share of cost", data: pareto, borderColor: "#4e79a7", backgroundColor: "rgba(78,121,167,.15)", fill: true, pointRadius: 0, tension: 0 }] },
    options: { parsing: false, scales: { x: { type: "linear", min: 0, max: 100, title: { display: true, text: "% of tenants, costliest first" } }, y: { min: 0, max: 100, title: { display: true, text: "% of tenants' cost" } } } },
  }));

  // Revenue against cost, one dataset per tier, and the break-even line cost = revenue. Both axes
  // are logarithmic: revenue spans orders of magnitude, and on linear axes the one large tenant
  // would squash every small one into the corner. A zero has no place on them: counted, not drawn.
  var byTier = {};
  var minAxis = Infinity;
  var maxAxis = 0;
  var hidden = 0;
  data.tenants.forEach(function (t) {
    if (t.revenue === null || !(num(t.revenue) > 0) || !(num(t.cost) > 0)) { hidden++; return; }
    var point = { x: num(t.revenue), y: num(t.cost), tenant: t.tenant };
    minAxis = Math.min(minAxis, point.x, point.y);
    maxAxis = Math.max(maxAxis, point.x, point.y);
    (byTier[t.tier] = byTier[t.tier] || []).push(point);
  });
  if (!(minAxis < Infinity)) { minAxis = 1; maxAxis = 10; }
  text("scatter-hidden", hidden > 0 ? hidden + " tenant(s) without revenue or with no cost are not drawn" : "");
  var ORDER = ["pooled", "namespace", "database", "account", "(not placed)"];
  var rank = function (tier) { var i = ORDER.indexOf(tier); return i < 0 ? ORDER.length : i; };
  var scatterSets = Object.keys(byTier).sort(function (a, b) { return rank(a) - rank(b) || (a < b ? -1 : 1); }).map(function (tier) {
    return { label: tier, data: byTier[tier], backgroundColor: TIER_COLORS[tier] || "#b07aa1", pointRadius: 5 };
  });
  scatterSets.push({ type: "line", label: "break-even (cost = revenue)", data: [{ x: minAxis, y: minAxis }, { x: maxAxis, y: maxAxis }], borderColor: "#b42318", borderDash: [6, 4], pointRadius: 0, fill: false });
  charts.push(new Chart(document.getElementById("chart-scatter"), {
    type: "scatter",
    data: { datasets: scatterSets },
    options: {
      scales: {
        x: { type: "logarithmic", min: minAxis / 2, max: maxAxis * 2, title: { display: true, text: "monthly revenue (" + data.currency + ", log scale)" } },
        y: { type: "logarithmic", min: minAxis / 2, max: maxAxis * 2, title: { display: true, text: "monthly cost (" + data.currency + ", log scale)" } },
      },
      plugins: { tooltip: { callbacks: { label: function (c) { return (c.raw.tenant || c.dataset.label) + ": revenue " + c.raw.x + ", cost " + c.raw.y; } } } },
    },
  }));

  var bars = function (id, rows, key) {
    charts.push(new Chart(document.getElementById(id), {
      type: "bar",
      data: {
        labels: rows.map(function (r) { return r[key]; }),
        datasets: [
          { label: "cost", data: rows.map(function (r) { return num(r.cost); }), backgroundColor: "#4e79a7" },
          { label: "revenue", data: rows.map(function (r) { return num(r.revenue); }), backgroundColor: "#59a14f" },
        ],
      },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: data.currency } } } },
    }));
  };
  bars("chart-tier", data.byTier, "tier");
  bars("chart-pool", data.byPool.length > 0 ? data.byPool : [{ pool: "(no pools)", cost: "0", revenue: "0" }], "pool");

  // The table: one row per tenant, sortable by any column (click again to reverse).
  var columns = [
    { key: "tenant", label: "Tenant" }, { key: "tier", label: "Tier" }, { key: "pool", label: "Pool" },
    { key: "cost", label: "Cost", num: true }, { key: "revenue", label: "Revenue", num: true }, { key: "margin", label: "Margin", num: true },
    { key: "costShare", label: "Cost share", num: true, pct: true }, { key: "revenueShare", label: "Revenue share", num: true, pct: true },
    { key: "basis", label: "Basis" },
  ];
  var table = document.getElementById("tenants");
  var headRow = table.tHead.rows[0];
  var body = table.tBodies[0];
  columns.forEach(function (c) {
    var th = document.createElement("th");
    th.textContent = c.label;
    th.dataset.key = c.key;
    if (c.num) th.className = "num";
    headRow.appendChild(th);
  });
  var draw = function (rows) {
    body.textContent = "";
    rows.forEach(function (t) {
      var tr = document.createElement("tr");
      tr.dataset.tenant = t.tenant;
      if (t.margin !== null && num(t.margin) < 0) tr.className = "loss";
      columns.forEach(function (c) {
        var td = document.createElement("td");
        var v = t[c.key];
        td.textContent = c.pct ? pct(v) : money(v);
        td.className = (c.num ? "num " : "") + c.key;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  };
  var sortBy = function (key, dir) {
    var column = columns.filter(function (c) { return c.key === key; })[0];
    var rows = data.tenants.slice().sort(function (a, b) {
      var x = column.num ? num(a[key] === null ? null : String(a[key])) : a[key];
      var y = column.num ? num(b[key] === null ? null : String(b[key])) : b[key];
      if (x === y) return a.tenant < b.tenant ? -1 : 1;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * dir;
    });
    Array.prototype.forEach.call(headRow.cells, function (th) { th.removeAttribute("aria-sort"); });
    headRow.querySelector('[data-key="' + key + '"]').setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
    draw(rows);
  };
  headRow.addEventListener("click", function (event) {
    var th = event.target.closest("th");
    if (!th) return;
    sortBy(th.dataset.key, th.getAttribute("aria-sort") === "descending" ? 1 : -1);
  });
  sortBy("cost", -1);

  var unallocated = document.getElementById("unallocated");
  if (data.unallocated.length === 0) unallocated.textContent = "none: every cent is a tenant's";
  data.unallocated.forEach(function (u) {
    var li = document.createElement("li");
    li.textContent = u.cost + " " + data.currency + ": " + u.basis;
    unallocated.appendChild(li);
  });
  var inputs = document.getElementById("inputs");
  data.inputs.forEach(function (i) {
    var li = document.createElement("li");
    li.textContent = i.name + ": " + i.rows + " rows, sha256 " + i.sha256;
    inputs.appendChild(li);
  });

  // Evidence for a headless browser that every chart drew: the element count of each chart.
  charts.forEach(function (chart) {
    chart.canvas.dataset.rendered = String(chart.data.datasets.reduce(function (n, d, i) { return n + chart.getDatasetMeta(i).data.length; }, 0));
  });
  document.body.dataset.ready = "true";
})();
`;

export function renderHtmlReport(run: CostRun, options: { generatedAt: string }): string {
  const data = reportData(run, options.generatedAt);
  const title = `Landlord cost report ${run.period.start.slice(0, 7)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1><p><span id="period"></span> · <span id="generated"></span></p></header>
<main>
<section class="wide"><div class="kpis">
<div class="kpi"><b id="total-cost"></b><span>total cost (every input)</span></div>
<div class="kpi"><b id="tenants-cost"></b><span>charged to tenants</span></div>
<div class="kpi"><b id="unallocated-cost"></b><span>shared / unallocated</span></div>
<div class="kpi"><b id="total-revenue"></b><span>tenants' monthly revenue</span></div>
<div class="kpi"><b id="tenant-count"></b><span>tenants</span></div>
<div class="kpi"><b id="top1"></b><span>of cost in the costliest 1%</span></div>
<div class="kpi"><b id="top10"></b><span>of cost in the costliest 10%</span></div>
</div></section>
<section><h2>Pareto: share of cost carried by the costliest tenants</h2><div class="chart"><canvas id="chart-pareto"></canvas></div></section>
<section><h2>Revenue against cost, by tier (above the line: losing money)</h2><div class="chart"><canvas id="chart-scatter"></canvas></div><small id="scatter-hidden"></small></section>
<section><h2>Cost and revenue by tier</h2><div class="chart"><canvas id="chart-tier"></canvas></div></section>
<section><h2>Cost and revenue by pool</h2><div class="chart"><canvas id="chart-pool"></canvas></div></section>
<section class="wide"><h2>Tenants <small>(click a column to sort)</small></h2><div class="scroll"><table id="tenants"><thead><tr></tr></thead><tbody></tbody></table></div></section>
<section><h2>Shared and unallocated</h2><ul id="unallocated"></ul></section>
<section><h2>Inputs</h2><ul id="inputs"></ul></section>
</main>
<script type="application/json" id="cost-data">${scriptJson(data)}</script>
<script>${chartLibrary().replace(/<\/script/gi, "<\\/script")}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
