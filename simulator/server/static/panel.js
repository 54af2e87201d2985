// The vehicle panel: what the queries would return, settings, alerts and faults, recent pushes and
// API calls; buttons that act as the partner app (vendor API) and as the world (control plane).
"use strict";

(function (D) {
  const fleet = D.fleet;
  // Each button's vendor operation (GET /_sim/models names them): its path, used until the
  // models are read, and its body beside iotCode.
  const VENDOR = {
    "unlock": ["/api/v2/vehicle/control/unlock", () => ({})],
    "lock": ["/api/v2/vehicle/control/lock", () => ({})],
    "battery-cover": ["/api/v2/vehicle/control/battery-cover", () => ({})],
    "sound": ["/api/v2/vehicle/control/sound", () => ({controlType: +D.$("#v-sound").value})],
    "light": ["/api/v2/vehicle/control/light",
      () => chosen({headLight: "#v-head-light", tailLight: "#v-tail-light"})],
    "setting/speed-mode": ["/api/v2/vehicle/setting/speed-mode",
      () => ({speedMode: +D.$("#v-speed-mode").value})],
    "setting/scooter": ["/api/v2/vehicle/setting/scooter", () => chosen(LIMITS)],
    "mech-lock": ["/api/v2/vehicle/control/mech-lock", () => ({})],
    "whole-shutdown": ["/api/v2/vehicle/control/whole-shutdown", () => ({})],
  };
  const LIMITS = {lowSpeedLimit: "#v-limit-low", mediumSpeedLimit: "#v-limit-medium",
    highSpeedLimit: "#v-limit-high"};
  // What a sound's controlType means, as the evidence names it (a model's enum decides which
  // are offered; a code without a name here shows as its number).
  const SOUND_NAMES = {
    "": {2: "toot", 10: "custom 1", 11: "custom 2", 12: "custom 3", 13: "custom 4"},
    "scooter": {1: "out of geofence", 3: "low battery"},
  };

  // The optional fields of a body that were given a value: {field: selector} -> {field: number}.
  function chosen(fields) {
    const body = {};
    for (const [name, sel] of Object.entries(fields)) {
      const value = D.$(sel).value.trim();
      if (value !== "") body[name] = +value;
    }
    return body;
  }
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

  // models: name -> {title, ops: Map(operation -> {method, path, parameters, ...})}, v2 only,
  // from GET /_sim/models (read once); null until then: every button shows.
  const panel = D.panel = {imei: null, data: null, models: null};
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
    const [fallback, params] = VENDOR[op];
    const listed = modelOf(imei);
    const path = (listed && listed.ops.has(op) && listed.ops.get(op).path) || fallback;
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

  // -- vehicle models: the buttons and choices of the vehicle's model ---------------------------

  let modelsLoading = false;
  async function loadModels() {
    if (panel.models || modelsLoading) return;
    modelsLoading = true;
    const res = await D.http("GET", "/_sim/models");
    modelsLoading = false;
    const items = res.ok && res.body && Array.isArray(res.body.items) ? res.body.items : null;
    if (!items) return; // an older simulator: every button stays, the vendor answers for itself
    panel.models = new Map(items.map((m) => [m.name, {title: m.title || m.name,
      ops: new Map((m.operations || []).filter((o) => o.surface !== "v1")
        .map((o) => [o.operation, o]))}]));
    if (panel.imei) applyModel();
  }

  // The model of a vehicle: the roster's code, else what the panel data says.
  function modelName(imei) {
    const row = fleet.row(imei);
    const name = row === undefined ? undefined : fleet.modelOf(row);
    return name || (panel.data && panel.data.model) || "";
  }
  function modelOf(imei) {
    return panel.models ? panel.models.get(modelName(imei)) || null : null;
  }

  // Options of a select from an integer parameter's enum (or range), keeping the choice made.
  function fillChoices(select, param, names) {
    if (!param) return;
    const {minimum: lo, maximum: hi} = param;
    const values = param.enum ||
      (lo !== undefined && hi !== undefined ? Array.from({length: hi - lo + 1}, (_, k) => lo + k) : null);
    if (!values) return;
    const current = select.value;
    select.replaceChildren(...values.map((v) => D.el("option", {value: v},
      names[v] ? `${v} ${names[v]}` : String(v))));
    if (values.map(String).includes(current)) select.value = current;
  }

  // Show the buttons of the operations the vehicle's model has, with its choices and ranges.
  let applied = null;
  function applyModel() {
    const name = modelName(panel.imei), model = modelOf(panel.imei);
    // Once per vehicle and what is known of it: rebuilding would close an open select.
    const key = `${panel.imei} ${name} ${!!model} ${!!panel.data}`;
    if (key === applied) return;
    applied = key;
    const box = D.$("#v-model");
    box.textContent = model ? model.title : (panel.data && panel.data.model) || name;
    box.dataset.model = name;
    for (const item of D.$("#v-vendor").children) {
      const button = item.dataset.vendor ? item : D.$("[data-vendor]", item);
      if (button) item.hidden = !!model && !model.ops.has(button.dataset.vendor);
    }
    if (!model) return;
    const param = (op, field) => {
      const o = model.ops.get(op);
      return o && o.parameters ? o.parameters[field] : undefined;
    };
    fillChoices(D.$("#v-sound"), param("sound", "controlType"),
      Object.assign({}, SOUND_NAMES[""], SOUND_NAMES[name] || {}));
    for (const [field, sel] of Object.entries(LIMITS)) {
      const range = param("setting/scooter", field);
      if (range && range.minimum !== undefined) D.$(sel).min = range.minimum;
      if (range && range.maximum !== undefined) D.$(sel).max = range.maximum;
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
    if (panel.fresh) { // a newly opened vehicle: its own settings are the starting choices
      D.$("#v-speed-mode").value = String(d.settings.speedMode);
      const lights = d.settings.lights || {};
      D.$("#v-head-light").value = lights.headLight === undefined ? "" : String(lights.headLight);
      D.$("#v-tail-light").value = lights.tailLight === undefined ? "" : String(lights.tailLight);
      const limits = d.settings.speedLimits || {};
      for (const [key, sel] of [["low", "#v-limit-low"], ["medium", "#v-limit-medium"],
        ["high", "#v-limit-high"]]) D.$(sel).value = limits[key] ? String(limits[key]) : "";
      panel.fresh = false;
    }
    applyModel();
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
          d.settings.lights && [
            D.el("h3", {}, "Lights ", D.el("small", {}, "0 off, 1 on, 2 flicker")),
            D.el("div", {id: "v-lights"}, kv(d.settings.lights))],
          d.settings.speedLimits && [
            D.el("h3", {}, "Speed limits ", D.el("small", {}, "km/h, 0 none")),
            D.el("div", {id: "v-speed-limits"}, kv(d.settings.speedLimits))],
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
    applyModel(); // the roster knows the model already: the right buttons from the start
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
  panel.onRoster = loadModels; // once read, kept; a failed read is tried again on a roster
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
