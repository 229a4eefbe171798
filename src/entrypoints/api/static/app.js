// The page: pick, paste or upload a workload; submit it (POST /new); follow the task
// (GET /status); show its result (GET /getresult) as a report. Every piece of text from the
// workload or the result reaches the page as a text node (textContent), never as markup.
"use strict";

const POLL_MS = 500;
const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const state = { result: null, taskId: null, originals: new Map(), timer: null, listing: false };

// ---- DOM helpers: elements built from text, never from markup strings ----
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

function percent(value) {
  return typeof value === "number" ? `${Math.round(value * 100)}%` : "–";
}

// ---- SQL shown with its keywords, strings and numbers marked (as text spans) ----
const KEYWORDS = new Set((
  "select from where group by order having limit join left right full inner outer cross on " +
  "using as and or not in is null like between case when then else end with union all " +
  "distinct insert into values create table schema if exists partitioning sorted_by format " +
  "array cast date timestamp interval over partition asc desc nulls first last true false " +
  "view materialized replace exists delete update set"
).split(" "));

function sqlBlock(text) {
  const pre = el("pre", { class: "sql" });
  const tokens = String(text).match(/'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\d+(?:\.\d+)?|\w+|\s+|./g) || [];
  for (const token of tokens) {
    let cls = null;
    if (token.startsWith("'")) cls = "str";
    else if (/^\d/.test(token)) cls = "numlit";
    else if (KEYWORDS.has(token.toLowerCase())) cls = "kw";
    pre.append(cls ? el("span", { class: cls }, token) : document.createTextNode(token));
  }
  return pre;
}

// ---- the service ----
function headers(extra) {
  const result = Object.assign({ Accept: "application/json" }, extra || {});
  const key = $("api-key").value.trim();
  if (key) result["X-API-Key"] = key;
  return result;
}

async function call(method, path, body) {
  const init = { method, headers: headers(body ? { "Content-Type": "application/json" } : null) };
  if (body) init.body = body;
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  return { status: response.status, data };
}

function describeError(response) {
  // Errors are RFC 9457 problems: `detail` a sentence, `errors` each invalid field.
  const detail = response.data && response.data.detail;
  const errors = response.data && response.data.errors;
  if (response.status === 401 || response.status === 403) {
    return `The service refused the request (${response.status}): enter a valid API key.`;
  }
  const fields = Array.isArray(errors) ? errors : detail;
  if (Array.isArray(fields)) {
    return ["The workload was rejected:"].concat(fields.map((d) => {
      const where = (d.loc || []).filter((p) => p !== "body").join(".") || "(body)";
      return `  ${where}: ${d.msg}`;
    })).join("\n");
  }
  return `The service answered ${response.status}${typeof detail === "string" ? ": " + detail : ""}.`;
}

function showError(id, message) {
  const node = $(id);
  node.textContent = message;
  node.hidden = !message;
}

// ---- workload input ----
async function loadExamples() {
  const select = $("example");
  if (select.options.length > 1 || state.listing) return;  // listed already, or on its way
  state.listing = true;
  try {
    const response = await call("GET", "/examples");
    if (response.status !== 200 || !Array.isArray(response.data)) return;
    for (const example of response.data) {
      select.append(el("option", { value: example.name },
        `${example.name} (${example.tables} tables, ${example.queries} queries)`));
    }
  } catch (_) { /* the page works without examples */ } finally {
    state.listing = false;
  }
}

async function pickExample() {
  const name = $("example").value;
  if (!name) return;
  const response = await fetch(`/examples/${encodeURIComponent(name)}`, { headers: headers() });
  if (response.ok) $("workload").value = await response.text();
  else showError("submit-error", `Example ${name} could not be read (${response.status}).`);
}

function uploadFile() {
  const file = $("file").files[0];
  if (!file) return;
  file.text().then((text) => { $("workload").value = text; });
}

function originalsOf(text) {
  const originals = new Map();
  try {
    const body = JSON.parse(text);
    for (const q of body.queries || []) originals.set(String(q.queryid), String(q.query));
  } catch (_) { /* the service says what is wrong with it */ }
  return originals;
}

async function submit() {
  showError("submit-error", "");
  const text = $("workload").value;
  try { JSON.parse(text); } catch (error) {
    showError("submit-error", `The workload is not valid JSON: ${error.message}`);
    return;
  }
  $("submit").disabled = true;
  try {
    const response = await call("POST", "/new", text);
    if (response.status !== 202) {
      showError("submit-error", describeError(response));
      return;
    }
    state.originals = originalsOf(text);
    follow(response.data.taskid);
  } catch (error) {
    showError("submit-error", `The service cannot be reached: ${error.message}`);
  } finally {
    $("submit").disabled = false;
  }
}

// ---- progress ----
function follow(taskId) {
  if (state.timer) clearTimeout(state.timer);
  state.taskId = taskId;
  state.result = null;
  $("report-section").hidden = true;
  $("progress-section").hidden = false;
  $("task-id").textContent = taskId;
  showError("task-error", "");
  showStatus({ status: "pending", progress: { stage: "queued", percent: 0 } });
  poll(taskId);
}

function showStatus(status) {
  const badge = $("task-status");
  badge.textContent = status.status;
  badge.className = `badge status-${status.status}`;
  const progress = status.progress || {};
  $("task-stage").textContent = `${progress.stage || ""} (${progress.percent || 0}%)`;
  $("task-progress").value = progress.percent || 0;
}

async function poll(taskId) {
  if (taskId !== state.taskId) return;
  let response;
  try {
    response = await call("GET", `/status?taskid=${encodeURIComponent(taskId)}`);
  } catch (error) {
    showError("task-error", `The service cannot be reached: ${error.message}; retrying.`);
    state.timer = setTimeout(() => poll(taskId), POLL_MS * 4);
    return;
  }
  if (response.status !== 200) {
    showError("task-error", describeError(response));
    return;
  }
  showError("task-error", "");
  const status = response.data;
  showStatus(status);
  if (status.status === "completed") {
    const result = await call("GET", `/getresult?taskid=${encodeURIComponent(taskId)}`);
    if (result.status === 200) showReport(result.data);
    else showError("task-error", describeError(result));
  } else if (status.status === "failed") {
    const error = status.error || {};
    showError("task-error", `The task failed: ${error.code}: ${error.message}`);
  } else {
    state.timer = setTimeout(() => poll(taskId), POLL_MS);
  }
}

// ---- report ----
function showReport(result) {
  state.result = result;
  const report = result.report || {};
  const meta = result.meta || {};
  $("summary").textContent = report.summary || "";
  $("meta").textContent = `engine ${meta.engine || "?"}` + (meta.model ? `, model ${meta.model}` : "") +
    (meta.version ? `, version ${meta.version}` : "") +
    (meta.duration_ms !== undefined ? `, ${meta.duration_ms} ms` : "");
  renderGains(report.estimates || {});
  renderChart(report.estimates || {});
  renderFindings(report.findings || []);
  renderStatements("ddl", result.ddl || []);
  renderStatements("migrations", result.migrations || []);
  renderQueries(result.queries || [], report.verification || {});
  $("report-section").hidden = false;
}

function renderGains(estimates) {
  const host = clear($("gains"));
  const rows = [];
  const scopes = [["whole workload", estimates.data_read || {}]]
    .concat(Object.entries(estimates.tables || {}));
  for (const [scope, figures] of scopes) {
    for (const [key, label] of [["by_runquantity", "runs"], ["by_runquantity_x_executiontime", "runs × time"]]) {
      const pair = figures[key];
      if (!pair) continue;
      const gain = pair.after > 0 ? `${(pair.before / pair.after).toFixed(1)}×` : "–";
      rows.push(el("tr", {}, el("td", {}, scope), el("td", {}, label),
        el("td", { class: "num" }, percent(pair.before)), el("td", { class: "num" }, percent(pair.after)),
        el("td", { class: "num" }, gain)));
    }
  }
  if (!rows.length) return;
  host.append(el("h3", {}, "Estimated gains (share of data read)"),
    el("table", { id: "gains-table" },
      el("thead", {}, el("tr", {}, ["Scope", "Weighted by", "Before", "After", "Less read"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows)),
    estimates.model ? el("p", { class: "hint" }, `Model: ${estimates.model}`) : null);
}

function renderChart(estimates) {
  const groups = [
    ["Tables", "table", (estimates.table_weights || []).map((t) => [t.table, t.weight_share])],
    ["Columns", "column", (estimates.column_weights || []).map((c) => [`${c.table}.${c.column}`, c.weight_share])],
    ["Join paths", "join", (estimates.join_weights || []).map((j) => [j.path, j.weight_share])],
    ["Queries", "query", (estimates.weights || []).map((q) => [q.queryid, q.weight_share])],
  ].filter(([, , rows]) => rows.length);
  const host = clear($("chart"));
  if (!groups.length) { host.append(el("p", { class: "hint" }, "The result holds no weights.")); return; }
  const width = 900, labelWidth = 330, barWidth = 480, rowHeight = 20;
  const height = groups.reduce((h, [, , rows]) => h + 26 + rows.length * rowHeight, 6);
  const chart = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, width: "100%",
    role: "img", "aria-label": "Share of the workload's weight by table, column and query" });
  let y = 4;
  for (const [title, kind, rows] of groups) {
    chart.append(svg("text", { x: 0, y: y + 16, class: "group" }, title));
    y += 26;
    for (const [label, share] of rows) {
      const value = Math.max(0, Math.min(1, Number(share) || 0));
      const name = String(label);
      const row = svg("g", { class: `row row-${kind}` });
      row.append(svg("title", {}, `${name}: ${percent(value)}`));
      row.append(svg("text", { x: labelWidth - 8, y: y + 13, "text-anchor": "end" },
        name.length > 48 ? `…${name.slice(-47)}` : name));
      row.append(svg("rect", { class: "track", x: labelWidth, y: y + 3, width: barWidth, height: rowHeight - 6 }));
      row.append(svg("rect", { class: `bar-${kind}`, x: labelWidth, y: y + 3, width: (barWidth * value).toFixed(1), height: rowHeight - 6 }));
      row.append(svg("text", { x: labelWidth + barWidth + 8, y: y + 13 }, percent(value)));
      chart.append(row);
      y += rowHeight;
    }
  }
  host.append(chart);
}

function renderFindings(findings) {
  const host = clear($("findings"));
  if (!findings.length) { host.append(el("p", { class: "hint" }, "No findings.")); return; }
  for (const f of findings) {
    const details = f.details && Object.keys(f.details).length
      ? el("details", {}, el("summary", {}, "Evidence"), el("pre", { class: "json" }, JSON.stringify(f.details, null, 2)))
      : null;
    host.append(el("article", { class: "finding", "data-code": f.code },
      el("h4", {}, el("span", { class: `badge sev-${f.severity}` }, f.severity), " ", `${f.id} `, f.title),
      el("p", {}, f.rationale),
      f.effect ? el("p", { class: "effect" }, el("strong", {}, "Expected gain: "), f.effect) : null,
      f.risk ? el("p", { class: "risk" }, el("strong", {}, "Risk: "), f.risk) : null,
      el("p", { class: "facts" },
        `weight ${percent(f.weight_share)}`,
        f.table ? ` · table ${f.table}` : "",
        (f.queryids || []).length ? ` · queries ${f.queryids.join(", ")}` : "",
        ` · ${f.code}`),
      details));
  }
}

function renderStatements(id, statements) {
  const host = clear($(id));
  if (!statements.length) { host.append(el("p", { class: "hint" }, "None.")); return; }
  for (const item of statements) host.append(sqlBlock(item.statement));
}

function renderQueries(queries, verification) {
  const host = clear($("queries"));
  $("verification-method").textContent = verification.method ? `Verification: ${verification.method}` : "";
  const checks = new Map((verification.queries || []).map((v) => [String(v.queryid), v]));
  for (const q of queries) {
    const check = checks.get(String(q.queryid));
    const original = state.originals.get(String(q.queryid));
    const header = el("header", {}, el("strong", {}, q.queryid),
      check ? el("span", { class: `badge verify-${check.status}` }, check.status) : null,
      check && check.reason ? el("span", { class: "hint" }, check.reason) : null);
    const body = original !== undefined
      ? el("div", { class: "side-by-side" },
          el("div", {}, el("h5", {}, "Original"), sqlBlock(original)),
          el("div", {}, el("h5", {}, "New"), sqlBlock(q.query)))
      : el("div", {}, el("h5", {}, "New"), sqlBlock(q.query));
    host.append(el("article", { class: "query", "data-queryid": q.queryid }, header, body));
  }
}

function download() {
  if (!state.result) return;
  const blob = new Blob([JSON.stringify(state.result, null, 2)], { type: "application/json" });
  const link = el("a", { href: URL.createObjectURL(blob), download: `result-${state.taskId}.json` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

document.addEventListener("DOMContentLoaded", () => {
  $("example").addEventListener("change", pickExample);
  $("file").addEventListener("change", uploadFile);
  $("submit").addEventListener("click", submit);
  $("download").addEventListener("click", download);
  // a service that asks for a key lists its examples once the key is typed in
  $("api-key").addEventListener("change", loadExamples);
  loadExamples();
});
