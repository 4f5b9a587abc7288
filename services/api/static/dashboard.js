// canbridge dashboard: polls /dashboard/state for the cards and /history for the charts.
// No build step, no framework; charts by the vendored uPlot (static/vendor/uplot, MIT).
"use strict";

const STATE_EVERY_MS = 2000;
const TOKEN_KEY = "canbridge-token";
const SERIES = {
  grid_w: { label: "Grid", unit: "W", color: "--grid" },
  battery_w: { label: "Battery", unit: "W", color: "--battery" },
  setpoint_w: { label: "Setpoint", unit: "W", color: "--setpoint" },
  battery_soc: { label: "Battery SoC", unit: "%", color: "--soc" },
};
const CAR_COLORS = ["--soc", "--grid", "--battery", "--setpoint"];
const $ = (sel) => document.querySelector(sel);
const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function num(value, unit, digits = 0) {
  if (value === null || value === undefined) return "–";
  return `${Number(value).toFixed(digits)} ${unit}`;
}
function ago(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}
function kv(rows) {
  return `<dl class="kv">${rows
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v, field]) => `<dt>${esc(k)}</dt><dd${field ? ` data-field="${field}"` : ""}>${v}</dd>`)
    .join("")}</dl>`;
}

// --- cards -------------------------------------------------------------------------------
function renderSetup(notes) {
  const box = $("#setup");
  box.hidden = notes.length === 0;
  box.innerHTML = notes.length
    ? `<h2>Not configured yet</h2><ul>${notes
        .map((n) => `<li data-setup="${esc(n.what)}">${esc(n.text)} <a href="${esc(n.docs)}">How to set it up</a></li>`)
        .join("")}</ul>`
    : "";
}

function renderController(c) {
  const body = $("#controller-body");
  if (!c) {
    body.innerHTML = '<p class="muted">no state from the controller yet</p>';
    return;
  }
  if (!c.configured) {
    body.innerHTML = `<p class="big" data-field="mode">not configured</p><p>${esc(c.reason)}
      <a href="${esc(c.docs)}">How to set it up</a></p>`;
    return;
  }
  const limits = c.limits || {};
  const reasons = (limits.reasons || []).map(esc).join("; ");
  const decisions = (c.decisions || [])
    .map((d) => `<li><span class="muted">${esc(d.time ? new Date(d.time).toLocaleTimeString() : "")}</span>
      ${num(d.setpoint_w, "W")} · ${esc(d.reason)}</li>`)
    .join("");
  body.innerHTML = `<p class="big" data-field="mode">${esc(c.mode)}</p>
    ${kv([
      ["Target grid", num(c.target_w, "W"), "target"],
      ["Grid now", num(c.grid_w, "W"), "grid"],
      ["Setpoint", num(c.setpoint_w, "W"), "setpoint"],
      ["Battery", num(c.battery_w, "W"), "battery"],
      ["Battery SoC", c.soc_pct === null ? null : `${num(c.soc_pct, "%", 1)} <span class="muted">(${esc(c.soc_source)})</span>`],
      ["Limits", `charge ≤ ${num(limits.max_charge_w, "W")}, discharge ≤ ${num(limits.max_discharge_w, "W")}${limits.profile ? ` (profile ${esc(limits.profile)})` : ""}`, "limits"],
      ["Why", reasons || "no limit active", "limit-reasons"],
      ["Meter", c.meter_ok === false ? `<span class="bad">${esc(c.meter_reason)}</span>` : "fresh"],
      ["Gateway", c.gateway_online === false ? '<span class="bad">offline</span>' : c.gateway_online ? "online" : "unknown"],
      ["Updated", ago(c.age_s)],
    ])}
    <h3 class="muted">Last decisions</h3><ol class="decisions" id="decisions">${decisions}</ol>`;
  if (document.activeElement !== $("#target") && c.target_w !== null) $("#target").value = c.target_w;
  document.querySelectorAll("[data-mode]").forEach((b) => b.classList.toggle("on", b.dataset.mode === c.mode));
}

