// Fleet controls, all through the control plane: the virtual clock, the platform's callback URL,
// fault rules, push chaos, scenarios, reset.
"use strict";

(function (D) {
  const fleet = D.fleet;
  const controls = D.controls = {clock: {now: 0, speed: 1, paused: false}};

  function say(text, ok) {
    const box = D.$("#fleet-result");
    box.textContent = text;
    box.className = `result ${ok ? "ok" : "bad"}`;
  }

  // -- the clock --------------------------------------------------------------------------------

  async function setClock(body, label) {
    const buttons = D.$$("header .clock button, #clock-jump button");
    buttons.forEach((b) => { b.disabled = true; });
    const res = await D.http("POST", "/_sim/clock", body);
    buttons.forEach((b) => { b.disabled = false; });
    if (res.ok) controls.onClock(res.body);
    say(`${label}: ${res.ok ? "done" : D.describe(res)}`, res.ok);
  }

  controls.onClock = function (clock) {
    if (!clock) return;
    controls.clock = clock;
    D.$("#clock-time").textContent = `${D.fmtTime(clock.now, true)} UTC`;
    const pill = D.$("#clock-speed");
    pill.textContent = clock.paused ? "paused" : `x${+clock.speed.toFixed(2)}`;
    pill.classList.toggle("paused", !!clock.paused);
    D.$("#clock-pause").textContent = clock.paused ? "resume" : "pause";
    const rate = D.$("#clock-rate");
    if (document.activeElement !== rate) {
      const match = Array.from(rate.options).find((o) => +o.value === clock.speed);
      if (!match) rate.append(D.el("option", {value: clock.speed}, `x${clock.speed}`));
      rate.value = String(clock.speed);
    }
  };

  D.$("#clock-pause").addEventListener("click", () =>
    setClock({paused: !controls.clock.paused}, controls.clock.paused ? "resume" : "pause"));
  D.$("#clock-rate").addEventListener("change", (ev) =>
    setClock({speed: +ev.target.value}, `speed x${ev.target.value}`));
  D.$$("[data-advance]").forEach((b) => b.addEventListener("click", () =>
    setClock({advance: +b.dataset.advance}, `advance ${b.textContent}`)));
  D.$("#clock-jump").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const s = +D.$("#clock-seconds").value;
    setClock({advance: s}, `advance ${s} s`);
  });

  // -- platform ---------------------------------------------------------------------------------

  controls.onRoster = function () {
    const select = D.$("#platform");
    const current = select.value;
    select.replaceChildren(...fleet.platforms.map((p, i) =>
      D.el("option", {value: i}, `${p.code} · ${p.city}`)));
    select.value = current !== "" && fleet.platforms[+current] ? current : "0";
    D.map.setPlatform(+select.value);
    showCallback();
    fillForms(fleet.meta);
    // Offer only what this simulator serves.
    const has = fleet.features;
    const enable = (sel, on) => D.$$(sel).forEach((e) => {
      e.disabled = !on;
      e.title = on ? e.title : "not served by this simulator";
    });
    enable("#v-world button", has.vehicleEvents);
    enable("#fault-form button, #fault-form select, #fault-form input", has.faults);
    enable("#chaos-form button, #chaos-form select, #chaos-form input", has.pushChaos);
    enable("#callback button, #callback input", has.platforms);
  };
  function platform() { return fleet.platforms[+D.$("#platform").value] || fleet.platforms[0]; }
  function showCallback() {
    const input = D.$("#callback-url");
    if (document.activeElement !== input) input.value = (platform() || {}).callbackUrl || "";
  }
  D.$("#platform").addEventListener("change", (ev) => {
    D.map.setPlatform(+ev.target.value);
    showCallback();
  });
  D.$("#callback").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const p = platform();
    const url = D.$("#callback-url").value.trim();
    const res = await D.http("PATCH", `/_sim/platforms/${encodeURIComponent(p.code)}`,
      {callbackUrl: url || null});
    say(`callback of ${p.code}: ${res.ok ? url || "none" : D.describe(res)}`, res.ok);
  });

  // -- rules: fault rules (vendor answers) and push chaos ----------------------------------------

  function fillForms(meta) {
    if (!meta || !meta.vendorCodes) return;
    D.$("#f-code").replaceChildren(...Object.entries(meta.vendorCodes).map(([code, msg]) =>
      D.el("option", {value: code}, `${code} ${msg}`)));
    D.$("#f-code").value = "15302";
    D.$("#f-endpoint").replaceChildren(D.el("option", {value: ""}, "any"),
      ...meta.operations.map((op) => D.el("option", {value: op}, op)));
    D.$("#c-action").replaceChildren(...meta.chaosActions.map((a) => D.el("option", {value: a}, a)));
    D.$("#c-type").replaceChildren(D.el("option", {value: ""}, "any"),
      ...meta.pushTypes.map((t) => D.el("option", {value: t}, t)));
    if (D.panel.fillCodes) D.panel.fillCodes(meta);
  }

  const optional = (sel, number) => {
    const v = D.$(sel).value.trim();
    return v === "" ? undefined : (number ? +v : v);
  };

  function ruleList(listSel, path, describe) {
    return async function refresh() {
      const res = await D.http("GET", path);
      const list = D.$(listSel);
      if (!res.ok) { list.replaceChildren(D.el("li", {class: "hint"}, D.describe(res))); return; }
      const items = res.body.items || [];
      list.replaceChildren(...(items.length ? items.map((rule) => D.el("li", {},
        D.el("span", {title: JSON.stringify(rule)}, describe(rule)),
        D.el("button", {class: "link", title: "remove", onclick: async () => {
          const del = await D.http("DELETE", `${path}/${rule.id}`);
          say(`remove rule ${rule.id}: ${del.ok ? "done" : D.describe(del)}`, del.ok);
          refresh();
        }}, "×"))) : [D.el("li", {class: "hint"}, "no rules")]));
    };
  }
  const where = (r) => [r.platformCode, r.iotCode].filter(Boolean).join(" ") || "all";
  const refreshFaults = ruleList("#fault-list", "/_sim/faults", (r) =>
    `#${r.id} ${r.endpoint || "any"} → ${r.code ?? "delay"} · ${where(r)} · p=${r.probability}` +
    `${r.times != null ? ` · ${r.times} left` : ""}${r.delayMs ? ` · ${r.delayMs} ms` : ""}` +
    ` · fired ${r.fired}`);
  const refreshChaos = ruleList("#chaos-list", "/_sim/push-chaos", (r) =>
    `#${r.id} ${r.action} ${r.type || "any"} · ${where(r)} · p=${r.probability}` +
    `${r.times != null ? ` · ${r.times} left` : ""} · fired ${r.fired}`);

  D.$("#fault-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {code: +D.$("#f-code").value, endpoint: optional("#f-endpoint"),
      iotCode: optional("#f-imei"), probability: optional("#f-prob", true),
      times: optional("#f-times", true), delayMs: optional("#f-delay", true)};
    const res = await D.http("POST", "/_sim/faults", JSON.parse(JSON.stringify(body)));
    say(`fault rule: ${res.ok ? `#${res.body.id} added` : D.describe(res)}`, res.ok);
    refreshFaults();
  });
  D.$("#f-clear").addEventListener("click", async () => {
    const res = await D.http("DELETE", "/_sim/faults");
    say(`fault rules: ${res.ok ? `${res.body.deleted} removed` : D.describe(res)}`, res.ok);
    refreshFaults();
  });
  D.$("#chaos-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {action: D.$("#c-action").value, type: optional("#c-type"),
      iotCode: optional("#c-imei"), probability: optional("#c-prob", true),
      times: optional("#c-times", true), delaySeconds: optional("#c-delay", true)};
    const res = await D.http("POST", "/_sim/push-chaos", JSON.parse(JSON.stringify(body)));
    say(`push chaos: ${res.ok ? `#${res.body.id} added` : D.describe(res)}`, res.ok);
    refreshChaos();
  });
  D.$("#chaos-clear").addEventListener("click", async () => {
    const res = await D.http("DELETE", "/_sim/push-chaos");
    say(`push chaos: ${res.ok ? `${res.body.deleted} removed` : D.describe(res)}`, res.ok);
    refreshChaos();
  });

  // -- scenarios --------------------------------------------------------------------------------

  const scenarioName = (s) => (typeof s === "string" ? s : s.name);
  async function refreshScenarios() {
    const box = D.$("#scenarios");
    if (!fleet.features.scenarios) {
      box.replaceChildren(D.el("p", {class: "hint"}, "no scenarios in this simulator"));
      return;
    }
    const res = await D.http("GET", "/_sim/scenarios");
    if (!res.ok) {
      box.replaceChildren(D.el("p", {class: "hint"},
        res.status === 404 ? "no scenarios in this simulator" : D.describe(res)));
      return;
    }
    const items = Array.isArray(res.body) ? res.body : res.body.items || [];
    box.replaceChildren(...items.map((s) => {
      const name = scenarioName(s);
      const progress = typeof s === "object" && typeof s.progress === "number" ? s.progress : null;
      return D.el("div", {class: "scenario"},
        D.el("span", {title: s.description || ""}, name,
          s.status ? D.el("small", {class: "hint"}, ` ${s.status}`) : null,
          progress !== null ? D.el("progress", {max: 1, value: progress}) : null),
        D.el("button", {onclick: async () => {
          const run = await D.http("POST", `/_sim/scenarios/${encodeURIComponent(name)}`, {});
          say(`scenario ${name}: ${run.ok ? "started" : D.describe(run)}`, run.ok);
          refreshScenarios();
        }}, "start"));
    }));
  }

  D.$("#reset").addEventListener("click", async () => {
    if (!window.confirm("Reset the whole simulator to its seeded start?")) return;
    const res = await D.http("POST", "/_sim/reset", {});
    say(`reset: ${res.ok ? "done" : D.describe(res)}`, res.ok);
  });

  // While the fleet tab is open its lists follow the world (fired counts, scenario progress).
  let timer = null;
  controls.onTab = function (tab) {
    clearInterval(timer);
    if (tab !== "fleet") return;
    const all = () => {
      if (fleet.features.faults) refreshFaults();
      if (fleet.features.pushChaos) refreshChaos();
      refreshScenarios();
      showCallback();
    };
    all();
    timer = setInterval(all, 3000);
  };
})(window.Dash);
