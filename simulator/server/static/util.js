// Shared helpers of the dashboard: the namespace, DOM, colours, time, HTTP.
"use strict";

window.Dash = window.Dash || {};

(function (D) {
  D.$ = (sel, root) => (root || document).querySelector(sel);
  D.$$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // Build an element: D.el("td", {class: "k"}, "text", child, ...).
  D.el = function (tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "style") node.style.cssText = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      node.append(c instanceof Node ? c : String(c));
    }
    return node;
  };

  // Display states, in the order of the live channel's codes (live_frames.STATES).
  D.STATE_COLORS = {
    "locked": "#66bb6a", "unlocked": "#4dd0e1", "riding": "#42a5f5", "low-battery": "#ffa726",
    "charging": "#ba68c8", "dormant": "#a1887f", "offline": "#78909c", "upgrading": "#26c6da",
    "fault": "#ef5350", "alert": "#ff4081", "inactive": "#455a64",
  };
  D.colorOf = (state) => D.STATE_COLORS[state] || "#ffffff";

  // A stable colour per series key ("unlock 0"): hue from the first word, red-ish when failing.
  const PALETTE = ["#42a5f5", "#66bb6a", "#ffca28", "#ab47bc", "#26c6da", "#ec407a", "#8d6e63",
    "#d4e157", "#5c6bc0", "#ffa726", "#26a69a", "#bdbdbd", "#7e57c2", "#9ccc65"];
  const hues = new Map();
  D.seriesColor = function (key, bad) {
    const first = String(key).split(" ")[0];
    if (!hues.has(first)) hues.set(first, PALETTE[hues.size % PALETTE.length]);
    return bad ? "#ef5350" : hues.get(first);
  };

  D.pad = (n, w) => String(n).padStart(w || 2, "0");
  // Virtual time as UTC: the simulator's clock is epoch seconds, the page shows it in UTC.
  D.fmtTime = function (t, withDate) {
    const d = new Date(t * 1000);
    const hms = `${D.pad(d.getUTCHours())}:${D.pad(d.getUTCMinutes())}:${D.pad(d.getUTCSeconds())}`;
    if (!withDate) return hms;
    return `${d.getUTCFullYear()}-${D.pad(d.getUTCMonth() + 1)}-${D.pad(d.getUTCDate())} ${hms}`;
  };
  // A count in at most four characters or so: 980, 2.5k, 25k, 250k, 2.5M.
  D.fmtCount = function (n) {
    const short = (v, unit) => `${v < 10 ? +v.toFixed(1) : Math.round(v)}${unit}`;
    if (n < 1000) return String(n);
    if (n < 999500) return short(n / 1e3, "k");
    return short(n / 1e6, "M");
  };
  D.fmtMeters = (m) => (m >= 1000 ? `${+(m / 1000).toFixed(m % 1000 ? 1 : 0)} km` : `${m} m`);

  // JSON over HTTP; never throws: {ok, status, body} (body null when not JSON).
  D.http = async function (method, url, body, headers) {
    const init = {method, headers: Object.assign({}, headers || {})};
    if (body !== undefined) {
      init.headers["Content-Type"] = init.headers["Content-Type"] || "application/json";
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    try {
      const res = await fetch(url, init);
      let parsed = null;
      try { parsed = await res.json(); } catch (e) { parsed = null; }
      return {ok: res.ok, status: res.status, body: parsed};
    } catch (e) {
      return {ok: false, status: 0, body: {error: String(e.message || e)}};
    }
  };

  // "404 no such route" style text for a control-plane answer.
  D.describe = function (res) {
    if (res.status === 0) return `no answer (${res.body && res.body.error})`;
    const b = res.body || {};
    if (b.error) return `${res.status} ${b.error}${b.field ? ` (${b.field})` : ""}`;
    if (b.message) return `${res.status} ${b.message}`;
    return `${res.status}`;
  };

  D.base64Bytes = function (text) {
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  };
})(window.Dash);
