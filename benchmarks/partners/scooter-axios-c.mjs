// Scooter operator, Node client C (fact sheet: "Who calls what" rows query/version and
// control/battery/cover, the v1 paths on the v2 host, with iotCode = vehicleCode = IMEI;
// control/unlock, control/lock, control/light, control/sound, query/current/{status,location}
// with `gpsUTCTime` read as a date; "Habits": one token cached by this process,
// `Authorization: Bearer`, `application/json;charset=utf-8`, `vehicleCode` added).
// Emulates the axios style: a non-2xx rejects; success is `msg === "Success"` and an integer `code`.
import { Report, clip, httpCall, parseArgs, pathOf } from "./_partner.mjs";

const args = parseArgs();
const report = new Report("scooter-axios-c");
let cached;

async function token() {
  if (cached) return cached;
  report.call();
  const body = new URLSearchParams({
    client_id: args.clientId, client_secret: args.secret, grant_type: "client_credentials",
  }).toString();
  const r = await httpCall(`${args.base}/oauth/token`, {
    method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body,
  });
  if (r.error) return report.fail("POST", "/oauth/token", r.error);
  if (r.status !== 200 || typeof r.json?.access_token !== "string") {
    return report.fail("POST", "/oauth/token", `HTTP ${r.status} ${clip(r.text)}`);
  }
  cached = r.json.access_token;
  return cached;
}

async function request(method, path, body, query) {
  const tok = await token();
  if (!tok) return undefined;
  const url = `${args.base}${path}${query ? "?" + new URLSearchParams(query) : ""}`;
  const init = { method, headers: { Authorization: `Bearer ${tok}` } };
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

async function control(path, body) {
  const res = await request("POST", path, body);
  if (!res) return false;
  if (res.json.msg !== "Success" || !Number.isInteger(res.json.code) || res.json.code !== 0) {
    report.fail("POST", path, `code=${res.json.code} msg=${JSON.stringify(res.json.msg)} ${clip(res.json)}`);
    return false;
  }
  return true;
}

const ids = { iotCode: args.iot, vehicleCode: args.iot };

// The firmware check of the v1 path on the v2 host: the top-level `iotVersion`.
{
  const path = "/api/vehicle/query/version";
  const res = await request("GET", path, undefined, { iotCode: args.iot, vehicleCode: args.iot });
  if (res) {
    const v = res.json.iotVersion;
    if (v === undefined || v === null || v === "") report.fail("GET", pathOf(res.url), `no top-level iotVersion: ${clip(res.json)}`);
    else if (res.json.code !== undefined && res.json.code !== 0) report.fail("GET", pathOf(res.url), `code=${res.json.code}`);
  }
}
await control("/api/v2/vehicle/control/unlock", { ...ids });
await control("/api/v2/vehicle/control/light", { ...ids, headLight: 1, tailLight: 1 });
// Battery swap through the v1 path on the v2 host.
await control("/api/vehicle/control/battery/cover", { ...ids });
await control("/api/v2/vehicle/control/sound", { ...ids, controlType: 2 });
{
  const res = await request("GET", "/api/v2/vehicle/query/current/location", undefined, { iotCode: args.iot });
  if (res) {
    const d = res.json.data;
    if (res.json.code !== 0) report.fail("GET", pathOf(res.url), `code=${res.json.code} msg=${JSON.stringify(res.json.msg)}`);
    else if (!d || typeof d !== "object") report.fail("GET", pathOf(res.url), `no data: ${clip(res.json)}`);
    else {
      const missing = ["latitude", "longitude", "gpsUTCTime"].filter((f) => d[f] === undefined || d[f] === null);
      const when = new Date(Number(d.gpsUTCTime) * 1000);
      if (missing.length) report.fail("GET", pathOf(res.url), `data lacks ${missing.join(", ")}: ${clip(d)}`);
      else if (Number.isNaN(when.getTime()) || when.getUTCFullYear() < 2001 || when.getUTCFullYear() > 2200) {
        report.fail("GET", pathOf(res.url), `gpsUTCTime ${JSON.stringify(d.gpsUTCTime)} is not a date in epoch seconds`);
      }
    }
  }
}
{
  const res = await request("GET", "/api/v2/vehicle/query/current/status", undefined, { iotCode: args.iot });
  if (res) {
    const d = res.json.data;
    if (res.json.code !== 0) report.fail("GET", pathOf(res.url), `code=${res.json.code} msg=${JSON.stringify(res.json.msg)}`);
    else if (!d || typeof d !== "object") report.fail("GET", pathOf(res.url), `no data: ${clip(res.json)}`);
    else if (d.locked !== false || typeof d.powerPercent !== "number") {
      report.fail("GET", pathOf(res.url), `locked=${d.locked} powerPercent=${d.powerPercent} after unlock`);
    }
  }
}
await control("/api/v2/vehicle/control/light", { ...ids, headLight: 0, tailLight: 0 });
await control("/api/v2/vehicle/control/lock", { ...ids });

report.finish();
