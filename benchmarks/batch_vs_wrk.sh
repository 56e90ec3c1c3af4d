#!/usr/bin/env bash
# How close does `echoes batch run` come to the endpoint's own ceiling? Runs wrk (closed loop, as
# fast as it can) and then `echoes batch run` (--rate-limit off) against the same echoes-mock
# endpoint and request body, in the same run, and prints both requests/s and their ratio.
#
#   benchmarks/batch_vs_wrk.sh                           # builds the release preset, 10 s of wrk
#   benchmarks/batch_vs_wrk.sh --bin-dir build/dev -l 5000
#   benchmarks/batch_vs_wrk.sh -c 8 -d 5
#
# wrk uses -c connections on one thread; the batch runner uses --concurrency c. The batch runner's
# requests/s is what it prints: lines sent / the run's wall time, including reading the input,
# committing each line's result to SQLite and writing the output (a batch's real cost), but not
# process start-up. Both share the machine's cores with echoes-mock, so the load average is printed
# beside each figure. Every process it starts is stopped on exit; only 127.0.0.1 is used.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: benchmarks/batch_vs_wrk.sh [options]
  -c, --connections N   wrk connections and batch --concurrency (default 8)
  -d, --duration S      seconds of the wrk run (default 10)
  -l, --lines N         input lines of the batch run (default 20000)
      --bin-dir DIR     folder holding mock_server/echoes-mock and harness/cli/echoes (default: build
                        the release preset into build/release)
  -h, --help            this text
USAGE
}

connections=8
duration=10
lines=20000
bin_dir=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -c|--connections) connections=$2; shift 2 ;;
    -d|--duration) duration=$2; shift 2 ;;
    -l|--lines) lines=$2; shift 2 ;;
    --bin-dir) bin_dir=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "batch_vs_wrk.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
log() { echo "batch_vs_wrk: $*" >&2; }
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
# fixtures/cassettes/chat_completions.json#0 answers this body (mock_server/README.md).
"$mock_bin" --cassettes fixtures/cassettes --port "$port" --host 127.0.0.1 --quiet >"$work/mock.log" 2>&1 &
mock_pid=$!
body='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}]}'
printf '%s' "$body" >"$work/body.json"
deadline=$((SECONDS + 20))
until curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary "@$work/body.json" \
      "http://127.0.0.1:$port/v1/chat/completions"; do
  kill -0 "$mock_pid" 2>/dev/null || die "echoes-mock exited during start-up (log: $work/mock.log)"
  ((SECONDS < deadline)) || die "echoes-mock did not answer within 20 s"
  sleep 0.2
done

# The batch input: the same body on every line, each with its own id (never sent upstream).
python3 - "$lines" "$work/in.jsonl" <<'PY'
import json, sys
count, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as out:
    for i in range(1, count + 1):
        out.write(json.dumps({"id": f"q{i}", "model": "gpt-4o-mini",
                              "messages": [{"role": "user", "content": "Say hello."}]}) + "\n")
PY

load() { cut -d' ' -f1 /proc/loadavg; }

log "warming up echoes-mock (wrk, 2 s)"
wrk -t1 -c "$connections" -d 2s -s benchmarks/wrk/post_json.lua "http://127.0.0.1:$port" -- \
  /v1/chat/completions "$work/body.json" >/dev/null

timeout $((duration + 60)) wrk -t1 -c "$connections" -d "${duration}s" --timeout 5s \
  -s benchmarks/wrk/post_json.lua "http://127.0.0.1:$port" -- /v1/chat/completions "$work/body.json" \
  >"$work/wrk.txt"
wrk_load=$(load)
wrk_rps=$(python3 -c 'import json,sys; l=[x for x in open(sys.argv[1]) if x.startswith("ECHOES_WRK ")]; print(json.loads(l[-1][11:])["rps"])' "$work/wrk.txt")

timeout 600 "$echoes_bin" batch run "$work/in.jsonl" --out "$work/out.jsonl" \
  --base-url "http://127.0.0.1:$port/v1" --rate-limit off --concurrency "$connections" \
  >"$work/batch.txt" 2>&1 || die "echoes batch run failed: $(cat "$work/batch.txt")"
batch_load=$(load)
batch_rps=$(sed -n 's/.*; \([0-9.]*\) requests\/s$/\1/p' "$work/batch.txt" | tail -1)
[[ -n "$batch_rps" ]] || die "no requests/s in the batch output: $(cat "$work/batch.txt")"
answers=$(grep -c '"outcome":"answer"' "$work/out.jsonl" || true)
[[ "$answers" == "$lines" ]] || die "the batch answered $answers of $lines lines"

printf '\nPOST /v1/chat/completions against echoes-mock (%s), %s connections\n' "$(basename "$bin_dir")" "$connections"
printf '  %-36s %12.0f requests/s  (load %s)\n' "wrk -t1 -c$connections -d${duration}s" "$wrk_rps" "$wrk_load"
printf '  %-36s %12.0f requests/s  (load %s)\n' "echoes batch run ($lines lines)" "$batch_rps" "$batch_load"
printf '  %-36s %12.2f\n' "ratio batch / wrk" "$(python3 -c "print($batch_rps / $wrk_rps)")"