function renderBatteries(units) {
  $("#batteries").innerHTML = units
    .map((b) => {
      const faults = b.faults.map((f) => `<span class="bad">${esc(f.words)}</span>`).join("; ");
      const e = b.eeprom || {};
      const today = b.energy_today_kwh || {};
      const online = b.online === "offline" ? '<span class="pill bad">offline</span>' : b.online === "online" ? '<span class="pill good">online</span>' : "";
      return `<section class="card" data-kind="bic" data-name="${esc(b.unit)}">
        <h2>Battery · BIC unit ${esc(b.unit)} ${b.model ? `<span class="muted">${esc(b.model)}</span>` : ""} ${online}</h2>
        <p class="big" data-field="power">${num(b.power_w, "W")}</p>
        <p class="muted">+ charging, − discharging · ${ago(b.age_s)}</p>
        ${kv([
          ["Voltage", num(b.voltage, "V", 2), "voltage"],
          ["Current", num(b.current, "A", 2), "current"],
          ["Temperature", num(b.temperature, "°C", 0), "temperature"],
          ["Direction", esc(b.direction || "–")],
          ["Faults", faults || '<span class="good">none</span>', "faults"],
          ["Status", esc(b.status.join(", ")) || "–", "status"],
          ["EEPROM writes", e.writes === null || e.writes === undefined ? "–" : `${e.writes} of ${e.budget}${e.used_pct !== null ? ` (${e.used_pct} %)` : ""}`, "eeprom"],
          ["Today", `${num(today.charged, "kWh", 2)} charged, ${num(today.discharged, "kWh", 2)} discharged`, "today"],
        ])}</section>`;
    })
    .join("");
}

function renderCars(cars) {
  $("#cars").innerHTML = cars.length
    ? cars
        .map((v) => `<div class="car" data-kind="vehicle" data-name="${esc(v.name)}">
        <h2>${esc(v.name)} <span class="pill ${v.adapter === "online" ? "good" : v.adapter === "offline" ? "" : ""}" data-field="adapter">adapter ${esc(v.adapter)}</span></h2>
        <p class="big" data-field="soc">${num(v.soc, "%", 1)}</p>
        <p class="muted">${ago(v.age_s)}${v.soh !== null ? ` · SoH ${num(v.soh, "%", 0)}` : ""}</p></div>`)
        .join("")
    : '<p class="muted">no car has reported yet</p>';
}

function renderServices(health) {
  const ok = health.status === "pass";
  const pill = $("#overall");
  pill.textContent = `${ok ? "all services up" : "attention needed"} · MQTT ${health.mqtt_connected ? "connected" : "disconnected"}`;
  pill.className = `pill ${ok ? "good" : "bad"}`;
  $("#services tbody").innerHTML = Object.entries(health.services)
    .map(([name, s]) => `<tr class="${s.up ? "up" : "down"}"><td>${esc(name)}</td>
      <td>${s.up ? "up" : "down"}</td><td>${esc(s.reason || "")}</td><td>${esc(s.version || "")}</td></tr>`)
    .join("");
}

async function refreshState() {
  try {
    const r = await fetch("/dashboard/state", { cache: "no-store" });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const s = await r.json();
    renderSetup(s.setup);
    renderController(s.controller);
    renderBatteries(s.batteries);
    renderCars(s.vehicles);
    renderServices(s.health);
    $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    $("#overall").textContent = `API unreachable (${err.message})`;
    $("#overall").className = "pill bad";
  }
}

// --- charts ------------------------------------------------------------------------------
const charts = {};
let powerRange = 3600;

function seriesStyle(name, index) {
  if (SERIES[name]) return SERIES[name];
  const car = name.split(".")[1];
  return { label: `${car} SoC`, unit: "%", color: CAR_COLORS[index % CAR_COLORS.length] };
}

