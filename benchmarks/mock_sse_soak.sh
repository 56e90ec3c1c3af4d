#!/usr/bin/env bash
# SSE soak of echoes-mock (issue 3, "Performance"): holds 256 concurrent streams of a recorded
# chat completion replayed with its recorded timing, and checks that events arrive at most 5 ms
# after their recorded offsets at p99 and that the server's memory stays flat.
#
#   benchmarks/mock_sse_soak.sh                  # 256 streams for 30 s (a quick check)
#   benchmarks/mock_sse_soak.sh --duration 300   # the full 5-minute run the target refers to
#   benchmarks/mock_sse_soak.sh --streams 64 --echoes-bin build/dev/mock_server/echoes-mock
#   benchmarks/mock_sse_soak.sh -- --seed 7      # arguments after -- go to echoes-mock
#
# It builds echoes-mock from the `release` preset (unless --echoes-bin) and the client
# benchmarks/sse_soak.cc (C++ with header-only Boost.Asio/Beast: --client-threads event loops,
# default one, drive the streams), takes the first recorded streaming POST /v1/chat/completions with status 200 and no
# faults from the cassettes, starts echoes-mock on 127.0.0.1, runs the client against it and
# writes reports/bench/mock_sse_soak.json.
# The client samples the server's VmRSS and CPU time from /proc/<pid> once a second. echoes-mock is
# stopped on every exit path; every wait is bounded.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: benchmarks/mock_sse_soak.sh [options] [-- echoes-mock arguments]
  --streams N        concurrent streams (default 256)
  --duration S       seconds of the soak (default 30; the target is stated for 300)
  --read-timeout S   client read timeout per stream (default 10)
  --client-threads N the client's event loops, a thread each (default 1)
  --deadline-ms X    p99 lateness target in ms (default 5)
  --echoes-bin PATH  use this echoes-mock binary instead of building the release preset
  --cassettes DIR    cassette folder for echoes-mock (default fixtures/cassettes)
  --output FILE      JSON report (default reports/bench/mock_sse_soak.json)
  --fail-on-miss     exit 3 when a target is missed (default: report only)
  -h, --help         this text
EOF
}

streams=256
client_threads=1
duration=30
read_timeout=10
deadline_ms=5
echoes_bin=""
cassettes=""
output=""
fail_on_miss=0
echoes_args=()

need_number() {
  [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -gt 0 ]] ||
    { echo "mock_sse_soak: $1 needs a positive integer, got '${2:-}'" >&2; exit 2; }
}
need_value() { [[ $# -ge 2 && -n "$2" ]] || { echo "mock_sse_soak: $1 needs a value" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --streams) need_number "$@"; streams=$2; shift 2 ;;
    --client-threads) need_number "$@"; client_threads=$2; shift 2 ;;
    --duration) need_number "$1" "${2%s}"; duration=${2%s}; shift 2 ;;
    --read-timeout) need_number "$1" "${2%s}"; read_timeout=${2%s}; shift 2 ;;
    --deadline-ms) need_value "$@"; deadline_ms=$2; shift 2 ;;
    --echoes-bin) need_value "$@"; echoes_bin=$2; shift 2 ;;
    --cassettes) need_value "$@"; cassettes=$2; shift 2 ;;
    --output) need_value "$@"; output=$2; shift 2 ;;
    --fail-on-miss) fail_on_miss=1; shift ;;
    --) shift; echoes_args=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) echo "mock_sse_soak: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

