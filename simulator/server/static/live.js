// The live channel (server-sent events at /_sim/live) and the fleet it describes.
"use strict";

(function (D) {
  const MOVE_MS = 250; // glide between two frames (the server sends about four a second)
  const TELEPORT_DEG = 0.005; // farther than ~500 m in one frame: a jump of the clock, no glide

  // The fleet as the page knows it: one entry per simulator row, typed arrays like the server's.
  const TRAIL_POINTS = 48; // positions a riding vehicle's trail keeps
  const TRAIL_MS = 45000; // how long a trail point takes to fade (wall time)
  const TRAIL_STEP_DEG = 5e-5; // about 5 m: closer points add nothing to the line
  const MAX_TRAILS = 1000; // trails kept at once, however many vehicles ride

  const fleet = D.fleet = {
    n: 0, roster: -1, imeis: [], index: new Map(), platform: new Uint16Array(0),
    lat: new Float64Array(0), lon: new Float64Array(0), // where each vehicle is going (degrees)
    fromLat: new Float64Array(0), fromLon: new Float64Array(0), // where its glide started
    heading: new Float32Array(0), // direction of its last move (radians, east = 0, north = pi/2)
    st: new Uint8Array(0), moveStart: 0, platforms: [], states: [], meta: {}, features: {},
    models: [], model: new Uint8Array(0), // model names, and each row's index into them
    // row -> {lat: [], lon: [], at: []}: where a riding vehicle has been lately, fading
    trails: new Map(), TRAIL_MS,
  };

  fleet.progress = function (now) {
    return Math.min(1, Math.max(0, (now - fleet.moveStart) / MOVE_MS));
  };
  fleet.moving = (now) => fleet.progress(now) < 1;
  fleet.stateOf = (row) => fleet.states[fleet.st[row]] || "?";
  fleet.row = (imei) => fleet.index.get(imei);
  fleet.modelOf = (row) => fleet.models[fleet.model[row]];

  function resize(n) {
    for (const [name, Type] of [["lat", Float64Array], ["lon", Float64Array],
      ["fromLat", Float64Array], ["fromLon", Float64Array], ["heading", Float32Array],
      ["st", Uint8Array]]) {
      const next = new Type(n);
      next.set(fleet[name].subarray(0, Math.min(n, fleet[name].length)));
      fleet[name] = next;
    }
    fleet.n = n;
  }

  function applyRoster(r) {
    fleet.roster = r.version;
    fleet.imeis = r.imeis ? r.imeis.split(",") : [];
    fleet.index = new Map(fleet.imeis.map((imei, i) => [imei, i]));
    fleet.platform = new Uint16Array(D.base64Bytes(r.platform).buffer);
    fleet.platforms = r.platforms;
    fleet.states = r.states;
    fleet.meta = r.meta || {};
    fleet.features = r.features || {};
    // A vehicle keeps its model for life: the roster (resent when vehicles come) carries them.
    fleet.models = r.models || [];
    fleet.model = r.model ? D.base64Bytes(r.model) : new Uint8Array(fleet.imeis.length);
    fleet.trails.clear();
    resize(fleet.imeis.length);
  }

  // A riding vehicle's new position joins its trail; old points fade and go.
  function extendTrail(i, lat, lon, now) {
    let trail = fleet.trails.get(i);
    if (!trail) {
      if (fleet.trails.size >= MAX_TRAILS) return;
      trail = {lat: [], lon: [], at: []};
      fleet.trails.set(i, trail);
    }
    const last = trail.at.length - 1;
    if (last >= 0 && Math.abs(trail.lat[last] - lat) + Math.abs(trail.lon[last] - lon) < TRAIL_STEP_DEG) {
      return;
    }
    trail.lat.push(lat); trail.lon.push(lon); trail.at.push(now);
    if (trail.at.length > TRAIL_POINTS) { trail.lat.shift(); trail.lon.shift(); trail.at.shift(); }
  }
  fleet.pruneTrails = function (now) {
    for (const [i, trail] of fleet.trails) {
      while (trail.at.length && now - trail.at[0] > TRAIL_MS) {
        trail.lat.shift(); trail.lon.shift(); trail.at.shift();
      }
      if (trail.at.length < 2 && (!trail.at.length || now - trail.at[0] > TRAIL_MS / 4)) {
        fleet.trails.delete(i);
      }
    }
  };

  function applyFleet(f) {
    const now = performance.now();
    const k = fleet.progress(now);
    // Freeze every glide where it is now; changed rows then glide on from there.
    for (let i = 0; i < fleet.n; i++) {
      fleet.fromLat[i] += (fleet.lat[i] - fleet.fromLat[i]) * k;
      fleet.fromLon[i] += (fleet.lon[i] - fleet.fromLon[i]) * k;
    }
    if (f.n !== fleet.n) resize(f.n);
    const lat = new Int32Array(D.base64Bytes(f.lat).buffer);
    const lon = new Int32Array(D.base64Bytes(f.lon).buffer);
    const st = D.base64Bytes(f.st);
    const rows = f.full ? null : new Uint32Array(D.base64Bytes(f.idx).buffer);
    const count = rows ? rows.length : f.n;
    const riding = fleet.states.indexOf("riding");
    for (let j = 0; j < count; j++) {
      const i = rows ? rows[j] : j;
      const la = lat[j] / 1e6, lo = lon[j] / 1e6;
      const dLat = la - fleet.fromLat[i], dLon = lo - fleet.fromLon[i];
      if (Math.abs(dLat) + Math.abs(dLon) > TELEPORT_DEG) {
        fleet.fromLat[i] = la; fleet.fromLon[i] = lo;
        fleet.trails.delete(i);
      } else if (Math.abs(dLat) + Math.abs(dLon) > 2e-6) { // moved more than GPS jitter
        fleet.heading[i] = Math.atan2(dLat, dLon * Math.cos(la * Math.PI / 180));
      }
      fleet.lat[i] = la; fleet.lon[i] = lo;
      fleet.st[i] = st[j];
      if (st[j] === riding && !f.full) extendTrail(i, la, lo, now);
    }
    fleet.moveStart = now;
    return rows;
  }

  // -- the connection ---------------------------------------------------------------------------

  const live = D.live = {
    lastId: null, stream: null, handlers: [], source: null, messages: 0, bytes: 0, handleMs: 0,
  };
  live.on = (fn) => live.handlers.push(fn);

  function setConn(state) {
    document.body.dataset.conn = state;
    const label = D.$("#conn span");
    if (label) label.textContent = state;
  }

  function receive(ev) {
    const t0 = performance.now();
    if (ev.lastEventId) live.lastId = ev.lastEventId;
    const msg = JSON.parse(ev.data);
    live.messages++;
    if (msg.stream !== live.stream) {
      live.stream = msg.stream;
      document.body.dataset.stream = msg.stream;
    }
    if (msg.roster) applyRoster(msg.roster);
    // Rows this message changed: a Uint32Array, or null for all of them (a full frame).
    msg.touched = msg.fleet ? applyFleet(msg.fleet) : new Uint32Array(0);
    for (const fn of live.handlers) {
      try { fn(msg); } catch (e) { console.error(e); }
    }
    live.handleMs = performance.now() - t0; // decoding and handling, for benchmarks
    live.bytes += ev.data.length;
    setConn("live");
  }

  let retry = null;
  live.connect = function () {
    clearTimeout(retry);
    if (live.source) live.source.close();
    // The browser resends Last-Event-ID by itself while it reconnects one source; a new source
    // (after the browser gave up) carries it in the query string instead.
    const query = live.lastId ? `?lastEventId=${encodeURIComponent(live.lastId)}` : "";
    const source = live.source = new EventSource(`/_sim/live${query}`);
    source.addEventListener("frame", receive);
    source.onopen = () => setConn("live");
    source.onerror = () => {
      setConn("reconnecting");
      if (source.readyState === EventSource.CLOSED) retry = setTimeout(live.connect, 1000);
    };
  };
})(window.Dash);
