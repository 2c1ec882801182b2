-- wrk script for row (a) of bench/run.sh: POST /v1/recharges with a fresh Idempotency-Key per
-- request, for random numbers across the DEMO catalog's ranges (China Mobile 138/139/150, China
-- Unicom 186, China Telecom 133), CNY 50 each (amount_minor 5000 + currency CNY is a product of
-- every CN operator in the demo catalog).
--
-- Usage: wrk -t2 -c64 -d12s --latency -s bench/recharge.lua http://HOST:PORT -- API_KEY RUN_ID
--
-- Only 201 counts as a success. done() prints machine-readable lines for bench/run.sh:
--   bench_wrk: requests=N created=N other=N duration_us=N p50_us=N p90_us=N p99_us=N max_us=N
--   bench_wrk: first_other=STATUS BODY      (only when some answer was not 201)

local prefixes = { "1380013", "1390013", "1500013", "1860013", "1330013" }

local threads = {}
local next_thread_id = 1

-- Runs in wrk's main Lua state once per thread before the threads start.
function setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
  table.insert(threads, thread)
end

-- Runs in each thread's own Lua state: everything below is per thread. created, other and
-- first_other are globals because done() reads them with thread:get, which sees only globals.
local counter = 0
created = 0
other = 0
first_other = ""
local headers = {}
local key_prefix = ""

function init(args)
  local api_key = args[1] or error("recharge.lua: pass the API key after --")
  local run_id = args[2] or tostring(os.time())
  headers["Authorization"] = "Bearer " .. api_key
  headers["Content-Type"] = "application/json"
  key_prefix = "wrk-" .. run_id .. "-" .. tostring(thread_id) .. "-"
  math.randomseed(os.time() * 1000 + thread_id)
end

function request()
  counter = counter + 1
  local msisdn = prefixes[math.random(#prefixes)] .. string.format("%04d", math.random(0, 9999))
  headers["Idempotency-Key"] = key_prefix .. counter
  local body = '{"msisdn":"' .. msisdn .. '","amount_minor":5000,"currency":"CNY"}'
  return wrk.format("POST", "/v1/recharges", headers, body)
end

function response(status, response_headers, body)
  if status == 201 then
    created = created + 1
  else
    other = other + 1
    if first_other == "" then
      first_other = tostring(status) .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local total_created, total_other, sample = 0, 0, ""
  for _, thread in ipairs(threads) do
    total_created = total_created + (thread:get("created") or 0)
    total_other = total_other + (thread:get("other") or 0)
    local first = thread:get("first_other") or ""
    if sample == "" and first ~= "" then
      sample = first
    end
  end
  -- Socket errors (connect/read/write/timeout) are requests that got no answer at all.
  local errors = summary.errors
  local socket_errors = errors.connect + errors.read + errors.write + errors.timeout
  io.write(string.format(
    "bench_wrk: requests=%d created=%d other=%d socket_errors=%d duration_us=%d " ..
    "p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, total_created, total_other, socket_errors, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
  if sample ~= "" then
    io.write("bench_wrk: first_other=" .. string.gsub(sample, "\n", " ") .. "\n")
  end
end
