// The map: one canvas, the service area of a platform's city, its street grid (the streets the
// riders use, their names up close, the parking hubs), vehicles as icons batched by colour and
// the fading trails of the riding ones.
// No tiles: a local equirectangular projection around the city centre (metres east, north).
"use strict";

(function (D) {
  const canvas = D.$("#map");
  const ctx = canvas.getContext("2d");
  const tip = D.$("#tip");
  const M_PER_DEG = Math.PI / 180 * 6371008.8;
  const CROWD = 2500; // vehicles in view above which icons are plain squares
  const fleet = D.fleet;

  const view = D.view = {
    platform: 0, cx: 0, cy: 0, scale: 0.05, // px per metre
    model: -1, // the model code shown (index into fleet.models), -1: all
    hidden: new Set(), selected: null, width: 0, height: 0, fitted: false,
  };
  let dirty = true;
  let sx = new Float32Array(0), sy = new Float32Array(0), order = new Uint32Array(0);

  const city = () => fleet.platforms[view.platform];
  // Whether a row is on the map: of the platform drawn and of the model chosen.
  const shown = (i) => fleet.platform[i] === view.platform &&
    (view.model < 0 || fleet.model[i] === view.model);
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
    if (!view.fitted || view.auto) fit();
    dirty = true;
  }

  // -- fitting the fleet into the free part of the map -------------------------------------------

  const PAD = 18; // px kept free around every icon centre: an icon (and a riding arrow) fits
  const OVERLAYS = ["#legend", "#find", ".zoom"];
  const SCALE_BAR = {left: 8, width: 154, bottom: 8, height: 30}; // drawn by drawScaleBar

  // What covers the map: the overlay controls and the scale bar, in canvas pixels, each grown
  // by PAD (no icon centre goes there).
  function overlays() {
    const base = canvas.getBoundingClientRect(), out = [];
    for (const sel of OVERLAYS) {
      const r = D.$(sel).getBoundingClientRect();
      if (r.width && r.height) {
        out.push({x0: r.left - base.left, y0: r.top - base.top, x1: r.right - base.left, y1: r.bottom - base.top});
      }
    }
    const y1 = view.height - SCALE_BAR.bottom;
    out.push({x0: SCALE_BAR.left, y0: y1 - SCALE_BAR.height, x1: SCALE_BAR.left + SCALE_BAR.width, y1});
    return out.map((o) => ({x0: o.x0 - PAD, y0: o.y0 - PAD, x1: o.x1 + PAD, y1: o.y1 + PAD}));
  }

  // Whether a canvas point is where an icon shows whole: inside the map, clear of the overlays.
  function clear(x, y) {
    if (x < PAD || y < PAD || x > view.width - PAD || y > view.height - PAD) return false;
    return overlays().every((o) => x < o.x0 || x > o.x1 || y < o.y0 || y > o.y1);
  }

  // Where the platform's vehicles stand, counted on a G x G grid over their box, summed (a
  // summed-area table: how many stand in any block of cells is four look-ups).
  const G = 64;
  function occupancy(c) {
    const kx = mPerDegLon(c), xs = [], ys = [];
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < fleet.n; i++) {
      if (!shown(i)) continue;
      const x = (fleet.lon[i] - c.lon) * kx, y = (fleet.lat[i] - c.lat) * M_PER_DEG;
      xs.push(x); ys.push(y);
      if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
    }
    if (!xs.length) { x0 = y0 = -c.radiusM; x1 = y1 = c.radiusM; } // none: the service area
    // At least a few blocks, and never a sliver: a line of vehicles still gets some breadth.
    const span = Math.max(x1 - x0, y1 - y0, 400);
    const w = Math.max(x1 - x0, span * 0.3), h = Math.max(y1 - y0, span * 0.3);
    const mx = (x0 + x1) / 2, my = (y0 + y1) / 2;
    const box = {x0: mx - w / 2, y0: my - h / 2, w, h, sum: new Uint32Array((G + 1) * (G + 1))};
    const cell = (v, lo, size) => Math.min(G - 1, Math.max(0, Math.floor((v - lo) / size * G)));
    for (let j = 0; j < xs.length; j++) {
      box.sum[(cell(ys[j], box.y0, h) + 1) * (G + 1) + cell(xs[j], box.x0, w) + 1]++;
    }
    for (let r = 1; r <= G; r++) {
      for (let q = 1; q <= G; q++) {
        box.sum[r * (G + 1) + q] += box.sum[(r - 1) * (G + 1) + q] + box.sum[r * (G + 1) + q - 1]
          - box.sum[(r - 1) * (G + 1) + q - 1];
      }
    }
    // Vehicles in the world rectangle [wx0, wx1] x [wy0, wy1], counting whole cells it touches.
    box.any = (wx0, wx1, wy0, wy1) => {
      if (wx1 < box.x0 || wy1 < box.y0 || wx0 > box.x0 + w || wy0 > box.y0 + h) return false;
      const q0 = cell(wx0, box.x0, w), q1 = cell(wx1, box.x0, w) + 1;
      const r0 = cell(wy0, box.y0, h), r1 = cell(wy1, box.y0, h) + 1;
      const at = (r, q) => box.sum[r * (G + 1) + q];
      return at(r1, q1) - at(r0, q1) - at(r1, q0) + at(r0, q0) > 0;
    };
    return box;
  }

  // The map fits the fleet of the platform (or its service area when it has none): the largest
  // zoom at which every vehicle stands inside the map and clear of the controls over it, the
  // fleet as central as that allows.
  function fit() {
    const c = city();
    if (!c || !view.width) return;
    const box = occupancy(c), W = view.width, H = view.height;
    const covers = overlays();
    const roomX = Math.max(1, W - 2 * PAD), roomY = Math.max(1, H - 2 * PAD);
    const steps = [0.5, 0.375, 0.625, 0.25, 0.75, 0.125, 0.875, 0, 1]; // centre first
    let best = null;
    for (let s = Math.min(roomX / box.w, roomY / box.h), tries = 0; tries < 48 && !best; s *= 0.96, tries++) {
      const slackX = roomX - box.w * s, slackY = roomY - box.h * s;
      // Screen position of the box's top-left corner: candidates across the slack.
      for (const fy of steps) {
        for (const fx of steps) {
          const left = PAD + slackX * fx, top = PAD + slackY * fy;
          const hidden = covers.some((o) => box.any(box.x0 + (o.x0 - left) / s, box.x0 + (o.x1 - left) / s,
            box.y0 + box.h - (o.y1 - top) / s, box.y0 + box.h - (o.y0 - top) / s));
          if (!hidden) { best = {s, left, top}; break; }
        }
        if (best) break;
      }
      if (!best && tries === 47) best = {s, left: PAD + slackX / 2, top: PAD + slackY / 2};
    }
    view.scale = best.s;
    view.cx = box.x0 + (W / 2 - best.left) / best.s;
    view.cy = box.y0 + box.h - (H / 2 - best.top) / best.s;
    view.fitted = view.auto = true; // auto: a resize fits again, until the user pans or zooms
    dirty = true;
  }

  // Where a vehicle stands on the canvas at the current view (not waiting for a draw).
  function canvasOf(i) {
    const c = city();
    return [view.width / 2 + ((fleet.lon[i] - c.lon) * mPerDegLon(c) - view.cx) * view.scale,
      view.height / 2 - ((fleet.lat[i] - c.lat) * M_PER_DEG - view.cy) * view.scale];
  }

  function zoomAt(factor, px, py) {
    const [wx, wy] = toWorld(px, py);
    view.scale = Math.min(40, Math.max(0.002, view.scale * factor));
    view.auto = false;
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
    const titleY = oy - c.radiusM * view.scale - 8;
    if (titleY > 16) { // only where it shows whole (the header names the city anyway)
      ctx.fillText(`${c.city} · ${c.code} · service area ${D.fmtMeters(c.radiusM)} radius`, ox, titleY);
    }
    ctx.textAlign = "start";
    if (c.streets) drawStreets(c, ox, oy);
  }

  // -- the street grid ---------------------------------------------------------------------------

  // Screen point of grid metres (u along the grid, v across), the grid turned by its bearing.
  function gridPoint(g, u, v, ox, oy) {
    const x = u * g.cos - v * g.sin, y = u * g.sin + v * g.cos;
    return [ox + x * view.scale, oy - y * view.scale];
  }

  function drawStreets(c, ox, oy) {
    const st = c.streets, b = st.blockM, R = c.radiusM, n = st.lines;
    const g = {cos: Math.cos(st.bearingDeg * Math.PI / 180), sin: Math.sin(st.bearingDeg * Math.PI / 180)};
    const px = b * view.scale; // pixels between two streets
    const every = Math.max(1, Math.ceil(9 / px)); // zoomed far out: every k-th street only
    ctx.save();
    ctx.beginPath();
    ctx.arc(ox, oy, R * view.scale, 0, 2 * Math.PI);
    ctx.clip();
    ctx.beginPath();
    view.streetLines = 0; view.streetNames = 0; // what was drawn, for tests
    for (let k = -n; k <= n; k++) {
      if (k % every) continue;
      const half = Math.sqrt(Math.max(0, R * R - (k * b) ** 2));
      if (!half) continue;
      for (const [a, z] of [[gridPoint(g, k * b, -half, ox, oy), gridPoint(g, k * b, half, ox, oy)],
        [gridPoint(g, -half, k * b, ox, oy), gridPoint(g, half, k * b, ox, oy)]]) {
        ctx.moveTo(a[0], a[1]); ctx.lineTo(z[0], z[1]);
        view.streetLines++;
      }
    }
    ctx.strokeStyle = px > 40 ? "#213445" : "#1a2a38";
    ctx.lineWidth = Math.min(14, Math.max(1, 10 * view.scale)); // streets about 10 m wide
    ctx.stroke();
    drawHubs(st, g, ox, oy);
    if (px > 110) drawStreetNames(st, g, ox, oy);
    ctx.restore();
  }

  // Parking hubs: a "P" at the corner of their crossing where the racks stand.
  function drawHubs(st, g, ox, oy) {
    const corner = 13, size = Math.max(7, Math.min(22, 22 * view.scale));
    ctx.beginPath();
    const spots = [];
    for (const [i, j] of st.hubs) {
      const [x, y] = gridPoint(g, i * st.blockM + corner, j * st.blockM + corner, ox, oy);
      if (x < -size || y < -size || x > view.width + size || y > view.height + size) continue;
      ctx.rect(x - size / 2, y - size / 2, size, size);
      spots.push([x, y]);
    }
    // An outline far out (it must not pass for a vehicle), a filled sign up close.
    ctx.fillStyle = size >= 10 ? "#1f4f7a" : "rgba(31, 79, 122, .35)";
    ctx.fill();
    ctx.strokeStyle = "#3a6f9c";
    ctx.lineWidth = 1;
    ctx.stroke();
    if (size >= 10) {
      ctx.fillStyle = "#d5e7f7";
      ctx.font = `700 ${Math.round(size * 0.7)}px system-ui, sans-serif`;
      ctx.textAlign = "center"; ctx.textBaseline = "middle";
      for (const [x, y] of spots) ctx.fillText("P", x, y + 0.5);
      ctx.textAlign = "start"; ctx.textBaseline = "alphabetic";
    }
  }

  // Street names along the streets on screen, near the middle of the view.
  function drawStreetNames(st, g, ox, oy) {
    const b = st.blockM, n = st.lines;
    // Grid coordinates of the view's centre: where each street's label goes.
    const wx = view.cx, wy = view.cy;
    const cu = wx * g.cos + wy * g.sin, cv = wy * g.cos - wx * g.sin;
    const span = Math.hypot(view.width, view.height) / view.scale / 2;
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#6f8aa1";
    ctx.textAlign = "center"; ctx.textBaseline = "middle";
    const angle = Math.atan2(g.sin, g.cos);
    for (let k = Math.max(-n, Math.floor((cu - span) / b)); k <= Math.min(n, Math.ceil((cu + span) / b)); k++) {
      const along = cv + ((k % 3) - 1) * b * 0.5; // stagger labels so crossings stay readable
      label(st.u[k + n], gridPoint(g, k * b, along + b / 2, ox, oy), -angle - Math.PI / 2);
    }
    for (let k = Math.max(-n, Math.floor((cv - span) / b)); k <= Math.min(n, Math.ceil((cv + span) / b)); k++) {
      const along = cu + ((k % 3) - 1) * b * 0.5;
      label(st.v[k + n], gridPoint(g, along + b / 2, k * b, ox, oy), -angle);
    }
    ctx.textAlign = "start"; ctx.textBaseline = "alphabetic";
  }
  function label(text, [x, y], angle) {
    if (!text || x < 0 || y < 0 || x > view.width || y > view.height) return;
    view.streetNames++;
    ctx.save();
    ctx.translate(x, y);
    let a = angle;
    if (a < -Math.PI / 2) a += Math.PI; else if (a > Math.PI / 2) a -= Math.PI; // never upside down
    ctx.rotate(a);
    ctx.fillText(text, 0, 0);
    ctx.restore();
  }

  // Icon size: larger up close, smaller where many share the view, never a speck.
  function iconRadius(visible) {
    const zoom = 7 + 2 * Math.log2(view.scale / 0.07);
    const crowd = 0.45 * Math.sqrt(view.width * view.height / Math.max(1, visible));
    return Math.max(2.2, Math.min(11, zoom, crowd));
  }

  // A riding vehicle: an arrowhead pointing where it goes.
  function arrow(x, y, r, heading) {
    const a = -heading; // screen y grows downwards
    const ca = Math.cos(a), sa = Math.sin(a);
    const pt = (fx, fy) => [x + fx * ca - fy * sa, y + fx * sa + fy * ca];
    const [x1, y1] = pt(r, 0), [x2, y2] = pt(-r * 0.75, r * 0.8), [x3, y3] = pt(-r * 0.35, 0),
      [x4, y4] = pt(-r * 0.75, -r * 0.8);
    ctx.moveTo(x1, y1); ctx.lineTo(x2, y2); ctx.lineTo(x3, y3); ctx.lineTo(x4, y4); ctx.closePath();
  }

  // Where riding vehicles have just been: lines fading with age, in a few batches of alpha.
  function drawTrails(c, kx, now) {
    fleet.pruneTrails(now);
    if (!fleet.trails.size) return;
    const BANDS = 4, w = view.width / 2, h = view.height / 2;
    const bands = Array.from({length: BANDS}, () => new Path2D());
    for (const [i, t] of fleet.trails) {
      if (!shown(i) || view.hidden.has(fleet.st[i])) continue;
      let x0 = w + ((t.lon[0] - c.lon) * kx - view.cx) * view.scale;
      let y0 = h - ((t.lat[0] - c.lat) * M_PER_DEG - view.cy) * view.scale;
      for (let p = 1; p < t.at.length; p++) {
        const x1 = w + ((t.lon[p] - c.lon) * kx - view.cx) * view.scale;
        const y1 = h - ((t.lat[p] - c.lat) * M_PER_DEG - view.cy) * view.scale;
        const band = Math.min(BANDS - 1, Math.floor((now - t.at[p]) / fleet.TRAIL_MS * BANDS));
        bands[band].moveTo(x0, y0); bands[band].lineTo(x1, y1);
        x0 = x1; y0 = y1;
      }
    }
    // Butt caps: round ones cost more to rasterise than the line they end.
    ctx.lineWidth = Math.max(1.5, Math.min(5, 4 * Math.sqrt(view.scale)));
    bands.forEach((path, band) => {
      ctx.strokeStyle = `rgba(66, 165, 245, ${(0.75 * (1 - band / BANDS)).toFixed(2)})`;
      ctx.stroke(path);
    });
  }

  function drawScaleBar() {
    const len = niceLength(140 / view.scale), px = len * view.scale;
    const x = SCALE_BAR.left + 6, y = view.height - SCALE_BAR.bottom - 10;
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
    let visible = 0, inView = 0;
    for (let i = 0; i < n; i++) {
      if (!shown(i) || view.hidden.has(fleet.st[i])) { sx[i] = NaN; continue; }
      const lat = fleet.fromLat[i] + (fleet.lat[i] - fleet.fromLat[i]) * k;
      const lon = fleet.fromLon[i] + (fleet.lon[i] - fleet.fromLon[i]) * k;
      const x = view.width / 2 + ((lon - c.lon) * kx - view.cx) * view.scale;
      const y = view.height / 2 - ((lat - c.lat) * M_PER_DEG - view.cy) * view.scale;
      sx[i] = x; sy[i] = y;
      counts[fleet.st[i] + 1]++;
      visible++;
      if (x >= 0 && y >= 0 && x <= view.width && y <= view.height) inView++;
    }
    for (let s = 1; s <= states; s++) counts[s] += counts[s - 1];
    for (let i = 0; i < n; i++) if (sx[i] === sx[i]) order[counts[fleet.st[i]]++] = i;
    drawTrails(c, kx, now);
    const r = iconRadius(inView);
    // Thousands in view: squares without a rim, one fill per colour (a rimmed disc costs ten
    // times as much to rasterise, and at that density the colours are what one reads).
    const crowd = r < 3.5 || inView > CROWD;
    view.iconRadius = r;
    const riding = fleet.states.indexOf("riding");
    let start = 0;
    // counts[s] now holds the end of state s's run; draw the runs in legend order.
    for (let s = 0; s < states; s++) {
      const end = counts[s];
      if (end === start) continue;
      ctx.beginPath();
      for (let j = start; j < end; j++) {
        const i = order[j], x = sx[i], y = sy[i];
        if (x < -r || y < -r || x > view.width + r || y > view.height + r) continue;
        if (crowd) ctx.rect(x - r, y - r, 2 * r, 2 * r); // a crowd: squares are cheapest
        else if (s === riding) arrow(x, y, r * 1.6, fleet.heading[i]);
        else { ctx.moveTo(x + r, y); ctx.arc(x, y, r, 0, 2 * Math.PI); }
      }
      ctx.fillStyle = D.colorOf(fleet.states[s]);
      ctx.fill();
      if (!crowd) { // a dark rim keeps neighbours and the streets apart
        ctx.lineWidth = r >= 7 ? 2 : 1.2;
        ctx.strokeStyle = "#0b1118";
        ctx.stroke();
      }
      start = end;
    }
    const sel = view.selected !== null ? fleet.row(view.selected) : undefined;
    if (sel !== undefined && sx[sel] === sx[sel]) {
      ctx.beginPath();
      ctx.arc(sx[sel], sy[sel], r + 6, 0, 2 * Math.PI);
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 2;
      ctx.stroke();
    }
    ctx.lineWidth = 1;
    drawScaleBar();
    document.body.dataset.drawn = String(visible);
  }

  let lastDraw = 0;
  function frame() {
    const now = performance.now();
    // Trails fade even when nothing moves: a redraw twice a second keeps them fading.
    if (dirty || fleet.moving(now) || (fleet.trails.size && now - lastDraw > 500)) {
      dirty = false;
      lastDraw = now;
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
        view.auto = false;
        dirty = true;
      }
      tip.hidden = true;
      return;
    }
    const i = hit(px, py, Math.max(8, (view.iconRadius || 0) + 2));
    if (i === null) { tip.hidden = true; return; }
    tip.textContent = `${fleet.imeis[i]} · ${fleet.modelOf(i) || "?"} · ${fleet.stateOf(i)}`;
    tip.style.left = `${px + 12}px`;
    tip.style.top = `${py + 10}px`;
    tip.hidden = false;
  });
  canvas.addEventListener("pointerup", (ev) => {
    const [px, py] = local(ev);
    if (drag && !drag.moved) {
      const i = hit(px, py, Math.max(10, (view.iconRadius || 0) + 3));
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
      // The same city keeps a view the user moved; an untouched one fits the fleet anew.
      if (index === view.platform && view.fitted && !view.auto) return;
      view.platform = index;
      view.fitted = false;
      fit();
    },
    // Show one model only (its code), or all (-1); an untouched view fits what is left.
    setModel(code) {
      if (code === view.model) return;
      view.model = code;
      if (!view.fitted || view.auto) fit();
      dirty = true;
    },
    // Centre on a vehicle (switching city if needed) without changing the zoom.
    centreOn(imei) {
      const i = fleet.row(imei);
      if (i === undefined) return;
      if (fleet.platform[i] !== view.platform) D.map.setPlatform(fleet.platform[i]);
      const c = city();
      view.cx = (fleet.lon[i] - c.lon) * mPerDegLon(c);
      view.cy = (fleet.lat[i] - c.lat) * M_PER_DEG;
      view.auto = false;
      dirty = true;
    },
    // Bring a vehicle into sight: centre on it only if it is off the map or under a control.
    show(imei) {
      const i = fleet.row(imei);
      if (i === undefined) return;
      if (fleet.platform[i] !== view.platform || !clear(...canvasOf(i))) D.map.centreOn(imei);
    },
    // Where a shown vehicle stands on the map at its current view, in page coordinates (tests
    // click there; the next draw puts its icon there once its glide ends).
    screenOf(imei) {
      const i = fleet.row(imei);
      if (i === undefined || !(sx[i] === sx[i]) || fleet.platform[i] !== view.platform) return null;
      const r = canvas.getBoundingClientRect(), [x, y] = canvasOf(i);
      return {x: r.left + x, y: r.top + y};
    },
    zoomAt,
  };
  requestAnimationFrame(frame);
})(window.Dash);
