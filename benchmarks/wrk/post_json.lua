-- wrk script: POSTs one JSON body on every request and, when the run ends, prints one line
--   ECHOES_WRK {"requests":N,"duration_us":N,"rps":X,"p50_us":N,"p90_us":N,"p99_us":N,...}
-- that benchmarks/mock_server_compare.sh parses (wrk's own text output stays above it).
--
--   wrk -t1 -c32 -d10s -s benchmarks/wrk/post_json.lua http://127.0.0.1:8080 -- \
--       /v1/chat/completions request.json
--
-- Arguments after "--": the request path and a file holding the exact body to send. init() only
-- sets wrk.method, wrk.path, wrk.body and headers: with no request() and no response() defined,
-- wrk formats the request once and sends it without calling Lua per request (as a plain
-- `wrk URL` run does), and does not hand bodies to Lua (a status >= 400 still counts in
-- errors.status).

function init(args)
  local path = args[1] or "/"
  local body_file = args[2]
  if body_file == nil then
    error("post_json.lua: expected arguments -- <path> <body file>")
  end
  local file = assert(io.open(body_file, "rb"))
  local body = file:read("*a")
  file:close()
  wrk.method = "POST"
  wrk.path = path
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer sk-echoes-benchmark"
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'ECHOES_WRK {"requests":%d,"duration_us":%d,"rps":%.1f,"bytes":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, summary.requests / seconds, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
