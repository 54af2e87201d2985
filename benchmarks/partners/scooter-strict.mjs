// Scooter operator, the Swift (Vapor) client's strict decoder, emulated (fact sheet: "Who calls
// what" row query/current/status: "a missing `data` is an error; JSON booleans and an integer
// `powerPercent` are required by the strict (Swift) decoder"; "Habits": "Every reply body is JSON
// with `msg` and `code`: a strict decoder fails on a body without them").
// Every reply is decoded as a Codable struct would be: `code: Int`, `msg: String`, and for the
// status query `data` with exact JSON types. A reply that does not decode is a failure, whatever
// its HTTP status.
import { Report, clip, httpCall, parseArgs, pathOf } from "./_partner.mjs";

const args = parseArgs();
const report = new Report("scooter-strict");

const BOOL = (v) => typeof v === "boolean";
const INT = (v) => typeof v === "number" && Number.isInteger(v);
const DOUBLE = (v) => typeof v === "number" && Number.isFinite(v);
const STRING = (v) => typeof v === "string";

/** struct CurrentStatus: Decodable (the fields the app declares, non-optional). */
const STATUS = {
  online: BOOL, locked: BOOL, lockVoltage: INT, networkSignal: INT, charging: BOOL,
  powerPercent: INT, speedMode: INT, speed: DOUBLE, odometer: INT, remainingRange: INT,
  totalRidingSecs: INT, statusUtcTime: INT,
};
const TYPE_NAME = new Map([[BOOL, "Bool"], [INT, "Int"], [DOUBLE, "Double"], [STRING, "String"]]);

/** Decodes `json` against a {field: type} struct; returns the errors (typeMismatch / keyNotFound). */
function decode(json, struct, where) {
  const errors = [];
  if (json === null || typeof json !== "object" || Array.isArray(json)) return [`${where}: not an object`];
  for (const [key, check] of Object.entries(struct)) {
    if (!(key in json) || json[key] === null) errors.push(`keyNotFound ${where}.${key}`);
    else if (!check(json[key])) errors.push(`typeMismatch ${where}.${key}: ${TYPE_NAME.get(check)} expected, got ${JSON.stringify(json[key])}`);
  }
  return errors;
}

let tok;
{
  report.call();
  const r = await httpCall(`${args.base}/oauth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: args.clientId, client_secret: args.secret, grant_type: "client_credentials" }).toString(),
  });
  const errs = r.json ? decode(r.json, { access_token: STRING, token_type: STRING, expires_in: INT }, "Token") : [`not JSON: ${clip(r.text || r.error)}`];
  if (r.status !== 200 || errs.length) report.fail("POST", "/oauth/token", `HTTP ${r.status} ${errs.join("; ")}`);
  else tok = r.json.access_token;
}
if (!tok) report.finish();

/** One call decoded as `Envelope<T>`; `expectCode` is the vendor code this call must answer. */
async function call(method, path, { body, query, data, expectCode = 0 } = {}) {
  const url = `${args.base}${path}${query ? "?" + new URLSearchParams(query) : ""}`;
  const init = { method, headers: { Authorization: `Bearer ${tok}`, Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  report.call();
  const r = await httpCall(url, init);
  if (r.error) return report.fail(method, pathOf(url), r.error);
  if (r.json === undefined) return report.fail(method, pathOf(url), `HTTP ${r.status}, body does not decode (not JSON): ${clip(r.text)}`);
  const errs = decode(r.json, { code: INT, msg: STRING }, "Envelope");
  if (errs.length) return report.fail(method, pathOf(url), `HTTP ${r.status}, ${errs.join("; ")}`);
  if (r.json.code !== expectCode) return report.fail(method, pathOf(url), `code=${r.json.code} msg=${JSON.stringify(r.json.msg)}, ${expectCode} expected`);
  if (r.status !== 200) return report.fail(method, pathOf(url), `HTTP ${r.status} with code ${r.json.code}`);
  if (expectCode === 0 && ["/control/", "/setting/"].some((p) => path.includes(p)) && r.json.msg !== "Success") {
    return report.fail(method, pathOf(url), `msg=${JSON.stringify(r.json.msg)}, "Success" expected`);
  }
  if (data) {
    const dErrs = decode(r.json.data, data, "data");
    if (dErrs.length) return report.fail(method, pathOf(url), dErrs.join("; "));
  }
  return r.json;
}

const status = (iotCode = args.iot, expectCode = 0) => call("GET", "/api/v2/vehicle/query/current/status", {
  query: { iotCode }, data: expectCode === 0 ? STATUS : undefined, expectCode,
});

let s = await status();
if (s && s.data.locked !== true) report.fail("GET", "/api/v2/vehicle/query/current/status", `locked=${s.data.locked} before unlock (a locked scooter was given)`);
await call("POST", "/api/v2/vehicle/control/unlock", { body: { iotCode: args.iot } });
await call("POST", "/api/v2/vehicle/control/light", { body: { iotCode: args.iot, headLight: 1, tailLight: 1 } });
s = await status();
if (s && s.data.locked !== false) report.fail("GET", "/api/v2/vehicle/query/current/status", `locked=${s.data.locked} after unlock`);
await call("POST", "/api/v2/vehicle/control/sound", { body: { iotCode: args.iot, controlType: 2 } });
await call("GET", "/api/v2/vehicle/query/current/location", {
  query: { iotCode: args.iot }, data: { latitude: DOUBLE, longitude: DOUBLE },
});
await call("POST", "/api/v2/vehicle/control/light", { body: { iotCode: args.iot, headLight: 0, tailLight: 0 } });
await call("POST", "/api/v2/vehicle/control/lock", { body: { iotCode: args.iot } });
s = await status();
if (s && s.data.locked !== true) report.fail("GET", "/api/v2/vehicle/query/current/status", `locked=${s.data.locked} after control/lock`);
// An error must decode too: an IMEI no cloud knows is 15102 in the vendor envelope.
await status("999999999999990", 15102);

report.finish();
