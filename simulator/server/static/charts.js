// Summary figures and charts, from the `stats` of live messages (computed by the server, so they
// are exact however many events a slow page skipped).
"use strict";

(function (D) {
  const OK_OUTCOMES = new Set(["delivered", "ok", "0", "200"]);

  function sizeCanvas(canvas) {
    const r = canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(r.width * dpr)), h = Math.max(1, Math.round(r.height * dpr));
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, r.width, r.height);
    return [ctx, r.width, r.height];
  }

  function axisLabel(ctx, text, x, y, align) {
    ctx.fillStyle = "#7d8d9c";
    ctx.font = "10px system-ui, sans-serif";
    ctx.textAlign = align || "start";
    ctx.fillText(text, x, y);
    ctx.textAlign = "start";
  }

  function drawStates(stats) {
    const box = D.$("#chart-states");
    const counts = stats.byState || [];
    const max = Math.max(1, ...counts);
    box.replaceChildren(...D.fleet.states.map((name, s) => D.el("div", {title: name},
      D.el("span", {}, name),
      D.el("span", {class: "bar", style: `width:${(100 * counts[s] / max).toFixed(1)}%;` +
        `background:${D.colorOf(name)}`}),
      D.el("b", {}, counts[s] || 0))));
  }

  function drawBattery(stats) {
    const [ctx, w, h] = sizeCanvas(D.$("#chart-battery"));
    const bins = stats.battery || [];
    const max = Math.max(1, ...bins), bw = w / Math.max(1, bins.length), top = 12, bottom = 14;
    bins.forEach((count, b) => {
      const bh = (h - top - bottom) * count / max;
      ctx.fillStyle = b < 2 ? "#ffa726" : "#66bb6a";
      ctx.fillRect(b * bw + 1, h - bottom - bh, bw - 2, bh);
      if (count) axisLabel(ctx, String(count), b * bw + bw / 2, h - bottom - bh - 2, "center");
    });
    axisLabel(ctx, "0 %", 0, h - 2);
    axisLabel(ctx, "100 %", w, h - 2, "end");
  }

  // Stacked bars per virtual minute, one colour per series key; failing outcomes in red tones.
  function drawSeries(canvasSel, keysSel, series, isBad) {
    const [ctx, w, h] = sizeCanvas(D.$(canvasSel));
    const keys = series.keys || [], counts = series.counts || [];
    const totals = counts.map((row) => row.reduce((a, b) => a + b, 0));
    const max = Math.max(1, ...totals), top = 12, bottom = 14;
    const bw = w / Math.max(1, counts.length);
    counts.forEach((row, m) => {
      let y = h - bottom;
      row.forEach((count, k) => {
        if (!count) return;
        const bh = (h - top - bottom) * count / max;
        ctx.fillStyle = D.seriesColor(keys[k], isBad(keys[k]));
        ctx.fillRect(m * bw + 0.5, y - bh, Math.max(1, bw - 1), bh);
        y -= bh;
      });
    });
    axisLabel(ctx, `${max}/min`, 2, 10);
    if (series.start !== undefined) {
      axisLabel(ctx, D.fmtTime(series.start).slice(0, 5), 0, h - 2);
      axisLabel(ctx, "now", w, h - 2, "end");
    }
    const sums = keys.map((key, k) => [key, counts.reduce((a, row) => a + row[k], 0)])
      .sort((a, b) => b[1] - a[1]);
    D.$(keysSel).replaceChildren(...sums.map(([key, sum]) => D.el("span", {},
      D.el("i", {style: `background:${D.seriesColor(key, isBad(key))}`}), `${key} ${sum}`)));
  }

  // Counts of one minute of a series: back 0 = the minute in progress, 1 = the last full one.
  const minute = (series, back, pick) => {
    const counts = series.counts || [];
    const row = counts[counts.length - 1 - back] || [];
    return (series.keys || []).reduce((sum, key, k) => sum + (pick(key) ? row[k] : 0), 0);
  };
  const any = () => true;
  const pushBad = (key) => !OK_OUTCOMES.has(key.split(" ").slice(1).join(" "));
  const apiBad = (key) => { const code = key.split(" ").pop(); return code !== "0" && code !== "200"; };

  function drawSummary(stats) {
    const byState = stats.byState || [], states = D.fleet.states;
    const count = (name) => byState[states.indexOf(name)] || 0;
    const pushes = stats.pushes || {}, api = stats.api || {};
    const rows = [
      ["vehicles", stats.vehicles],
      ["riding", count("riding")],
      ["low battery", count("low-battery")],
      ["offline", count("offline")],
      ["fault or alert", count("fault") + count("alert")],
      ["pushes / min", `${minute(pushes, 1, any)} · ${minute(pushes, 0, any)}`],
      ["  not delivered", `${minute(pushes, 1, pushBad)} · ${minute(pushes, 0, pushBad)}`],
      ["API calls / min", `${minute(api, 1, any)} · ${minute(api, 0, any)}`],
      ["  errors", `${minute(api, 1, apiBad)} · ${minute(api, 0, apiBad)}`],
    ];
    D.$("#summary").replaceChildren(...rows.map(([label, value]) =>
      D.el("div", {}, D.el("span", {class: "hint"}, label), D.el("b", {}, value ?? 0))),
    D.el("div", {class: "hint small"}, "per min: last full · this one"));
  }

  let latest = null, pending = false;
  function render() {
    pending = false;
    if (!latest) return;
    drawSummary(latest);
    drawStates(latest);
    drawBattery(latest);
    drawSeries("#chart-pushes", "#keys-pushes", latest.pushes || {}, pushBad);
    drawSeries("#chart-api", "#keys-api", latest.api || {}, apiBad);
  }

  D.charts = {
    update(stats) {
      latest = stats;
      // At most one redraw per animation frame, and none while the tab is hidden.
      if (!pending) { pending = true; requestAnimationFrame(render); }
    },
  };
  window.addEventListener("resize", () => D.charts.update(latest));
})(window.Dash);
