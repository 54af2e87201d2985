-- wrk script of the REST benchmark (benchmarks/loadgen.py runs it):
--   wrk -c64 -d10s -s rest.lua http://127.0.0.1:PORT -- IMEI_FILE TOKEN MIX_PERCENT
-- Status GETs rotating over every IMEI of the file with `Authorization: bearer TOKEN`; with
-- MIX_PERCENT > 0, that share of the requests are sound control POSTs (JSON body). done()
-- prints one JSON line that loadgen.py reads.

local status_path = "/api/v2/vehicle/query/current/status?iotCode="
local sound_path = "/api/v2/vehicle/control/sound"
local imeis, n, i, every = {}, 0, 0, 0
local get_headers, post_headers = {}, {}

function init(args)
  for line in io.lines(args[1]) do
    n = n + 1
    imeis[n] = line
  end
  get_headers["Authorization"] = "bearer " .. args[2]
  post_headers["Authorization"] = "bearer " .. args[2]
  post_headers["Content-Type"] = "application/json"
  local mix = tonumber(args[3] or "0")
  if mix > 0 then every = math.floor(100 / mix + 0.5) end
  -- each thread starts at another place in the fleet
  i = math.random(n)
end

function request()
  i = i + 1
  -- a stride coprime with the fleet size visits every vehicle, not neighbours in a row
  local imei = imeis[(i * 7919) % n + 1]
  if every > 0 and i % every == 0 then
    return wrk.format("POST", sound_path, post_headers,
                      '{"iotCode":"' .. imei .. '","controlType":2}')
  end
  return wrk.format("GET", status_path .. imei, get_headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"non2xx":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
