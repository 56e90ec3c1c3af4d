#!/usr/bin/env bash
# Is the load generator the bottleneck? Runs wrk (closed loop, as fast as it can) and then
# `echoes load --profile raw` (open loop) at rising target rates against the same echoes-mock
# endpoint and request, in the same run, and prints echoes load's achieved requests/s as a ratio of
# wrk's. Target (issue 11): at least 0.70 at the best rate.
#
#   benchmarks/load_vs_wrk.sh                          # builds the release preset, 10 s per run
#   benchmarks/load_vs_wrk.sh -d 5 --fractions 0.5,1.0,1.5
#   benchmarks/load_vs_wrk.sh --bin-dir build/release  # use binaries already built
#
# wrk and echoes load use the same number of connections (-c) and one thread each (wrk -t1;
# echoes load's raw profile is one Asio event loop). Both share the machine's cores with
# echoes-mock, so the load average and the hypervisor's steal are printed beside every run; the
# figures are only as good as the machine is quiet. Every process it starts is stopped on exit;
# every wait is bounded; only 127.0.0.1 is used.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: benchmarks/load_vs_wrk.sh [options]
  -c, --connections N   connections for wrk and echoes load (default 16)
  -d, --duration S      seconds of each measured run (default 10)
      --fractions LIST  target rates for echoes load as fractions of wrk's rate (default 0.5,0.8,1.0,1.3)
      --bin-dir DIR     folder holding mock_server/echoes-mock and harness/cli/echoes (default: build
                        the release preset into build/release)
  -h, --help            this text
USAGE
}

connections=16
duration=10
fractions="0.5,0.8,1.0,1.3"
bin_dir=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -c|--connections) connections=$2; shift 2 ;;
    -d|--duration) duration=$2; shift 2 ;;
    --fractions) fractions=$2; shift 2 ;;
    --bin-dir) bin_dir=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "load_vs_wrk.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
log() { echo "load_vs_wrk: $*" >&2; }
die() { log "$*"; exit 1; }

command -v wrk >/dev/null || die "wrk is missing (scripts/bootstrap --bench installs it)"
command -v python3 >/dev/null || die "python3 is missing"

if [[ -z "$bin_dir" ]]; then
  log "building echoes and echoes-mock (release preset)"
  cmake --preset release >/dev/null || die "cmake --preset release failed"
  cmake --build --preset release --target echoes echoes-mock -j "$(nproc)" >&2 || die "the release build failed"
  bin_dir="$root/build/release"
fi
mock_bin="$bin_dir/mock_server/echoes-mock"
echoes_bin="$bin_dir/harness/cli/echoes"
[[ -x "$mock_bin" ]] || die "not executable: $mock_bin"
[[ -x "$echoes_bin" ]] || die "not executable: $echoes_bin"

work=$(mktemp -d)
mock_pid=""
cleanup() {
  if [[ -n "$mock_pid" ]]; then kill -TERM "$mock_pid" 2>/dev/null || true; wait "$mock_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$mock_bin" --cassettes fixtures/cassettes/safety --port "$port" --host 127.0.0.1 --quiet >"$work/mock.log" 2>&1 &
mock_pid=$!
body='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is the capital of France?"}]}'
printf '%s' "$body" >"$work/body.json"
deadline=$((SECONDS + 20))
until curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary "@$work/body.json" \
      "http://127.0.0.1:$port/v1/chat/completions"; do
  kill -0 "$mock_pid" 2>/dev/null || die "echoes-mock exited during start-up (log: $work/mock.log)"
  ((SECONDS < deadline)) || die "echoes-mock did not answer within 20 s"
  sleep 0.2
done

# steal ticks and load average, for the conditions column.
steal_ticks() { awk '/^cpu / {print $9}' /proc/stat; }
total_ticks() { awk '/^cpu / {s=0; for (i=2;i<=NF;i++) s+=$i; print s}' /proc/stat; }
conditions() {  # conditions STEAL0 TOTAL0: "load 1.23, steal 0.4%"
  local s1 t1
  s1=$(steal_ticks); t1=$(total_ticks)
  awk -v s="$((s1 - $1))" -v t="$((t1 - $2))" -v l="$(cut -d' ' -f1 /proc/loadavg)" \
    'BEGIN { printf "load %s, steal %.1f%%", l, (t > 0 ? 100 * s / t : 0) }'
}

log "warming up echoes-mock (wrk, 3 s)"
wrk -t1 -c "$connections" -d 3s -s benchmarks/wrk/post_json.lua "http://127.0.0.1:$port" -- \
  /v1/chat/completions "$work/body.json" >/dev/null

s0=$(steal_ticks); t0=$(total_ticks)
timeout $((duration + 60)) wrk -t1 -c "$connections" -d "${duration}s" --timeout 5s \
  -s benchmarks/wrk/post_json.lua "http://127.0.0.1:$port" -- /v1/chat/completions "$work/body.json" \
  >"$work/wrk.txt"
wrk_conditions=$(conditions "$s0" "$t0")
wrk_rps=$(python3 -c 'import json,sys; l=[x for x in open(sys.argv[1]) if x.startswith("ECHOES_WRK ")]; print(json.loads(l[-1][11:])["rps"])' "$work/wrk.txt")
printf '\nwrk -t1 -c%s -d%ss POST /v1/chat/completions against echoes-mock (%s)\n' "$connections" "$duration" "$wrk_conditions"
printf '  wrk: %.0f requests/s\n\n' "$wrk_rps"
printf '%-22s %12s %12s %10s %10s  %s\n' "echoes load --profile raw" "target/s" "achieved/s" "ratio" "p99 ms" "conditions"
best=0
IFS=',' read -r -a parts <<<"$fractions"
for f in "${parts[@]}"; do
  rate=$(python3 -c "print(max(1, round($wrk_rps * $f)))")
  s0=$(steal_ticks); t0=$(total_ticks)
  timeout $((duration + 120)) "$echoes_bin" load --profile raw --base-url "http://127.0.0.1:$port/v1" \
    --rate "$rate" --duration "${duration}s" --warmup 2s --connections "$connections" \
    --out "$work/raw_$rate" >"$work/raw_$rate.txt" 2>&1 || die "echoes load failed: $(cat "$work/raw_$rate.txt")"
  cond=$(conditions "$s0" "$t0")
  read -r achieved p99 errors < <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["achieved_rps"], s["latency_ms"]["p99"], s["outcomes"]["error"])' "$work/raw_$rate/summary.json")
  ratio=$(python3 -c "print(f'{$achieved / $wrk_rps:.2f}')")
  best=$(python3 -c "print(max($best, $ratio))")
  printf '  %-20s %12s %12.0f %10s %10.2f  %s%s\n' "x$f" "$rate" "$achieved" "$ratio" "$p99" "$cond" \
    "$([[ "$errors" != 0 ]] && echo ", $errors errors")"
done
printf '\nbest ratio echoes load / wrk: %s (target >= 0.70)\n' "$best"
