// Scooter operator, Node client B (fact sheet: "Who calls what" rows control/unlock, control/lock,
// control/light, control/sound with controlType 1 (out of geofence) and 3 (low battery),
// setting/speed-mode, setting/scooter (limits in km/h, one absent, body ignored, 2xx expected),
// control/battery-cover, query/current/{status,battery-info}; "Habits": token requested per call
// with a raw, unencoded form body, `Authorization: Bearer`, `vehicleCode` added).
// Emulates the axios style: a non-2xx rejects; success is `msg === "Success"` and an integer `code`.
import { Report, clip, httpCall, parseArgs, pathOf } from "./_partner.mjs";

const args = parseArgs();
const report = new Report("scooter-axios-b");

/** Token per call, the form body written by hand (not URL-encoded). */
async function token() {
  report.call();
  const body = `client_id=${args.clientId}&client_secret=${args.secret}&grant_type=client_credentials`;
  const r = await httpCall(`${args.base}/oauth/token`, {
    method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body,
  });
  if (r.error) return report.fail("POST", "/oauth/token", r.error);
  if (r.status !== 200 || typeof r.json?.access_token !== "string") {
    return report.fail("POST", "/oauth/token", `HTTP ${r.status} ${clip(r.text)}`);
  }
  return r.json.access_token;
}

async function request(method, path, body, query) {
  const tok = await token();
  if (!tok) return undefined;
  const url = `${args.base}${path}${query ? "?" + new URLSearchParams(query) : ""}`;
  const init = { method, headers: { Authorization: `Bearer ${tok}` } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  report.call();
  const r = await httpCall(url, init);
  if (r.error) return report.fail(method, pathOf(url), r.error);
  if (r.status < 200 || r.status > 299) return report.fail(method, pathOf(url), `HTTP ${r.status} ${clip(r.text)}`);
  if (r.json === undefined || typeof r.json !== "object") return report.fail(method, pathOf(url), `not JSON: ${clip(r.text)}`);
  return { url, json: r.json };
}

async function control(path, body) {
  const res = await request("POST", path, body);
  if (!res) return false;
  if (res.json.msg !== "Success" || !Number.isInteger(res.json.code) || res.json.code !== 0) {
    report.fail("POST", path, `code=${res.json.code} msg=${JSON.stringify(res.json.msg)} ${clip(res.json)}`);
    return false;
  }
  return true;
}

/** setting/scooter: the partner ignores the body and wants a 2xx; a well-formed call must also be code 0. */
async function scooterSetting(body) {
  const path = "/api/v2/vehicle/setting/scooter";
  const res = await request("POST", path, body);
  if (res && res.json.code !== 0) {
    report.fail("POST", path, `code=${res.json.code} msg=${JSON.stringify(res.json.msg)} for ${clip(body)}`);
  }
}

const ids = { iotCode: args.iot, vehicleCode: args.iot };

await control("/api/v2/vehicle/control/unlock", { ...ids });
await control("/api/v2/vehicle/control/light", { ...ids, headLight: 1, tailLight: 1 });
// Geofence and battery warnings: controlType 1 (out of geofence), 3 (low battery).
await control("/api/v2/vehicle/control/sound", { ...ids, controlType: 1 });
await control("/api/v2/vehicle/control/sound", { ...ids, controlType: 3 });
// Speed modes, low to high.
for (const speedMode of [1, 2, 3]) {
  await control("/api/v2/vehicle/setting/speed-mode", { ...ids, speedMode });
}
// The operator's speed limits (km/h, UI range 6-25, defaults 24/25), then one with a limit absent.
await scooterSetting({ iotCode: args.iot, buttonSwitchSpeedMode: 0, lowSpeedLimit: 6, mediumSpeedLimit: 24, highSpeedLimit: 25 });
await scooterSetting({ iotCode: args.iot, buttonSwitchSpeedMode: 0, lowSpeedLimit: 12, highSpeedLimit: 20 });
// Battery swap while unlocked.
await control("/api/v2/vehicle/control/battery-cover", { ...ids });
// Status refresh: status (fields read), battery-info (a non-2xx fails the refresh).
{
  const path = "/api/v2/vehicle/query/current/status";
  const res = await request("GET", path, undefined, { iotCode: args.iot });
  if (res) {
    const { json } = res;
    const fields = ["online", "locked", "lockVoltage", "networkSignal", "charging", "powerPercent",
      "speedMode", "speed", "odometer", "remainingRange", "totalRidingSecs", "statusUtcTime"];
    if (json.code !== 0) report.fail("GET", pathOf(res.url), `code=${json.code} msg=${JSON.stringify(json.msg)}`);
    else if (!json.data || typeof json.data !== "object") report.fail("GET", pathOf(res.url), `no data: ${clip(json)}`);
    else {
      const missing = fields.filter((f) => json.data[f] === undefined || json.data[f] === null);
      if (missing.length) report.fail("GET", pathOf(res.url), `data lacks ${missing.join(", ")}`);
      else if (json.data.locked !== false) report.fail("GET", pathOf(res.url), `locked=${json.data.locked} after unlock`);
      else if (json.data.speedMode !== 3) report.fail("GET", pathOf(res.url), `speedMode=${json.data.speedMode} after speed-mode 3`);
    }
  }
}
{
  const path = "/api/v2/vehicle/query/current/battery-info";
  const res = await request("GET", path, undefined, { iotCode: args.iot });
  if (res && res.json.code !== 0) report.fail("GET", path, `code=${res.json.code} msg=${JSON.stringify(res.json.msg)}`);
}
await control("/api/v2/vehicle/control/light", { ...ids, headLight: 0, tailLight: 0 });
await control("/api/v2/vehicle/control/lock", { ...ids });
{
  const path = "/api/v2/vehicle/query/current/status";
  const res = await request("GET", path, undefined, { iotCode: args.iot });
  if (res && (res.json.code !== 0 || res.json.data?.locked !== true)) {
    report.fail("GET", pathOf(res.url), `after control/lock: code=${res.json.code} locked=${res.json.data?.locked}`);
  }
}

report.finish();
