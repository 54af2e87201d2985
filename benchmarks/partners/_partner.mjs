// Shared plumbing of the held-out partner clients: arguments, the FAIL report, the exit code.
// Only what every client needs to be run by the harness; each client keeps its own HTTP style
// (token requests, headers, bodies, success checks) in its own file.
import process from "node:process";

export const DEMO_CLIENT_ID = "A20081";
export const DEMO_SECRET = "e2651be5-12d3-48f3-ba6c-bc2b04a447b6";

/** --name value pairs (repeatable) and the environment: base URL, IMEI, vehicle code, credentials. */
export function parseArgs(argv = process.argv.slice(2)) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) continue;
    const key = arg.slice(2);
    const value = argv[i + 1] !== undefined && !argv[i + 1].startsWith("--") ? argv[++i] : "true";
    (opts[key] ??= []).push(value);
  }
  const one = (key, env, fallback) => (opts[key]?.[0] ?? process.env[env] ?? fallback);
  const base = one("base", "PARTNER_BASE", "http://127.0.0.1:8080").replace(/\/+$/, "");
  const iot = one("iot", "PARTNER_IOT", "861477038719116");
  return {
    base,
    iot,
    vehicleCode: one("vehicle-code", "PARTNER_VEHICLE_CODE", iot),
    clientId: one("client-id", "PARTNER_CLIENT_ID", DEMO_CLIENT_ID),
    secret: one("secret", "PARTNER_SECRET", DEMO_SECRET),
    raw: opts,
  };
}

/** Collects one line per failed call: `FAIL <method> <path>: <why>`. */
export class Report {
  constructor(name) {
    this.name = name;
    this.failures = [];
    this.calls = 0;
  }
  call() {
    this.calls += 1;
  }
  fail(method, path, why) {
    const line = `FAIL ${method} ${path}: ${why}`;
    this.failures.push(line);
    console.log(line);
  }
  /** Ends the process: 0 when every call succeeded, else 1 (the FAIL lines are already out). */
  finish() {
    if (this.failures.length === 0) {
      console.error(`${this.name}: ${this.calls} calls, all succeeded`);
      process.exit(0);
    }
    console.error(`${this.name}: ${this.failures.length} of ${this.calls} calls failed`);
    process.exit(1);
  }
}

/** Short text of a body for a FAIL line. */
export function clip(text, n = 160) {
  const s = typeof text === "string" ? text : JSON.stringify(text);
  return s === undefined ? String(s) : s.length > n ? s.slice(0, n) + "..." : s;
}

/** fetch with a wall timeout; resolves to {status, text, json|undefined, error|undefined}. */
export async function httpCall(url, init = {}, timeoutMs = 15000) {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let json;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json, headers: res.headers };
  } catch (err) {
    return { status: 0, text: "", json: undefined, error: `${err.name}: ${err.message}` };
  }
}

/** The path of a URL (with its query) for FAIL lines. */
export function pathOf(url) {
  const u = new URL(url);
  return u.pathname + u.search;
}
