// A client that caches its token by its own wall clock (fact sheet: "Habits": "Clients cache the
// token against their wall clock (`expires_in` from the time of issue) and never react to 15101").
// It fetches one token, keeps it until Date.now() passes issue + expires_in, and polls the
// status, location and battery-info queries in phases. Between phases it prints `READY <n>` and
// waits for a line on stdin: the harness jumps the virtual clock days ahead meanwhile
// (POST /_sim/clock {"advance": ...}). A 15101 is a failure like any other code: this client
// never asks for a new token because of it.
//   node wall-clock-token.mjs --base URL --iot IMEI [--phases 4]
import { createInterface } from "node:readline";
import process from "node:process";
import { Report, clip, httpCall, parseArgs, pathOf } from "./_partner.mjs";

const args = parseArgs();
const phases = Number(args.raw.phases?.[0] ?? 1);
const report = new Report("wall-clock-token");
let cache; // {token, expiresAt} in wall milliseconds

async function token() {
  if (cache && Date.now() < cache.expiresAt) return cache.token;
  report.call();
  const issued = Date.now();
  const r = await httpCall(`${args.base}/oauth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: args.clientId, client_secret: args.secret, grant_type: "client_credentials" }).toString(),
  });
  if (r.status !== 200 || typeof r.json?.access_token !== "string" || !Number.isInteger(r.json?.expires_in)) {
    report.fail("POST", "/oauth/token", r.error ?? `HTTP ${r.status} ${clip(r.text)}`);
    return undefined;
  }
  cache = { token: r.json.access_token, expiresAt: issued + r.json.expires_in * 1000 };
  return cache.token;
}

async function call(method, path, body, query) {
  const tok = await token();
  if (!tok) return;
  const url = `${args.base}${path}${query ? "?" + new URLSearchParams(query) : ""}`;
  const init = { method, headers: { Authorization: `bearer ${tok}` } };
  if (body) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  report.call();
  const r = await httpCall(url, init);
  if (r.error) return report.fail(method, pathOf(url), r.error);
  if (r.status !== 200 || !r.json) return report.fail(method, pathOf(url), `HTTP ${r.status} ${clip(r.text)}`);
  if (r.json.code !== 0) {
    const hint = r.json.code === 15101 ? " (token refused: this client keeps its wall-clock-valid token)" : "";
    return report.fail(method, pathOf(url), `code=${r.json.code} msg=${JSON.stringify(r.json.msg)}${hint}`);
  }
  if (method === "GET" && (!r.json.data || typeof r.json.data !== "object")) return report.fail(method, pathOf(url), `no data: ${clip(r.json)}`);
  return r.json;
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

for (let phase = 0; phase < phases; phase++) {
  if (phase === 0) {
    await call("POST", "/api/v2/vehicle/control/sound", { iotCode: args.iot, controlType: 2 });
  }
  const q = { iotCode: args.iot };
  const s = await call("GET", "/api/v2/vehicle/query/current/status", undefined, q);
  if (s && typeof s.data.statusUtcTime !== "number") report.fail("GET", "/api/v2/vehicle/query/current/status", `statusUtcTime=${s.data.statusUtcTime}`);
  await call("GET", "/api/v2/vehicle/query/current/location", undefined, q);
  await call("GET", "/api/v2/vehicle/query/current/battery-info", undefined, q);
  if (phase < phases - 1) {
    console.log(`READY ${phase}`);
    const next = await lines.next();
    if (next.done) break;
  }
}

report.finish();
