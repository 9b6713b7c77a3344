// Renders /api/v1/openapi.json as a readable page. Same-origin only (the
// Content-Security-Policy is default-src 'self'); builds the DOM with
// textContent, never HTML strings.
"use strict";

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function resolve(spec, schema) {
  if (schema && schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return { name: name, schema: spec.components.schemas[name] || {} };
  }
  return { name: "", schema: schema || {} };
}

// example turns a schema into a JSON-like sketch of the value it describes.
function example(spec, schema, depth) {
  const r = resolve(spec, schema);
  const s = r.schema;
  if (depth > 4) return r.name || "…";
  const type = Array.isArray(s.type) ? s.type.filter((t) => t !== "null")[0] : s.type;
  if (s.enum) return s.enum.join(" | ");
  if (type === "object" || s.properties) {
    const out = {};
    const required = s.required || [];
    for (const [k, v] of Object.entries(s.properties || {})) {
      if (k === "$schema") continue;
      out[required.includes(k) ? k : k + "?"] = example(spec, v, depth + 1);
    }
    return out;
  }
  if (type === "array") return [example(spec, s.items, depth + 1)];
  let t = type || "any";
  if (s.format) t += " (" + s.format + ")";
  const limits = [];
  if (s.minLength !== undefined) limits.push("min " + s.minLength);
  if (s.maxLength !== undefined) limits.push("max " + s.maxLength);
  if (s.minimum !== undefined) limits.push("≥ " + s.minimum);
  if (s.maximum !== undefined) limits.push("≤ " + s.maximum);
  if (limits.length) t += " [" + limits.join(", ") + "]";
  return t;
}

function schemaBlock(spec, content) {
  if (!content) return null;
  const media = Object.keys(content)[0];
  const pre = el("pre");
  pre.textContent = media + "\n" + JSON.stringify(example(spec, content[media].schema, 0), null, 2);
  return pre;
}

function operation(spec, path, method, op) {
  const box = el("section", "op");
  const h = el("h3");
  h.append(el("span", "method " + method, method.toUpperCase()), el("span", "path", path));
  box.append(h);
  if (op.summary) box.append(el("p", "", op.summary));
  if (op.description) box.append(el("p", "intro", op.description));
  const security = op.security || [];
  const schemes = security.map((s) => Object.keys(s)[0] || "none").join(", ");
  box.append(el("p", "auth", security.length ? "Authentication: " + schemes : "No authentication"));

  if (op.parameters && op.parameters.length) {
    const table = el("table");
    const head = el("tr");
    ["parameter", "in", "type", "description"].forEach((c) => head.append(el("th", "", c)));
    table.append(head);
    for (const p of op.parameters) {
      const row = el("tr");
      row.append(el("td", "", p.name + (p.required ? "" : "?")), el("td", "", p.in),
        el("td", "", JSON.stringify(example(spec, p.schema, 0))), el("td", "", p.description || ""));
      table.append(row);
    }
    box.append(table);
  }
  if (op.requestBody) {
    box.append(el("h4", "", "Request body" + (op.requestBody.required ? "" : " (optional)")));
    box.append(schemaBlock(spec, op.requestBody.content));
  }
  const responses = el("table");
  for (const [code, resp] of Object.entries(op.responses || {})) {
    const row = el("tr");
    const detail = el("td");
    const block = code.startsWith("2") ? schemaBlock(spec, resp.content) : null;
    detail.append(el("span", "", resp.description || ""));
    if (block) detail.append(block);
    row.append(el("td", "", code), detail);
    responses.append(row);
  }
  box.append(el("h4", "", "Responses"), responses);
  return box;
}

async function render() {
  const main = document.getElementById("main");
  let spec;
  try {
    const res = await fetch("/api/v1/openapi.json", { credentials: "same-origin" });
    spec = await res.json();
  } catch (err) {
    document.getElementById("status").textContent = "Could not load the specification: " + err;
    return;
  }
  main.textContent = "";
  document.getElementById("title").textContent = spec.info.title + " " + spec.info.version;
  main.append(el("p", "intro", spec.info.description || ""));
  const byTag = new Map();
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || "Other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([path, method, op]);
    }
  }
  const order = (spec.tags || []).map((t) => t.name);
  const rank = (tag) => (order.includes(tag) ? order.indexOf(tag) : order.length);
  const tags = [...byTag.keys()].sort((a, b) => rank(a) - rank(b));
  for (const tag of tags) {
    const ops = byTag.get(tag);
    main.append(el("h2", "", tag));
    const about = (spec.tags || []).find((t) => t.name === tag);
    if (about && about.description) main.append(el("p", "", about.description));
    ops.sort((a, b) => (a[0] + a[1]).localeCompare(b[0] + b[1]));
    for (const [path, method, op] of ops) main.append(operation(spec, path, method, op));
  }
}

document.addEventListener("DOMContentLoaded", render);
