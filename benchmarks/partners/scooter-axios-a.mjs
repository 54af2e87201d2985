// Scooter operator, Node client A (fact sheet: "Who calls what" rows control/unlock, control/lock,
// control/light, control/sound, setting/sound, query/current/{status,location,battery-info};
// "Habits": token requested per call, token params in the query string with an empty body,
// `Authorization: bearer`, `application/json;charset=utf-8`, `vehicleCode` added).
// Emulates the axios style: a non-2xx rejects; success is `msg === "Success"` and an integer `code`.
import { Report, clip, httpCall, parseArgs, pathOf } from "./_partner.mjs";

const args = parseArgs();
const report = new Report("scooter-axios-a");

/** Token per call: POST /oauth/token?client_id=..&client_secret=..&grant_type=..., empty body. */
async function token() {
  const qs = new URLSearchParams({
    client_id: args.clientId, client_secret: args.secret, grant_type: "client_credentials",
  });
  const url = `${args.base}/oauth/token?${qs}`;
  report.call();
  const r = await httpCall(url, { method: "POST", body: "" });
  if (r.error) return report.fail("POST", "/oauth/token", r.error);
  if (r.status !== 200 || typeof r.json?.access_token !== "string") {
    return report.fail("POST", "/oauth/token", `HTTP ${r.status} ${clip(r.text)}`);
  }
  return r.json.access_token;
}

/** One axios-style request with a fresh token; returns the JSON body or undefined (failure recorded). */
async function request(method, path, body, { query } = {}) {
  const tok = await token();
  if (!tok) return undefined;
  const url = `${args.base}${path}${query ? "?" + new URLSearchParams(query) : ""}`;
  const init = { method, headers: { Authorization: `bearer ${tok}` } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json;charset=utf-8";
    init.body = JSON.stringify(body);
  }
  report.call();
  const r = await httpCall(url, init);
  if (r.error) return report.fail(method, pathOf(url), r.error);
  if (r.status < 200 || r.status > 299) return report.fail(method, pathOf(url), `HTTP ${r.status} ${clip(r.text)}`);
  if (r.json === undefined || typeof r.json !== "object") return report.fail(method, pathOf(url), `not JSON: ${clip(r.text)}`);
  return { url, json: r.json };
}

/** A control: `msg === "Success"` (exact) and an integer `code` equal to 0. */
async function control(path, body) {
  const res = await request("POST", path, body);
  if (!res) return false;
  const { json } = res;
  if (json.msg !== "Success" || !Number.isInteger(json.code) || json.code !== 0) {
    report.fail("POST", path, `code=${json.code} msg=${JSON.stringify(json.msg)} ${clip(json)}`);
    return false;
  }
  return true;
}

/** A query: integer code 0 and the `data` fields this client reads. */
async function query(path, fields, extra = {}) {
  const res = await request("GET", path, undefined, { query: { iotCode: args.iot, ...extra } });
  if (!res) return undefined;
  const { json, url } = res;
  if (!Number.isInteger(json.code) || json.code !== 0) {
    return report.fail("GET", pathOf(url), `code=${json.code} msg=${JSON.stringify(json.msg)}`);
  }
  if (json.data === null || typeof json.data !== "object") return report.fail("GET", pathOf(url), `no data: ${clip(json)}`);
  const missing = fields.filter((f) => json.data[f] === undefined || json.data[f] === null);
  if (missing.length) return report.fail("GET", pathOf(url), `data lacks ${missing.join(", ")}: ${clip(json.data)}`);
  return json.data;
}

const ids = { iotCode: args.iot, vehicleCode: args.iot };

// Start of a rental: unlock, then the lights on.
await control("/api/v2/vehicle/control/unlock", { ...ids });
await control("/api/v2/vehicle/control/light", { ...ids, headLight: 1, tailLight: 1 });
// Find my scooter: a toot.
await control("/api/v2/vehicle/control/sound", { ...ids, controlType: 2 });
// Sound on, workMode only (no volume), re-sent up to 3 times while msg != "Success".
{
  const path = "/api/v2/vehicle/setting/sound";
  let last;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const tok = await token();
    if (!tok) break;
    report.call();
    const r = await httpCall(`${args.base}${path}`, {
      method: "POST",
      headers: { Authorization: `bearer ${tok}`, "Content-Type": "application/json;charset=utf-8" },
      body: JSON.stringify({ ...ids, workMode: 2 }),
    });
    last = r;
    if (r.status >= 200 && r.status < 300 && r.json?.msg === "Success") break;
  }
  if (!(last && last.status >= 200 && last.status < 300 && last.json?.msg === "Success" && last.json?.code === 0)) {
    report.fail("POST", path, `no "Success" after 3 sends: HTTP ${last?.status} ${clip(last?.text ?? last?.error)}`);
  }
}
// The status refresh: status, location (gpsUTCTime as a date), battery-info (only 2xx matters).
await query("/api/v2/vehicle/query/current/status", [
  "online", "locked", "lockVoltage", "networkSignal", "charging", "powerPercent", "speedMode",
  "speed", "odometer", "remainingRange", "totalRidingSecs", "statusUtcTime",
]);
{
  const data = await query("/api/v2/vehicle/query/current/location", [
    "latitude", "longitude", "satelliteNumber", "hdop", "altitude", "gpsUTCTime",
  ]);
  if (data) {
    const when = new Date(Number(data.gpsUTCTime) * 1000);
    const year = when.getUTCFullYear();
    if (Number.isNaN(when.getTime()) || year < 2001 || year > 2200) {
      report.fail("GET", "/api/v2/vehicle/query/current/location", `gpsUTCTime ${JSON.stringify(data.gpsUTCTime)} is not a date in epoch seconds`);
    }
  }
}
{
  const path = "/api/v2/vehicle/query/current/battery-info";
  const res = await request("GET", path, undefined, { query: { iotCode: args.iot } });
  if (res && res.json.code !== 0) report.fail("GET", path, `code=${res.json.code} msg=${JSON.stringify(res.json.msg)}`);
}
// End of the rental: the lights off, then lock.
await control("/api/v2/vehicle/control/light", { ...ids, headLight: 0, tailLight: 0 });
await control("/api/v2/vehicle/control/lock", { ...ids });

report.finish();
