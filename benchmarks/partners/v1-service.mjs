// A first-generation (v1) fleet service (fact sheet: "The first-generation (v1) API": every call
// under /api/vehicle/... with iotCode and vehicleCode; query/get answered flat; control/unlock,
// /lock, /toot (contentType 7 alarm on, 6 off), /headlight (controlType 1/0), /speed-mode;
// setting/speed-limit, setting/location (uploadInterval); iot/bind (qrCode); the v1 envelope:
// boolean `success`, `message`, `code` 0; failure = truthy code, an `error` key, `success: false`
// or an empty body; odometer and remainingRange in units of 10 m).
// Units check: v1 odometer (10 m) x 10 = the v2 status odometer (1 m), and v1 remainingRange
// (10 m) = the v2 status remainingRange (10 m, vendor reference), both within one unit.
import { Report, clip, httpCall, parseArgs, pathOf } from "./_partner.mjs";

const args = parseArgs();
const report = new Report("v1-service");
const ids = { iotCode: args.iot, vehicleCode: args.vehicleCode };
let tok;

async function token() {
  report.call();
  const r = await httpCall(`${args.base}/oauth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: args.clientId, client_secret: args.secret, grant_type: "client_credentials" }).toString(),
  });
  if (r.status !== 200 || typeof r.json?.access_token !== "string") {
    report.fail("POST", "/oauth/token", r.error ?? `HTTP ${r.status} ${clip(r.text)}`);
    return undefined;
  }
  return r.json.access_token;
}

/** One v1 call; refreshes the token once when the reply carries an OAuth-style `error` key. */
async function v1(method, path, params) {
  tok ??= await token();
  if (!tok) return undefined;
  const url = method === "GET" ? `${args.base}${path}?${new URLSearchParams(params)}` : `${args.base}${path}`;
  const send = () => {
    const init = { method, headers: { Authorization: `bearer ${tok}` } };
    if (method !== "GET") {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(params);
    }
    report.call();
    return httpCall(url, init);
  };
  let r = await send();
  if (r.json && typeof r.json === "object" && "error" in r.json) {
    tok = await token();
    if (!tok) return undefined;
    r = await send();
  }
  if (r.error) return report.fail(method, pathOf(url), r.error);
  if (r.text === "") return report.fail(method, pathOf(url), `HTTP ${r.status}, empty body (the service would wait forever)`);
  if (r.json === undefined || typeof r.json !== "object" || Array.isArray(r.json)) {
    return report.fail(method, pathOf(url), `HTTP ${r.status}, not a JSON object: ${clip(r.text)}`);
  }
  const j = r.json;
  const why = [];
  if (r.status !== 200) why.push(`HTTP ${r.status}`);
  if (j.success !== true) why.push(`success=${JSON.stringify(j.success)}`);
  if (j.code !== 0) why.push(`code=${JSON.stringify(j.code)}`);
  if ("error" in j) why.push(`error=${JSON.stringify(j.error)}`);
  if (typeof j.message !== "string") why.push(`message=${JSON.stringify(j.message)}`);
  if (why.length) return report.fail(method, pathOf(url), `${why.join(" ")}: ${clip(j)}`);
  return j;
}

const FLAT = ["online", "locked", "networkSignal", "charging", "powerPercent", "speedMode", "speed",
  "odometer", "remainingRange", "totalRidingSecs", "latitude", "longitude", "altitude",
  "statusUtcTime", "gpsUtcTime"];

/** query/get, flat; returns the answer or undefined. */
async function get(extra = {}) {
  const path = "/api/vehicle/query/get";
  const j = await v1("GET", path, { ...ids, ...extra });
  if (!j) return undefined;
  const missing = FLAT.filter((f) => j[f] === undefined || j[f] === null);
  if (missing.length) {
    const nested = j.data && typeof j.data === "object" ? " (found under `data`: not flat)" : "";
    report.fail("GET", path, `lacks top-level ${missing.join(", ")}${nested}`);
    return undefined;
  }
  return j;
}

const before = await get();
// The same vehicle through v2, at the same virtual instant (the harness pauses the clock).
if (before && tok) {
  const path = "/api/v2/vehicle/query/current/status";
  report.call();
  const r = await httpCall(`${args.base}${path}?iotCode=${args.iot}`, { headers: { Authorization: `bearer ${tok}` } });
  const d = r.json?.data;
  if (r.status !== 200 || r.json?.code !== 0 || !d) report.fail("GET", path, `HTTP ${r.status} ${clip(r.text)}`);
  else {
    const odo1 = Number(before.odometer), odo2 = Number(d.odometer);
    const rng1 = Number(before.remainingRange), rng2 = Number(d.remainingRange ?? d.remainderRange);
    if (!(Math.abs(odo1 * 10 - odo2) <= 10)) {
      report.fail("GET", "/api/vehicle/query/get", `odometer ${before.odometer} (10 m) is not the v2 odometer ${d.odometer} m / 10`);
    }
    if (!(Math.abs(rng1 - rng2) <= 1)) {
      report.fail("GET", "/api/vehicle/query/get", `remainingRange ${before.remainingRange} (10 m) is not the v2 remainingRange ${rng2} (10 m)`);
    }
  }
}
await v1("POST", "/api/vehicle/control/unlock", { ...ids });
await v1("POST", "/api/vehicle/control/headlight", { ...ids, controlType: 1 });
await v1("POST", "/api/vehicle/control/toot", { ...ids, contentType: 7 });
await v1("POST", "/api/vehicle/control/toot", { ...ids, contentType: 6 });
await v1("POST", "/api/vehicle/control/speed-mode", { ...ids, speedMode: 2 });
await v1("POST", "/api/vehicle/setting/speed-limit", { ...ids, lowSpeedLimit: 15, mediumSpeedLimit: 20, highSpeedLimit: 25 });
await v1("POST", "/api/vehicle/setting/location", { ...ids, uploadInterval: 30 });
{
  const j = await get({ realTimeStatus: "true" });
  if (j && !(j.locked === false || j.locked === "false")) report.fail("GET", "/api/vehicle/query/get", `locked=${JSON.stringify(j.locked)} after v1 unlock`);
}
await v1("POST", "/api/vehicle/control/headlight", { ...ids, controlType: 0 });
await v1("POST", "/api/vehicle/control/lock", { ...ids });
await v1("POST", "/api/vehicle/iot/bind", { ...ids, qrCode: args.vehicleCode });
{
  const j = await get({ realTimeLocation: "true", realTimeStatus: "true" });
  if (j && !(j.locked === true || j.locked === "true")) report.fail("GET", "/api/vehicle/query/get", `locked=${JSON.stringify(j.locked)} after v1 lock`);
}

report.finish();
