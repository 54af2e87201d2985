// The map: one canvas, the service area of a platform's city, vehicles as dots batched by colour.
// No tiles: a local equirectangular projection around the city centre (metres east, north).
"use strict";

(function (D) {
  const canvas = D.$("#map");
  const ctx = canvas.getContext("2d");
  const tip = D.$("#tip");
  const M_PER_DEG = Math.PI / 180 * 6371008.8;
  const fleet = D.fleet;

  const view = D.view = {
    platform: 0, cx: 0, cy: 0, scale: 0.05, // px per metre
    hidden: new Set(), selected: null, width: 0, height: 0, fitted: false,
  };
  let dirty = true;
  let sx = new Float32Array(0), sy = new Float32Array(0), order = new Uint32Array(0);

  const city = () => fleet.platforms[view.platform];
  const mPerDegLon = (c) => M_PER_DEG * Math.cos(c.lat * Math.PI / 180);

  function toScreen(lat, lon, c, kx) {
    const x = (lon - c.lon) * kx, y = (lat - c.lat) * M_PER_DEG;
    return [view.width / 2 + (x - view.cx) * view.scale, view.height / 2 - (y - view.cy) * view.scale];
  }
  function toWorld(px, py) {
    return [view.cx + (px - view.width / 2) / view.scale, view.cy - (py - view.height / 2) / view.scale];
  }

  // 1, 2, 5 x 10^k: the largest such length not longer than `m` metres.
  function niceLength(m) {
    const p = Math.pow(10, Math.floor(Math.log10(m)));
    for (const f of [5, 2, 1]) if (f * p <= m) return f * p;
    return p;
  }

  function resize() {
    const rect = canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    view.width = rect.width; view.height = rect.height;
    canvas.width = Math.round(rect.width * dpr);
    canvas.height = Math.round(rect.height * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (!view.fitted) fit();
    dirty = true;
  }

  function fit() {
    const c = city();
    if (!c || !view.width) return;
    view.cx = 0; view.cy = 0;
    view.scale = Math.min(view.width, view.height) * 0.92 / (2 * c.radiusM);
    view.fitted = true;
    dirty = true;
  }

  function zoomAt(factor, px, py) {
    const [wx, wy] = toWorld(px, py);
    view.scale = Math.min(40, Math.max(0.002, view.scale * factor));
    view.cx = wx - (px - view.width / 2) / view.scale;
    view.cy = wy + (py - view.height / 2) / view.scale;
    dirty = true;
  }

  function drawBackground(c) {
    const w = view.width, h = view.height;
    ctx.fillStyle = "#0b1118";
    ctx.fillRect(0, 0, w, h);
    const [ox, oy] = toScreen(c.lat, c.lon, c, mPerDegLon(c));
    // The service area: a disc around the city centre.
    ctx.beginPath();
    ctx.arc(ox, oy, c.radiusM * view.scale, 0, 2 * Math.PI);
    ctx.fillStyle = "#111d28";
    ctx.fill();
    // A metric grid at the scale bar's step gives distances everywhere on the map.
    const step = niceLength(110 / view.scale);
    const [x0, y1] = toWorld(0, 0), [x1, y0] = toWorld(w, h);
    ctx.beginPath();
    for (let x = Math.ceil(x0 / step) * step; x <= x1; x += step) {
      const px = Math.round(w / 2 + (x - view.cx) * view.scale) + 0.5;
      ctx.moveTo(px, 0); ctx.lineTo(px, h);
    }
    for (let y = Math.ceil(y0 / step) * step; y <= y1; y += step) {
      const py = Math.round(h / 2 - (y - view.cy) * view.scale) + 0.5;
      ctx.moveTo(0, py); ctx.lineTo(w, py);
    }
    ctx.strokeStyle = "#17232f";
    ctx.lineWidth = 1;
    ctx.stroke();
    ctx.beginPath();
    ctx.arc(ox, oy, c.radiusM * view.scale, 0, 2 * Math.PI);
    ctx.setLineDash([6, 5]);
    ctx.strokeStyle = "#2f4a60";
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = "#48657d";
    ctx.font = "600 13px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.fillText(`${c.city} · ${c.code} · service area ${D.fmtMeters(c.radiusM)} radius`,
      ox, oy - c.radiusM * view.scale - 8);
    ctx.textAlign = "start";
  }

  function drawScaleBar() {
    const len = niceLength(140 / view.scale), px = len * view.scale;
    const x = 14, y = view.height - 18;
    ctx.fillStyle = "rgba(11,17,24,.75)";
    ctx.fillRect(x - 6, y - 20, px + 12, 30);
    ctx.strokeStyle = "#d5dee6";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x, y - 6); ctx.lineTo(x, y); ctx.lineTo(x + px, y); ctx.lineTo(x + px, y - 6);
    ctx.stroke();
    ctx.lineWidth = 1;
    ctx.fillStyle = "#d5dee6";
    ctx.font = "12px system-ui, sans-serif";
    ctx.fillText(D.fmtMeters(len), x + 2, y - 9);
  }

  function draw() {
    const c = city();
    if (!c || !view.width) return;
    drawBackground(c);
    const now = performance.now(), k = fleet.progress(now), kx = mPerDegLon(c);
    const n = fleet.n, states = fleet.states.length || 1;
    if (sx.length < n) { sx = new Float32Array(n); sy = new Float32Array(n); order = new Uint32Array(n); }
    // Project the visible vehicles, then order them by state (counting sort) to draw each colour
    // as one path: a few fill calls however large the fleet.
    const counts = new Uint32Array(states + 1);
    let visible = 0;
    for (let i = 0; i < n; i++) {
      if (fleet.platform[i] !== view.platform || view.hidden.has(fleet.st[i])) { sx[i] = NaN; continue; }
      const lat = fleet.fromLat[i] + (fleet.lat[i] - fleet.fromLat[i]) * k;
      const lon = fleet.fromLon[i] + (fleet.lon[i] - fleet.fromLon[i]) * k;
      const x = view.width / 2 + ((lon - c.lon) * kx - view.cx) * view.scale;
      const y = view.height / 2 - ((lat - c.lat) * M_PER_DEG - view.cy) * view.scale;
      sx[i] = x; sy[i] = y;
      counts[fleet.st[i] + 1]++;
      visible++;
    }
    for (let s = 1; s <= states; s++) counts[s] += counts[s - 1];
    for (let i = 0; i < n; i++) if (sx[i] === sx[i]) order[counts[fleet.st[i]]++] = i;
    const size = Math.max(2.5, Math.min(8, 3 + Math.log2(view.scale / 0.05) * 1.2));
    const half = size / 2;
    let start = 0;
    // counts[s] now holds the end of state s's run; draw the runs in legend order.
    for (let s = 0; s < states; s++) {
      const end = counts[s];
      if (end === start) continue;
      ctx.beginPath();
      for (let j = start; j < end; j++) {
        const i = order[j];
        ctx.rect(sx[i] - half, sy[i] - half, size, size);
      }
      ctx.fillStyle = D.colorOf(fleet.states[s]);
      ctx.fill();
      start = end;
    }
    const sel = view.selected !== null ? fleet.row(view.selected) : undefined;
    if (sel !== undefined && sx[sel] === sx[sel]) {
      ctx.beginPath();
      ctx.arc(sx[sel], sy[sel], size + 6, 0, 2 * Math.PI);
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 2;
      ctx.stroke();
      ctx.lineWidth = 1;
    }
    drawScaleBar();
    document.body.dataset.drawn = String(visible);
  }

  function frame() {
    if (dirty || fleet.moving(performance.now())) {
      dirty = false;
      const t0 = performance.now();
      draw();
      // Draw cost, for the console and benchmarks/bench_live.py: last and a moving average.
      view.drawMs = performance.now() - t0;
      view.drawAvgMs = view.drawAvgMs === undefined ? view.drawMs
        : view.drawAvgMs * 0.95 + view.drawMs * 0.05;
      view.draws = (view.draws || 0) + 1;
    }
    requestAnimationFrame(frame);
  }

  // The vehicle nearest to a canvas point, within `radius` pixels.
  function hit(px, py, radius) {
    let best = null, bestD = radius * radius;
    for (let i = 0; i < fleet.n; i++) {
      if (!(sx[i] === sx[i])) continue;
      const d = (sx[i] - px) ** 2 + (sy[i] - py) ** 2;
      if (d <= bestD) { bestD = d; best = i; }
    }
    return best;
  }

  // -- pan, zoom, hover, click ------------------------------------------------------------------

  let drag = null;
  const local = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  };
  canvas.addEventListener("pointerdown", (ev) => {
    const [px, py] = local(ev);
    drag = {px, py, cx: view.cx, cy: view.cy, moved: false};
    canvas.setPointerCapture(ev.pointerId);
  });
  canvas.addEventListener("pointermove", (ev) => {
    const [px, py] = local(ev);
    if (drag) {
      const dx = px - drag.px, dy = py - drag.py;
      if (Math.abs(dx) + Math.abs(dy) > 3) { drag.moved = true; canvas.classList.add("dragging"); }
      if (drag.moved) {
        view.cx = drag.cx - dx / view.scale;
        view.cy = drag.cy + dy / view.scale;
        dirty = true;
      }
      tip.hidden = true;
      return;
    }
    const i = hit(px, py, 8);
    if (i === null) { tip.hidden = true; return; }
    tip.textContent = `${fleet.imeis[i]} · ${fleet.stateOf(i)}`;
    tip.style.left = `${px + 12}px`;
    tip.style.top = `${py + 10}px`;
    tip.hidden = false;
  });
  canvas.addEventListener("pointerup", (ev) => {
    const [px, py] = local(ev);
    if (drag && !drag.moved) {
      const i = hit(px, py, 10);
      if (i !== null) D.select(fleet.imeis[i]);
    }
    drag = null;
    canvas.classList.remove("dragging");
  });
  canvas.addEventListener("pointerleave", () => { tip.hidden = true; });
  canvas.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const [px, py] = local(ev);
    zoomAt(Math.exp(-ev.deltaY * 0.0015), px, py);
  }, {passive: false});
  D.$("#zoom-in").addEventListener("click", () => zoomAt(1.6, view.width / 2, view.height / 2));
  D.$("#zoom-out").addEventListener("click", () => zoomAt(1 / 1.6, view.width / 2, view.height / 2));
  D.$("#zoom-fit").addEventListener("click", fit);
  new ResizeObserver(resize).observe(canvas);

  D.map = {
    invalidate() { dirty = true; },
    fit,
    setPlatform(index) {
      if (index === view.platform && view.fitted) return;
      view.platform = index;
      view.fitted = false;
      fit();
    },
    // Centre on a vehicle (switching city if needed) without changing the zoom.
    centreOn(imei) {
      const i = fleet.row(imei);
      if (i === undefined) return;
      if (fleet.platform[i] !== view.platform) D.map.setPlatform(fleet.platform[i]);
      const c = city();
      view.cx = (fleet.lon[i] - c.lon) * mPerDegLon(c);
      view.cy = (fleet.lat[i] - c.lat) * M_PER_DEG;
      dirty = true;
    },
    // Where a vehicle is drawn, in page coordinates (tests click there).
    screenOf(imei) {
      const i = fleet.row(imei);
      if (i === undefined || !(sx[i] === sx[i])) return null;
      const r = canvas.getBoundingClientRect();
      return {x: r.left + sx[i], y: r.top + sy[i]};
    },
    zoomAt,
  };
  requestAnimationFrame(frame);
})(window.Dash);
