// Glue: live messages to the map, the panel, the charts, the legend and the feed.
"use strict";

(function (D) {
  const fleet = D.fleet;
  const FEED_MAX = 300;

  D.select = function (imei) {
    D.view.selected = imei;
    if (imei) {
      const row = fleet.row(imei);
      if (row !== undefined && fleet.platform[row] !== D.view.platform) {
        D.$("#platform").value = String(fleet.platform[row]);
        D.map.setPlatform(fleet.platform[row]);
      }
      if (row !== undefined && D.view.model >= 0 && fleet.model[row] !== D.view.model) {
        setModelFilter(""); // a vehicle of another model was asked for: show them all
      }
      D.panel.open(imei);
      showTab("vehicle");
    }
    D.map.invalidate();
  };

  function showTab(name) {
    D.$$(".tabs button").forEach((b) => b.classList.toggle("on", b.dataset.tab === name));
    D.$$(".tab").forEach((t) => t.classList.toggle("on", t.id === `tab-${name}`));
    D.controls.onTab(name);
  }
  D.$$(".tabs button").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));

  D.$("#find").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const imei = D.$("#find-imei").value.trim();
    if (fleet.row(imei) === undefined) { D.$("#find-imei").select(); return; }
    D.select(imei);
    D.map.show(imei);
  });

  // -- legend: colours, counts, click to hide a state ------------------------------------------

  // Per state: the server's exact tally of the whole fleet, or the page's count of one model.
  function stateCounts(stats) {
    if (D.view.model < 0) return (stats && stats.byState) || [];
    const counts = new Array(fleet.states.length).fill(0);
    for (let i = 0; i < fleet.n; i++) if (fleet.model[i] === D.view.model) counts[fleet.st[i]]++;
    return counts;
  }

  function drawLegend(stats) {
    const counts = stateCounts(stats);
    D.$("#legend").replaceChildren(...fleet.states.map((name, s) => D.el("div", {
      class: D.view.hidden.has(s) ? "off" : "",
      title: "click to hide or show",
      onclick: () => {
        if (D.view.hidden.has(s)) D.view.hidden.delete(s); else D.view.hidden.add(s);
        drawLegend(lastStats);
        D.map.invalidate();
      },
    }, D.el("i", {style: `background:${D.colorOf(name)}`}), name, D.el("b", {}, counts[s] || 0))));
  }

  // -- the model filter: the map, the legend and the feed show one model or all -----------------

  function fillModelFilter() {
    const select = D.$("#model-filter");
    const current = select.value;
    const counts = new Array(fleet.models.length).fill(0);
    for (let i = 0; i < fleet.n; i++) counts[fleet.model[i]]++;
    select.replaceChildren(D.el("option", {value: ""}, "all models"),
      ...fleet.models.map((name, k) => D.el("option", {value: name}, `${name} (${counts[k]})`)));
    setModelFilter(fleet.models.includes(current) ? current : "");
    select.hidden = counts.filter((c) => c > 0).length < 2 && !select.value; // one model: no choice
  }
  function setModelFilter(name) {
    D.$("#model-filter").value = name;
    D.map.setModel(name ? fleet.models.indexOf(name) : -1);
    drawLegend(lastStats);
    D.$$("#feed li").forEach((li) => { li.hidden = feedHidden(li); });
  }
  D.$("#model-filter").addEventListener("change", (ev) => setModelFilter(ev.target.value));

  // -- the feed ---------------------------------------------------------------------------------

  function describe(e) {
    const d = e.data || {};
    switch (e.kind) {
      case "vehicle":
        if (e.type === "status" && e.street) { // a ride begins or ends: who, and where
          const where = `${e.hub ? "in the hub at" : "on"} ${e.street}`;
          const who = e.rider ? `${e.rider} ` : "";
          return d.reason === "unlock" ? `status unlock · ${who}${who ? "gets on" : "unlocked"} ${where}`
            : `status lock · ${who}${who ? "parks" : "locked"} ${where}`;
        }
        if (e.type === "status") return `status ${d.reason || ""}`;
        if (e.type === "alert") return `alert ${d.code} ${d.alertStatus ? "disappeared" : "appeared"}`;
        if (e.type === "fault") return `fault ${d.code} ${d.faultStatus ? "cleared" : "appeared"}`;
        if (e.type === "components") return `components type ${d.type} status ${d.status}`;
        return e.type;
      case "api":
        return `${e.endpoint} → ${e.code}${e.detail ? ` (${e.detail})` : ""}`;
      case "push":
        return `${e.type} push → ${e.outcome}` +
          `${e.httpStatus ? ` ${e.httpStatus}` : ""}${e.error ? ` ${e.error}` : ""}` +
          `${e.reason ? ` (${e.reason})` : ""}${e.attempt > 1 ? " · retry" : ""}` +
          `${e.chaos ? ` · chaos ${e.chaos}` : ""}`;
      case "reset":
        return "the world was reset";
      default:
        return e.kind;
    }
  }
  const failed = (e) => (e.kind === "api" && e.code !== 0 && e.code !== 200) ||
    (e.kind === "push" && e.outcome !== "delivered");

  function addToFeed(events, note) {
    const feed = D.$("#feed");
    const items = events.slice(-FEED_MAX).map((e) => {
      const row = e.iotCode ? fleet.row(e.iotCode) : undefined;
      const li = D.el("li", {
        "data-kind": e.kind, "data-imei": e.iotCode || "", "data-type": e.type || e.endpoint || "",
        "data-model": row === undefined ? "" : fleet.modelOf(row) || "",
        onclick: () => { if (e.iotCode && fleet.row(e.iotCode) !== undefined) D.select(e.iotCode); },
      },
      D.el("span", {class: "t"}, D.fmtTime(e.t)),
      D.el("span", {class: `k ${e.kind}`}, e.kind),
      D.el("span", {}, e.iotCode || e.platformCode || ""),
      D.el("span", {class: failed(e) ? "bad" : ""}, describe(e)));
      li.hidden = feedHidden(li);
      return li;
    });
    if (note) items.push(D.el("li", {"data-kind": "note"}, D.el("span", {class: "hint"}, note)));
    feed.prepend(...items.reverse());
    while (feed.childElementCount > FEED_MAX) feed.lastElementChild.remove();
  }
  const hiddenKinds = new Set();
  // A line is hidden by its kind, or by the model filter when it names a vehicle of another model.
  function feedHidden(li) {
    const model = D.$("#model-filter").value;
    return hiddenKinds.has(li.dataset.kind) ||
      (!!model && !!li.dataset.model && li.dataset.model !== model);
  }
  D.$$(".filters input").forEach((box) => box.addEventListener("change", () => {
    if (box.checked) hiddenKinds.delete(box.dataset.kind); else hiddenKinds.add(box.dataset.kind);
    D.$$("#feed li").forEach((li) => { li.hidden = feedHidden(li); });
  }));

  // -- live messages ----------------------------------------------------------------------------

  let lastStats = null;
  D.live.on((msg) => {
    if (msg.roster) {
      fillModelFilter(); // before the legend: it counts the model shown
      drawLegend(lastStats); // first: the map fits the fleet around the legend
      D.controls.onRoster();
      D.panel.onRoster();
      if (D.view.selected && fleet.row(D.view.selected) === undefined) D.panel.close();
    }
    if (msg.fleet) D.map.invalidate();
    if (msg.clock) D.controls.onClock(msg.clock);
    if (msg.stats) {
      lastStats = msg.stats;
      D.charts.update(msg.stats);
      drawLegend(msg.stats);
    }
    let note = null;
    if (msg.resync) note = "reconnected to a new simulator stream: the map was redrawn";
    else if (msg.gap) note = `${msg.gap} events skipped (this page fell behind)`;
    if ((msg.events && msg.events.length) || note) addToFeed(msg.events || [], note);
    if (msg.gap) D.$("#feed-gap").textContent = `${msg.gap} skipped`;
    D.panel.onMessage(msg);
  });

  window.dash = D; // for the console and for browser tests
  D.live.connect();
})(window.Dash);
