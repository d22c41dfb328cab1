-- wrk script: POST /api/v1/calls with a unique Idempotency-Key per request and
-- positions spread over central Chengdu. Token from the environment.
local token = os.getenv("JINGWU_BENCH_TOKEN")
local counter = 0
local thread_id = 0
local points = {
  {104.0657, 30.6598}, {104.0810, 30.6570}, {104.0540, 30.6700}, {104.0740, 30.6960},
  {104.1010, 30.6755}, {104.1200, 30.6800}, {104.0700, 30.6740}, {104.0900, 30.6650},
}
local types = {"020200", "050100", "030200", "060200", "010600", "020300"}

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  math.randomseed(os.time() + tid)
end

function request()
  counter = counter + 1
  local p = points[math.random(#points)]
  local lon = p[1] + (math.random() - 0.5) * 0.004
  local lat = p[2] + (math.random() - 0.5) * 0.004
  local body = string.format('{"channel":"phone","type_code":"%s","lon":%.6f,"lat":%.6f,"accuracy_m":30}',
    types[math.random(#types)], lon, lat)
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