abs() { [[ -z "$1" || "$1" == /* ]] && printf '%s' "$1" || printf '%s/%s' "$PWD" "$1"; }
echoes_bin=$(abs "$echoes_bin"); cassettes=$(abs "$cassettes"); output=$(abs "$output")
cd "$(dirname "$0")/.."
root=$PWD
[[ -n "$cassettes" ]] || cassettes="$root/fixtures/cassettes"
[[ -n "$output" ]] || output="$root/reports/bench/mock_sse_soak.json"
tools_dir="$root/build/bench-tools"
mkdir -p "$tools_dir/soak" "$(dirname "$output")"

log() { printf '[soak] %s\n' "$*" >&2; }
die() { printf 'mock_sse_soak: %s\n' "$*" >&2; exit 1; }

# One benchmark at a time on this machine (this script or mock_server_compare.sh): two would
# measure each other. The lock also covers the build.
exec {lock_fd}>"$tools_dir/benchmark.lock"
if ! flock -n "$lock_fd"; then
  log "another benchmark holds build/bench-tools/benchmark.lock; waiting for it (at most 15 min)"
  flock -w 900 "$lock_fd" || die "the other benchmark did not finish within 15 min"
fi
# This run's files (request, offsets, server log); removed after a successful run.
work=$(mktemp -d "$tools_dir/soak.XXXXXX")
succeeded=0

echoes_pid=""
client_pid=""
# shellcheck disable=SC2317  # runs from the EXIT trap
stop_echoes() {
  if [[ -n "$client_pid" ]]; then kill -TERM "$client_pid" 2>/dev/null || true; wait "$client_pid" 2>/dev/null || true; fi
  [[ -n "$echoes_pid" ]] || return 0
  if kill -0 "$echoes_pid" 2>/dev/null; then
    kill -TERM "$echoes_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$echoes_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$echoes_pid" 2>/dev/null && { log "echoes-mock ignored SIGTERM for 5 s; SIGKILL"; kill -KILL "$echoes_pid" 2>/dev/null || true; }
  fi
  wait "$echoes_pid" 2>/dev/null || true
  echoes_pid=""
}
# shellcheck disable=SC2317  # runs from the EXIT trap
on_exit() {
  stop_echoes
  if [[ $succeeded -eq 1 ]]; then rm -rf "$work"; else log "this run's files are kept in $work"; fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

for cmd in cmake g++ pkg-config python3; do
  command -v "$cmd" >/dev/null || die "$cmd is missing (run scripts/bootstrap)"
done

# ---------------------------------------------------------------------------------------------
# Build: echoes-mock from the release preset, and the soak client. The client is compiled here
# with the project's warning flags unless the release build has a target for it.
if [[ -z "$echoes_bin" ]]; then
  log "building echoes-mock (release preset)"
  cmake --preset release >/dev/null || die "cmake --preset release failed"
  cmake --build --preset release --target echoes-mock -j "$(nproc)" >&2 || die "building echoes-mock failed"
  echoes_bin=$(find "$root/build/release" -type f -name echoes-mock -perm -u+x -print -quit)
  [[ -n "$echoes_bin" ]] || die "echoes-mock not found under build/release after the build"
fi
[[ -x "$echoes_bin" ]] || die "echoes-mock binary not executable: $echoes_bin"

client="$tools_dir/soak/sse_soak"
if [[ -f "$root/build/release/build.ninja" ]] && grep -q '^build echoes_sse_soak:' "$root/build/release/build.ninja"; then
  cmake --build --preset release --target echoes_sse_soak >&2 || die "building echoes_sse_soak failed"
  client=$(find "$root/build/release" -type f -name echoes_sse_soak -perm -u+x -print -quit)
elif [[ ! -x "$client" || "$root/benchmarks/sse_soak.cc" -nt "$client" ]]; then
  log "compiling benchmarks/sse_soak.cc"
  # Boost (libboost-dev) is header-only here: no include or library flags.
  g++ -std=c++20 -O2 -Wall -Wextra -Wpedantic -Wshadow -Wold-style-cast -Werror \
    "$root/benchmarks/sse_soak.cc" -o "$client" -pthread || die "compiling benchmarks/sse_soak.cc failed"
fi

# ---------------------------------------------------------------------------------------------
# The recorded stream: its request body and the offsets of its events ([DONE] last).
[[ -d "$cassettes" ]] || die "--cassettes: no such folder: $cassettes"
python3 - "$cassettes" "$work/request.json" "$work/offsets.txt" <<'PY' || die "no recorded streaming POST /v1/chat/completions with status 200 and no faults in $cassettes"
import glob, json, os, sys
folder, body_out, offsets_out = sys.argv[1:4]
for name in sorted(glob.glob(os.path.join(folder, "*.json"))):
    try:
        with open(name, "rb") as f:
            cassette = json.load(f)
    except (OSError, ValueError):
        continue
    if not isinstance(cassette, dict):
        continue
    for interaction in cassette.get("interactions") or []:
        request, response = interaction.get("request") or {}, interaction.get("response") or {}
        stream = response.get("stream")
        if (request.get("method", "POST").upper() != "POST" or request.get("path") != "/v1/chat/completions"
                or response.get("status", 200) != 200 or not isinstance(stream, dict)
                or interaction.get("faults")):
            continue
        body = request.get("body")
        if isinstance(body, str):
            body = json.loads(body)
        # Matching normalises `stream`, so a recorded stream's request may not say it; ask for one.
        body["stream"] = True
        # A recorded usage chunk (empty choices, usage set) is only sent when the request asks.
        def is_usage(chunk):
            try:
                data = json.loads(chunk["data"])
            except (ValueError, TypeError, KeyError):
                return False
            return isinstance(data, dict) and data.get("choices") == [] and data.get("usage") is not None
        if any(is_usage(chunk) for chunk in stream.get("chunks", [])):
            body["stream_options"] = {"include_usage": True}
        text = json.dumps(body, separators=(",", ":"))
        offsets = [int(chunk["offset_ms"]) for chunk in stream.get("chunks", [])]
        offsets.append(int(stream.get("done_offset_ms", offsets[-1] if offsets else 0)))
        with open(body_out, "w") as f:
            f.write(text)
        with open(offsets_out, "w") as f:
            f.write("\n".join(str(o) for o in offsets) + "\n")
        print(f"[soak] stream {os.path.basename(name)}: {len(offsets) - 1} chunks, [DONE] at "
              f"{offsets[-1]} ms", file=sys.stderr)
        sys.exit(0)
sys.exit(1)
PY

# ---------------------------------------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log "starting echoes-mock on 127.0.0.1:$port"
"$echoes_bin" --cassettes "$cassettes" --port "$port" --mode replay --quiet "${echoes_args[@]}" \
  >"$work/echoes.log" 2>&1 &
echoes_pid=$!

# Ready when the recorded request gets a 200 stream to the end (bounded: 30 s in all).
ready=0
for _ in $(seq 1 100); do
  kill -0 "$echoes_pid" 2>/dev/null || die "echoes-mock exited during start-up (log: $work/echoes.log)"
  status=$(python3 - "$port" "$work/request.json" <<'PY'
import http.client, sys
try:
    conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
    conn.request("POST", "/v1/chat/completions", body=open(sys.argv[2], "rb").read(),
                 headers={"Content-Type": "application/json", "Authorization": "Bearer sk-echoes-benchmark"})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        sys.stderr.write(body[:500].decode("utf-8", "replace") + "\n")
    print(response.status)
except OSError:
    print(0)
PY
)
  if [[ "$status" == 200 ]]; then ready=1; break; fi
  [[ "$status" != 0 ]] && die "echoes-mock answered $status to the recorded request (log: $work/echoes.log)"
  sleep 0.3
done
[[ $ready -eq 1 ]] || die "echoes-mock did not answer within 30 s (log: $work/echoes.log)"
# The server's own figures (its stream event lateness histogram) should cover the soak only.
python3 - "$port" <<'PY' || log "could not reset echoes-mock's metrics: the server's figures include the readiness probe"
import http.client, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
conn.request("POST", "/__admin/reset")
sys.exit(0 if conn.getresponse().status == 200 else 1)
PY

log "soaking: $streams streams for $duration s (load $(cut -d' ' -f1-3 /proc/loadavg))"
# In the background and waited for, so that a signal to this script runs the trap at once.
timeout $((duration + read_timeout + 60)) "$client" --port "$port" --body "$work/request.json" \
  --offsets "$work/offsets.txt" --streams "$streams" --client-threads "$client_threads" \
  --duration "$duration" \
  --read-timeout "$read_timeout" --deadline-ms "$deadline_ms" --server-pid "$echoes_pid" \
  --json "$output" &
client_pid=$!
status=0
wait "$client_pid" || status=$?
client_pid=""
kill -0 "$echoes_pid" 2>/dev/null || die "echoes-mock died during the soak (log: $work/echoes.log)"
[[ $status -eq 0 ]] || die "the soak client failed (exit $status)"
log "load after the soak: $(cut -d' ' -f1-3 /proc/loadavg)"

# The server's side of lateness: echoes-mock's histogram of how late each event's write began
# (echoes_mock_stream_event_lateness_seconds at /__admin/metrics). Unlike the client's figure it
# leaves out the network and the client's own scheduling. Added to the report as
# "server_event_lateness"; quantiles are interpolated within buckets, as Prometheus does.
python3 - "$port" "$output" "$deadline_ms" <<'PY' || log "could not read echoes-mock's event lateness histogram"
import http.client, json, re, sys
port, output, deadline_ms = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
conn.request("GET", "/__admin/metrics")
response = conn.getresponse()
text = response.read().decode()
if response.status != 200:
    sys.exit("GET /__admin/metrics answered %d" % response.status)
buckets = []  # (upper bound in ms, cumulative count)
for m in re.finditer(r'^echoes_mock_stream_event_lateness_seconds_bucket\{le="([^"]+)"\} (\d+)$', text, re.M):
    bound = float("inf") if m.group(1) == "+Inf" else float(m.group(1)) * 1000.0
    buckets.append((bound, int(m.group(2))))
if not buckets or buckets[-1][1] == 0:
    sys.exit("no stream event lateness in the server's metrics")
total = buckets[-1][1]

def quantile(q):
    rank = q * total
    lower_bound, lower_count = 0.0, 0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound  # beyond the last finite bound: report that bound
            span = count - lower_count
            return lower_bound + (bound - lower_bound) * ((rank - lower_count) / span if span else 1.0)
        lower_bound, lower_count = bound, count
    return lower_bound

def share_within(ms):
    lower_bound, lower_count = 0.0, 0
    for bound, count in buckets:
        if bound >= ms:
            if bound == float("inf"):
                return lower_count / total
            return (lower_count + (count - lower_count) * (ms - lower_bound) / (bound - lower_bound)) / total
        lower_bound, lower_count = bound, count
    return 1.0

summary = {"events": total, "p50_ms": round(quantile(0.50), 3), "p99_ms": round(quantile(0.99), 3),
           "p999_ms": round(quantile(0.999), 3), "share_within_deadline": round(share_within(deadline_ms), 5),
           "buckets_ms": [[b if b != float("inf") else "+Inf", c] for b, c in buckets]}
print("server-side event lateness (echoes-mock's histogram, %d events): p50 %.2f  p99 %.2f  p99.9 %.2f ms; "
      "%.2f%% written within %.1f ms of their recorded offset: %s"
      % (total, summary["p50_ms"], summary["p99_ms"], summary["p999_ms"],
         100.0 * summary["share_within_deadline"], deadline_ms,
         "met" if summary["share_within_deadline"] >= 0.99 else "MISSED"))
with open(output) as f:
    report = json.load(f)
report["server_event_lateness"] = summary
with open(output, "w") as f:
    json.dump(report, f, indent=2)
PY
echo "written: $output"
succeeded=1
if [[ $fail_on_miss -eq 1 ]] && grep -q '"met": false' "$output"; then exit 3; fi
exit 0
