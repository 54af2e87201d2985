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

  function drawBattery(stats) {
    const [ctx, w, h] = sizeCanvas(D.$("#chart-battery"));
    const bins = stats.battery || [];
    const max = Math.max(1, ...bins), bw = w / Math.max(1, bins.length), top = 12, bottom = 14;
    const bars = bins.map((count, b) => {
      const bh = (h - top - bottom) * count / max;
      ctx.fillStyle = b < 2 ? "#ffa726" : "#66bb6a";
      ctx.fillRect(b * bw + 1, h - bottom - bh, bw - 2, bh);
      return {x0: b * bw + 1, x1: (b + 1) * bw - 1, y0: h - bottom - bh, y1: h - bottom};
    });
    // A count above its bar where it fits (centred, or leaning over the lower neighbour): the
    // largest first, none over a bar or another count.
    ctx.font = "10px system-ui, sans-serif";
    const placed = [];
    const apart = (a, b) => a.x1 <= b.x0 || b.x1 <= a.x0 || a.y1 <= b.y0 || b.y1 <= a.y0;
    bins.map((count, b) => [count, b]).filter(([count]) => count).sort((a, b) => b[0] - a[0])
      .forEach(([count, b]) => {
        const text = D.fmtCount(count), tw = ctx.measureText(text).width + 2, y = bars[b].y0 - 2;
        for (const x0 of [b * bw + (bw - tw) / 2, bars[b].x1 - tw, bars[b].x0]) {
          const box = {x0, x1: x0 + tw, y0: y - 9, y1: y + 1};
          if (box.x0 < 0 || box.x1 > w || box.y0 < 0 || !placed.every((p) => apart(box, p))
            || !bars.every((bar, k) => k === b || apart(box, bar))) continue;
          placed.push(box);
          axisLabel(ctx, text, x0 + 1, y);
          return;
        }
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
    if (totals.some((t) => t)) axisLabel(ctx, `${D.fmtCount(max)}/min`, 2, 10);
    if (series.start !== undefined) {
      axisLabel(ctx, D.fmtTime(series.start).slice(0, 5), 0, h - 2);
      axisLabel(ctx, "now", w, h - 2, "end");
    }
    const sums = keys.map((key, k) => [key, counts.reduce((a, row) => a + row[k], 0)])
      .sort((a, b) => b[1] - a[1]);
    const box = D.$(keysSel);
    box.replaceChildren(...sums.map(([key, sum]) => D.el("span", {},
      D.el("i", {style: `background:${D.seriesColor(key, isBad(key))}`}), `${key} ${D.fmtCount(sum)}`)));
    // The keys that do not fit its lines go (the largest come first), the tooltip has them all.
    box.title = sums.map(([key, sum]) => `${key} ${sum}`).join("\n");
    const end = box.getBoundingClientRect().top + box.clientHeight + 0.5;
    Array.from(box.children).filter((span) => span.getBoundingClientRect().bottom > end)
      .forEach((span) => { span.hidden = true; });
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
    // Per minute: the last full one · this one so far (compact: the column is narrow).
    const perMinute = (series, pick) => [minute(series, 1, pick), minute(series, 0, pick)];
    const rows = [
      ["vehicles", [stats.vehicles ?? 0]],
      ["riding", [count("riding")]],
      ["low battery", [count("low-battery")]],
      ["offline", [count("offline")]],
      ["fault or alert", [count("fault") + count("alert")]],
      ["pushes / min", perMinute(pushes, any)],
      ["not delivered", perMinute(pushes, pushBad)],
      ["API calls / min", perMinute(api, any)],
      ["errors", perMinute(api, apiBad)],
    ];
    D.$("#summary").replaceChildren(...rows.map(([label, values]) =>
      D.el("div", {title: `${label}: ${values.join(" · ")}` +
        (values.length > 1 ? " (the last full minute · this one so far)" : "")},
      D.el("span", {class: "hint"}, label),
      D.el("b", {}, values.length > 1 ? values.map(D.fmtCount).join(" · ") : values[0]))));
  }

  let latest = null, pending = false;
  function render() {
    pending = false;
    if (!latest) return;
    drawSummary(latest);
    drawBattery(latest);
    drawSeries("#chart-pushes", "#keys-pushes", latest.pushes || {}, pushBad);
    drawSeries("#chart-api", "#keys-api", latest.api || {}, apiBad);
    showHints(latest);
  }

  // Where a chart can show nothing, say why and what to do.
  function showHints(stats) {
    const total = (series) => (series.counts || []).reduce((a, row) =>
      a + row.reduce((x, y) => x + y, 0), 0);
    const callbacks = D.fleet.platforms.some((p) => p.callbackUrl);
    D.$("#hint-pushes").hidden = callbacks;
    D.$("#hint-api").hidden = total(stats.api || {}) > 0;
    D.$("#hint-api-url").textContent = location.origin;
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