function aligned(answer) {
  const names = Object.keys(answer.series).filter((n) => answer.series[n].points.length);
  const xs = [...new Set(names.flatMap((n) => answer.series[n].points.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  const ys = names.map((n) => {
    const col = new Array(xs.length).fill(null);
    answer.series[n].points.forEach((p) => { col[index.get(p[0])] = p[1]; });
    return col;
  });
  return { names, data: [xs, ...ys] };
}

async function refreshChart(el, range) {
  const url = `/history?series=${encodeURIComponent(el.dataset.series)}&from=${-range}&max_points=4000`;
  let answer;
  try {
    const r = await fetch(url, { cache: "no-store" });
    if (!r.ok) {
      el.dataset.error = `HTTP ${r.status}`;
      if (r.status === 503) {
        if (charts[el.id]) { charts[el.id].plot.destroy(); delete charts[el.id]; }
        el.innerHTML = '<p class="muted">history is off (see the API log)</p>';
        el.classList.add("empty");
      }
      return;
    }
    answer = await r.json();
  } catch (err) { el.dataset.error = err.message; return; }
  const { names, data } = aligned(answer);
  el.dataset.points = data[0].length;
  el.dataset.lastT = data[0].length ? data[0][data[0].length - 1] : "";
  el.dataset.names = names.join(",");
  const key = el.id;
  const width = Math.max(el.clientWidth, 200);
  const height = el.classList.contains("small") ? 170 : 240;
  if (charts[key] && charts[key].names === names.join(",")) {
    charts[key].plot.setData(data);
    return;
  }
  if (charts[key]) charts[key].plot.destroy();
  const empty = el.dataset.empty || "nothing recorded in this range yet";
  el.innerHTML = names.length ? "" : `<p class="muted">${esc(empty)}</p>`;
  el.classList.toggle("empty", !names.length);
  if (!names.length) { delete charts[key]; return; }
  const axis = { stroke: css("--muted"), grid: { stroke: css("--line"), width: 1 }, ticks: { stroke: css("--line") } };
  const opts = {
    width, height,
    // the whole range, now at the right edge (the chart scrolls as time goes on)
    scales: { x: { time: true, range: () => [Date.now() / 1000 - range, Date.now() / 1000] } },
    axes: [axis, { ...axis, size: 55 }],
    series: [{}, ...names.map((n, i) => {
      const s = seriesStyle(n, i);
      return { label: s.label, stroke: css(s.color), width: 1.5, spanGaps: true,
        value: (u, v) => (v === null ? "–" : `${v.toFixed(s.unit === "%" ? 1 : 0)} ${s.unit}`) };
    })],
    legend: { live: true },
  };
  charts[key] = { names: names.join(","), plot: new uPlot(opts, data, el) };
}

function refreshPower() {
  refreshChart($("#chart-power"), powerRange);
  refreshChart($("#chart-soc"), powerRange);
}

function chartEvery(range) {
  return range <= 3600 ? 5000 : range <= 86400 ? 60000 : 300000;
}

let powerTimer = null;
function schedulePower() {
  clearInterval(powerTimer);
  refreshPower();
  powerTimer = setInterval(refreshPower, chartEvery(powerRange));
}

document.querySelectorAll("[data-range]").forEach((b) => {
  if (!b.matches("button")) return;
  b.addEventListener("click", () => {
    powerRange = Number(b.dataset.range);
    document.querySelectorAll("button[data-range]").forEach((x) => x.classList.toggle("on", x === b));
    schedulePower();
  });
});

window.addEventListener("resize", () => {
  Object.entries(charts).forEach(([id, c]) => {
    const el = document.getElementById(id);
    c.plot.setSize({ width: Math.max(el.clientWidth, 200), height: c.plot.height });
  });
});

// light/dark changed while the page is open: redraw the charts in the new colours
window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
  Object.entries(charts).forEach(([id, c]) => { c.plot.destroy(); delete charts[id]; });
  refreshPower();
  refreshChart($("#chart-cars"), 604800);
});

// --- controls ----------------------------------------------------------------------------
function token() { return localStorage.getItem(TOKEN_KEY) || ""; }

function describe(status, body) {
  if (status === 200) {
    return `applied: ${JSON.stringify(body.applied)}`;
  }
  let detail = body && body.detail;
  if (Array.isArray(detail)) detail = detail.map((d) => `${d.field}: ${d.msg}`).join("; ");
  const why = status === 401 ? "missing or wrong API token" : detail || "";
  return `refused (HTTP ${status}): ${why}`;
}

async function patch(change) {
  const result = $("#result");
  result.textContent = "sending…";
  result.className = "";
  try {
    const r = await fetch("/config/controller", {
      method: "PATCH",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token()}` },
      body: JSON.stringify(change),
    });
    const body = await r.json().catch(() => ({}));
    result.textContent = describe(r.status, body);
    result.className = r.ok ? "good" : "bad";
    result.dataset.status = r.status;
    refreshState();
  } catch (err) {
    result.textContent = `not sent: ${err.message}`;
    result.className = "bad";
  }
}

$("#token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  localStorage.setItem(TOKEN_KEY, $("#token").value.trim());
  $("#token").value = "";
  $("#token").placeholder = token() ? "saved in this browser" : "from /secrets/api-token";
});
$("#token").placeholder = token() ? "saved in this browser" : "from /secrets/api-token";
document.querySelectorAll("[data-mode]").forEach((b) =>
  b.addEventListener("click", () =>
    patch(b.dataset.mode === "off" ? { enabled: false } : { enabled: true, mode: b.dataset.mode })));
$("#target-form").addEventListener("submit", (e) => {
  e.preventDefault();
  patch({ control: { target_w: Number($("#target").value) } });
});
$("#manual-form").addEventListener("submit", (e) => {
  e.preventDefault();
  patch({ enabled: true, mode: "manual", manual_setpoint_w: Number($("#manual").value) });
});

// --- start -------------------------------------------------------------------------------
refreshState();
setInterval(refreshState, STATE_EVERY_MS);
schedulePower();
refreshChart($("#chart-cars"), 604800);
setInterval(() => refreshChart($("#chart-cars"), 604800), 60000);
