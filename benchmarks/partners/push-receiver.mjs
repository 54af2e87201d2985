// A partner's push receiver (fact sheet: "Habits": "Push receivers: form-encoded string values
// ("true"/"false", numeric strings), compared as strings; any 2xx is delivery; one receiver
// verifies the MD5 signature over the sorted decoded `key=value` pairs joined by `&`, then
// `&client_secret=SECRET`, lowercase hex, strict equality"; "The first-generation (v1) API": v1
// status pushes at `POST {callback}/vehicle/status` with iotCode, vehicleCode and the status
// fields as strings; receivers drop 0.0/0.0 positions). The vendor reference's Push section for
// the v2 paths `{callback}/v2/vehicle/{status,location,alert,fault,components}`.
//
//   node push-receiver.mjs [--port 0] [--secret SECRET] [--out pushes.jsonl]
// prints `LISTENING http://127.0.0.1:PORT`, records one JSON line per push received, answers
// 200 {"message":"success","code":0} to a good push and 401 to a bad signature; on SIGTERM or
// SIGINT it exits 0 when every push it received was well-formed and correctly signed, else prints
// one `FAIL POST <path>: <why>` line per bad push and exits 1.
import { createHash } from "node:crypto";
import { appendFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import process from "node:process";
import { Report, clip, parseArgs } from "./_partner.mjs";

const args = parseArgs();
const port = Number(args.raw.port?.[0] ?? 0);
const out = args.raw.out?.[0];
const report = new Report("push-receiver");
if (out) writeFileSync(out, "");

const V2_TYPES = new Set(["status", "location", "alert", "fault", "components"]);
const BOOLS = ["online", "locked", "charging"];

/** Step 1: split the raw string on `&` and `=`, decoding each side as a form does. */
function parseForm(body) {
  const pairs = [];
  for (const part of body.split("&")) {
    if (part === "") continue;
    const i = part.indexOf("=");
    const dec = (s) => decodeURIComponent(s.replace(/\+/g, " "));
    try {
      pairs.push(i < 0 ? [dec(part), ""] : [dec(part.slice(0, i)), dec(part.slice(i + 1))]);
    } catch {
      pairs.push([part, null]);
    }
  }
  return pairs;
}

/** Steps 1-4: sorted by key in ASCII order, `k=v&...`, `&client_secret=SECRET`, MD5 lowercase hex. */
function sign(pairs, secret) {
  const sorted = pairs.filter(([k]) => k !== "signature").sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const text = sorted.map(([k, v]) => `${k}=${v}`).join("&") + `&client_secret=${secret}`;
  return createHash("md5").update(text, "utf8").digest("hex");
}

function check(path, headers, body) {
  const problems = [];
  let kind, type;
  const v2 = path.match(/\/v2\/vehicle\/([a-z]+)$/);
  if (v2) {
    kind = "v2";
    type = v2[1];
    if (!V2_TYPES.has(type)) problems.push(`unknown v2 push type ${type}`);
  } else if (/\/vehicle\/status$/.test(path)) {
    kind = "v1";
    type = "status";
  } else {
    problems.push("no push is sent to this path");
  }
  const ctype = String(headers["content-type"] ?? "");
  if (!ctype.toLowerCase().startsWith("application/x-www-form-urlencoded")) problems.push(`Content-Type ${JSON.stringify(ctype)}`);
  const pairs = parseForm(body);
  const fields = Object.fromEntries(pairs);
  if (pairs.some(([, v]) => v === null)) problems.push("a value that does not percent-decode");
  const keys = pairs.map(([k]) => k);
  if (new Set(keys).size !== keys.length) problems.push("a repeated key");
  if (!fields.iotCode) problems.push("no iotCode");
  if (kind === "v2" && !fields.platformCode) problems.push("no platformCode");
  if (kind === "v1" && !fields.vehicleCode) problems.push("no vehicleCode");
  if (!fields.signature) problems.push("no signature");
  let signatureOk = false;
  if (fields.signature) {
    const expected = sign(pairs, args.secret);
    signatureOk = fields.signature === expected;
    if (!signatureOk) problems.push(`signature ${fields.signature} != ${expected}`);
  }
  if (type === "status") {
    for (const b of BOOLS) {
      if (b in fields && fields[b] !== "true" && fields[b] !== "false") problems.push(`${b}=${JSON.stringify(fields[b])} is not "true"/"false"`);
    }
    for (const n of ["powerPercent", "odometer", "statusUtcTime"]) {
      if (n in fields && !/^-?\d+(\.\d+)?$/.test(fields[n])) problems.push(`${n}=${JSON.stringify(fields[n])} is not a numeric string`);
    }
  }
  const dropped = "latitude" in fields && Number(fields.latitude) === 0 && Number(fields.longitude) === 0;
  return { kind, type, fields, signatureOk, problems, dropped };
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const path = (req.url ?? "/").split("?")[0];
    report.call();
    const r = req.method === "POST" ? check(path, req.headers, body)
      : { kind: undefined, type: undefined, fields: {}, signatureOk: false, problems: [`method ${req.method}`], dropped: false };
    const record = { path, kind: r.kind, type: r.type, fields: r.fields, signatureOk: r.signatureOk,
      problems: r.problems, dropped: r.dropped, receivedAt: new Date().toISOString(), body };
    if (out) appendFileSync(out, JSON.stringify(record) + "\n");
    if (r.problems.length) report.fail(req.method, path, `${r.problems.join("; ")} (${clip(body, 120)})`);
    const status = r.kind === undefined ? 404 : r.signatureOk ? 200 : 401;
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(status === 200 ? { message: "success", code: 0 } : { message: r.problems.join("; "), code: 1 }));
  });
});

function stop() {
  server.close();
  server.closeAllConnections?.();
  report.finish();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
server.listen(port, "127.0.0.1", () => {
  console.log(`LISTENING http://127.0.0.1:${server.address().port}`);
});
