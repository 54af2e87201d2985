// The vehicle panel: what the queries would return, settings, alerts and faults, recent pushes and
// API calls; buttons that act as the partner app (vendor API) and as the world (control plane).
"use strict";

(function (D) {
  const fleet = D.fleet;
  const VENDOR = {
    "unlock": ["/api/v2/vehicle/control/unlock", () => ({})],
    "battery-cover": ["/api/v2/vehicle/control/battery-cover", () => ({})],
    "sound": ["/api/v2/vehicle/control/sound", () => ({controlType: +D.$("#v-sound").value})],
    "speed-mode": ["/api/v2/vehicle/setting/speed-mode",
      () => ({speedMode: +D.$("#v-speed-mode").value})],
    "mech-lock": ["/api/v2/vehicle/control/mech-lock", () => ({})],
    "whole-shutdown": ["/api/v2/vehicle/control/whole-shutdown", () => ({})],
  };
  // What the world does to a vehicle, as control-plane requests: [method, path suffix, body].
  const WORLD = {
    "rider-lock": () => ["POST", "/events", {type: "rider-lock"}],
    "ride": () => ["POST", "/events", {type: "ride"}],
    "alert": () => ["POST", "/events", {type: "alert", code: +D.$("#v-alert").value}],
    "alert-cleared": () => ["POST", "/events", {type: "alert-cleared", code: +D.$("#v-alert").value}],
    "fault": () => ["POST", "/events", {type: "fault", code: D.$("#v-fault").value}],
    "fault-cleared": () => ["POST", "/events", {type: "fault-cleared", code: D.$("#v-fault").value}],
    "charger-on": () => ["POST", "/events", {type: "charger", plugged: true}],
    "charger-off": () => ["POST", "/events", {type: "charger", plugged: false}],
    "offline": () => ["POST", "/events", {type: "offline"}],
    "online": () => ["POST", "/events", {type: "online"}],
    "battery-cover-closed": () => ["POST", "/events", {type: "battery-cover-closed"}],
    "upgrade-start": () => ["POST", "/events", {type: "upgrade-start"}],
    "upgrade-end": () => ["POST", "/events", {type: "upgrade-end"}],
    "power-on": () => ["POST", "/events", {type: "power-on"}],
  };

  const panel = D.panel = {imei: null, data: null};
  const tokens = new Map(); // platform code -> bearer token, got like a partner app gets it

  async function token(code, fresh) {
    if (!fresh && tokens.has(code)) return tokens.get(code);
    const p = fleet.platforms.find((x) => x.code === code);
    if (!p || !p.clientSecret) return null;
    const form = new URLSearchParams({client_id: code, client_secret: p.clientSecret,
      grant_type: "client_credentials"});
    const res = await D.http("POST", "/oauth/token", form.toString(),
      {"Content-Type": "application/x-www-form-urlencoded"});
    if (!res.ok || !res.body || !res.body.access_token) return null;
    tokens.set(code, res.body.access_token);
    return res.body.access_token;
  }

  function showResult(text, ok) {
    const box = D.$("#v-result");
    box.textContent = text;
    box.className = `result ${ok ? "ok" : "bad"}`;
  }

  async function vendor(op) {
    const imei = panel.imei, row = fleet.row(imei);
    if (row === undefined) return;
    const code = fleet.platforms[fleet.platform[row]].code;
    const [path, params] = VENDOR[op];
    const body = Object.assign({iotCode: imei}, params());
    for (const fresh of [false, true]) {
      const bearer = await token(code, fresh);
      if (!bearer) { showResult(`${op}: no token for platform ${code}`, false); return; }
      const res = await D.http("POST", path, body, {Authorization: `bearer ${bearer}`});
      const env = res.body || {};
      if (env.code === 15101 && !fresh) continue; // token expired on the virtual clock: renew once
      showResult(`${op} → ${env.code ?? res.status} ${env.msg ?? D.describe(res)}`, env.code === 0);
      return;
    }
  }

  async function world(action) {
    const [method, suffix, body] = WORLD[action]();
    const res = await D.http(method, `/_sim/vehicles/${encodeURIComponent(panel.imei)}${suffix}`, body);
    showResult(`${action} → ${res.ok ? "done" : D.describe(res)}`, res.ok);
    refresh();
  }

  const kv = (obj) => D.el("table", {class: "kv"}, Object.entries(obj || {}).map(([k, v]) =>
    D.el("tr", {}, D.el("td", {title: k}, k),
      D.el("td", {}, v !== null && typeof v === "object" ? JSON.stringify(v) : String(v)))));

  // {group: {name: v}} -> {"group.name": v}
  function flatten(groups) {
    const out = {};
    for (const [group, values] of Object.entries(groups || {})) {
      for (const [name, value] of Object.entries(values)) out[`${group}.${name}`] = value;
    }
    return out;
  }

  function logList(items, line) {
    if (!items) return D.el("p", {class: "hint"}, "not available");
    if (!items.length) return D.el("p", {class: "hint"}, "none yet");
    return D.el("ul", {class: "log"}, items.slice().reverse().map(line));
  }

  function render() {
    const d = panel.data;
    if (!d) return;
    if (panel.fresh) { // a newly opened vehicle: its own speed mode is the starting choice
      D.$("#v-speed-mode").value = String(d.settings.speedMode);
      panel.fresh = false;
    }
    D.$("#v-sub").textContent = `platform ${d.platformCode} · ${d.city} · firmware ${d.firmware}`;
    renderCard(d);
    const battery = Object.assign({}, d.battery);
    const packs = battery.batteryData || [];
    delete battery.batteryData;
    const switches = Object.assign({speedMode: d.settings.speedMode,
      bluetoothKey: d.settings.bluetoothKey}, d.settings.switch);
    D.$("#v-details").replaceChildren(
      D.el("h3", {}, "Alerts and faults"),
      d.alerts.length || d.faults.length
        ? D.el("p", {class: "bad"}, d.alerts.map((a) => `alert ${a} ${d.alertNames[a] || ""}`)
          .concat(d.faults.map((f) => `fault ${f}`)).join(" · "))
        : D.el("p", {class: "hint"}, "none active"),
      D.el("div", {class: "cols"},
        D.el("div", {}, D.el("h3", {}, "Status ", D.el("small", {}, "query")), kv(d.status)),
        D.el("div", {}, D.el("h3", {}, "Location ", D.el("small", {}, "query")), kv(d.location),
          D.el("h3", {}, "Battery info ", D.el("small", {}, "query")), kv(battery))),
      D.el("h3", {}, `Battery packs (${packs.length})`),
      D.el("table", {class: "kv"}, packs.map((p) => D.el("tr", {},
        D.el("td", {}, `port ${p.batteryPort}`),
        D.el("td", {}, `${p.batteryPercent} % · ${p.batteryVoltage} V · ${p.cycleTimes} cycles · ` +
          `${p.temperatrue} °C`)))),
      D.el("div", {class: "cols"},
        D.el("div", {}, D.el("h3", {}, "Vehicle"),
          kv(Object.assign({commandInFlight: d.commandInFlight}, d.flags))),
        D.el("div", {}, D.el("h3", {}, "Settings"), kv(switches),
          D.el("h3", {}, "Sound"), kv(d.settings.sound),
          D.el("h3", {}, "Intervals (s)"), kv(flatten(d.settings.interval)))),
      D.el("h3", {}, "Ambient"),
      kv({setting: d.settings.ambient, effect: d.settings.ambientEffect, lastSound: d.lastSound}),
      D.el("h3", {}, "Recent pushes"),
      logList(d.pushes, (p) => D.el("li", {},
        D.el("span", {class: "t"}, D.fmtTime(p.t > 1e11 ? p.t / 1000 : p.t)),
        D.el("span", {}, p.type ?? "?"),
        D.el("span", {class: p.outcome === "delivered" ? "ok" : "bad"},
          `${p.outcome ?? p.status ?? ""}`),
        D.el("span", {class: "hint"}, p.attempt ? `attempt ${p.attempt}` : ""))),
      D.el("h3", {}, "Recent API calls"),
      logList(d.calls, (c) => D.el("li", {},
        D.el("span", {class: "t"}, D.fmtTime(c.t > 1e11 ? c.t / 1000 : c.t)),
        D.el("span", {}, c.endpoint),
        D.el("span", {class: c.code === 0 ? "ok" : "bad"}, `${c.code ?? c.httpStatus}`),
        D.el("span", {class: "hint"}, c.detail || ""))),
    );
  }

  // The picture-like summary: the bike in its state's colour, the model, a battery gauge with
  // the range, the last pushes as chips, and the story of its rider or where it stands.
  function renderCard(d) {
    const power = d.status.powerPercent, range = d.status.remainingRange / 100; // 10 m units
    D.$("#v-model").textContent = d.model;
    const gauge = D.$("#v-gauge");
    gauge.style.width = `${Math.max(0, Math.min(100, power))}%`;
    gauge.style.background = power < 10 ? "var(--bad)" : power < 20 ? "var(--warn)" : "var(--good)";
    D.$("#v-gauge-text").textContent = `${power} % · ${range.toFixed(range < 10 ? 1 : 0)} km` +
      `${d.charging ? " · charging" : ""}`;
    const pushes = (d.pushes || []).slice(-4).reverse();
    D.$("#v-chips").replaceChildren(...(pushes.length ? pushes.map((p) => D.el("span", {
      class: `chip ${p.outcome === "delivered" ? "ok" : "bad"}`,
      title: `${p.type} push ${p.outcome ?? ""} at ${D.fmtTime(p.t > 1e11 ? p.t / 1000 : p.t)}`,
    }, `${p.type} ${p.outcome === "delivered" ? "✓" : "✗"}`))
      : [D.el("span", {class: "hint"}, d.pushes ? "no pushes yet" : "pushes not journaled")]));
    D.$("#v-story").textContent = d.story || "";
  }

  function renderState() {
    const row = fleet.row(panel.imei);
    const badge = D.$("#v-state");
    const state = row === undefined ? "gone" : fleet.stateOf(row);
    badge.textContent = state;
    badge.style.background = D.colorOf(state);
    D.$("#v-card .bike").style.color = D.colorOf(state);
  }

  let refreshing = null, again = false;
  async function refresh() {
    if (!panel.imei) return;
    if (refreshing) { again = true; return; }
    const imei = panel.imei;
    refreshing = D.http("GET", `/_sim/live/vehicles/${encodeURIComponent(imei)}`);
    const res = await refreshing;
    refreshing = null;
    if (panel.imei === imei) {
      if (res.ok) { panel.data = res.body; render(); } else showResult(D.describe(res), false);
    }
    if (again) { again = false; refresh(); }
  }

  let lastRefresh = 0;
  panel.open = function (imei) {
    panel.imei = imei;
    panel.data = null;
    panel.fresh = true;
    D.$("#v-empty").hidden = true;
    D.$("#v-panel").hidden = false;
    D.$("#v-imei").textContent = imei;
    D.$("#v-result").textContent = "";
    D.$("#v-story").textContent = "";
    D.$("#v-chips").replaceChildren();
    D.$("#v-details").replaceChildren();
    renderState();
    refresh();
  };
  panel.close = function () {
    panel.imei = null;
    D.$("#v-panel").hidden = true;
    D.$("#v-empty").hidden = false;
  };
  // Every live message: the badge follows the frames; the details are re-read when something
  // happened to this vehicle, and at most once a second while it moves.
  panel.onMessage = function (msg) {
    if (!panel.imei) return;
    const row = fleet.row(panel.imei);
    renderState();
    const touched = (msg.events || []).some((e) => e.iotCode === panel.imei);
    const moved = row !== undefined && (msg.touched === null || msg.touched.includes(row));
    const now = performance.now();
    if (touched || (moved && now - lastRefresh > 1000) || msg.resync) {
      lastRefresh = now;
      refresh();
    }
  };
  panel.fillCodes = function (meta) {
    D.$("#v-alert").replaceChildren(...Object.entries(meta.alertNames || {}).map(([code, name]) =>
      D.el("option", {value: code}, `${code} ${name}`)));
    D.$("#v-fault").replaceChildren(...(meta.faultCodes || []).map((code) =>
      D.el("option", {value: code}, code)));
  };

  D.$("#v-close").addEventListener("click", () => { panel.close(); D.select(null); });
  D.$("#v-vendor").addEventListener("click", (ev) => {
    const op = ev.target.dataset && ev.target.dataset.vendor;
    if (op && panel.imei) vendor(op);
  });
  D.$("#v-world").addEventListener("click", (ev) => {
    const action = ev.target.dataset && ev.target.dataset.event;
    if (action && panel.imei) world(action);
  });
})(window.Dash);
