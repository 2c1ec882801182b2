-- wrk script for row (e) of bench/run.sh: POST /v1/partner/orders, each request pre-signed by
-- bench_partner_sign (wrk's Lua has no HMAC) with its own nonce and merchant_order_id. Thread k
-- of n sends lines k, k+n, k+2n, ... of the file; when its share runs out it stops sending.
--
-- Usage: wrk -t2 -c64 -d12s --latency -s bench/partner.lua http://HOST:PORT -- MERCHANT FILE
--
-- Only 202 counts as a success. done() prints lines like recharge.lua's:
--   bench_wrk: requests=N created=N other=N socket_errors=N duration_us=N p50_us=N ...

local threads = {}
local next_thread_id = 1

function setup(thread)
  thread:set("thread_id", next_thread_id)
  thread:set("thread_count", 0) -- set for every thread once all are known, in init
  next_thread_id = next_thread_id + 1
  table.insert(threads, thread)
end

created = 0
other = 0
first_other = ""
local lines = {}
local position = 0
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  headers["X-Topup-Merchant"] = args[1] or error("partner.lua: pass the merchant after --")
  local file = io.open(args[2] or "", "r") or error("partner.lua: cannot open the signed file")
  local index, threads_total = 0, tonumber(args[3] or "2")
  for line in file:lines() do
    if index % threads_total == thread_id - 1 then
      table.insert(lines, line)
    end
    index = index + 1
  end
  file:close()
end

function request()
  position = position + 1
  local line = lines[position]
  if not line then
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  local ts, nonce, signature, body = line:match("^(%S+) (%S+) (%S+) (.*)$")
  headers["X-Topup-Timestamp"] = ts
  headers["X-Topup-Nonce"] = nonce
  headers["X-Topup-Signature"] = signature
  return wrk.format("POST", "/v1/partner/orders", headers, body)
end

function response(status, response_headers, body)
  if status == 202 then
    created = created + 1
  elseif status ~= 200 or position <= #lines then
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
