-- wrk script: POST /api/v1/calls with a unique Idempotency-Key per request. The calls (position and
-- type) come from the demo call generator (hot spots + anywhere on the roads, the type mix), written
-- by bench_dispatch.py to the file named in JINGWU_BENCH_CALLS. Token from the environment.
local token = os.getenv("JINGWU_BENCH_TOKEN")
local calls = dofile(os.getenv("JINGWU_BENCH_CALLS"))
local counter = 0
local thread_id = 0

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  math.randomseed(os.time() + tid)
  counter = math.random(#calls)
end

function request()
  counter = counter + 1
  local c = calls[(counter % #calls) + 1]
  local body = string.format('{"channel":"phone","type_code":"%s","lon":%.6f,"lat":%.6f,"accuracy_m":30}',
    c[3], c[1], c[2])
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = string.format("bench-%d-%d-%d", os.time(), tid, counter),
  }
  return wrk.format("POST", "/api/v1/calls", headers, body)
end
function done(summary, latency, requests)
  local codes = summary.errors.status
  io.write(string.format("WRK requests=%d duration_s=%.2f non2xx=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.duration / 1e6, codes, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
