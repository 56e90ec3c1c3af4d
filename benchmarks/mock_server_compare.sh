#!/usr/bin/env bash
# Compares echoes-mock with WireMock and nginx serving the same recorded chat completion, driven
# by wrk with the same threads, connections and request, and checks the targets of the mock
# server (issue 3, "Performance"):
#   echoes req/s >= 1.5x WireMock's, echoes p99 <= WireMock's p99 / 3, echoes req/s >= 0.5x nginx's.
#
#   benchmarks/mock_server_compare.sh                     # wrk -t1 -c32 -d10s, 3 interleaved runs
#   benchmarks/mock_server_compare.sh -c 64 -d 20 --runs 5
#   benchmarks/mock_server_compare.sh --servers echoes,nginx --echoes-bin build/dev/mock_server/echoes-mock
#   benchmarks/mock_server_compare.sh -- --threads 64     # arguments after -- go to echoes-mock
#
# It installs what is missing (scripts/bootstrap --bench; the `wiremock` npm package, which ships
# the standalone jar, into build/bench-tools/), builds echoes-mock from the `release` preset,
# starts the three servers on 127.0.0.1, checks that all three answer the request with the same
# body bytes, warms each up, measures, prints requests/s, p50, p99 and the ratios, and writes
# them as JSON to reports/bench/mock_server_compare.json. Every server it starts is stopped when it
# exits (also on Ctrl-C); every wait is bounded. Only loopback addresses are used.
#
# The figures are only as good as the machine is quiet: wrk and the server share the cores, so the
# script records the load average next to each run and reports the median over the runs.
set -euo pipefail

readonly WIREMOCK_VERSION=3.13.2

usage() {
  cat <<'EOF'
usage: benchmarks/mock_server_compare.sh [options] [-- echoes-mock arguments]
  -t, --threads N          wrk threads (default 1)
  -c, --connections N      wrk connections (default 32)
  -d, --duration S         seconds of each measured wrk run (default 10)
      --runs N             measured runs per server, interleaved; the median is reported (default 3)
      --warmup S           seconds of wrk load before the first measurement, echoes-mock and nginx (default 5)
      --wiremock-warmup S  the same for WireMock, whose JIT needs longer (default 30)
      --servers LIST       comma-separated subset of echoes,wiremock,nginx (default all three)
      --echoes-bin PATH    use this echoes-mock binary instead of building the release preset
      --cassettes DIR      cassette folder for echoes-mock (default fixtures/cassettes)
      --request FILE       the JSON body to POST (default: the first recorded non-streaming chat
                           completion found in the cassettes)
      --path PATH          the request path (default /v1/chat/completions)
      --nginx-workers N    nginx worker_processes (default auto)
      --echoes-log         keep echoes-mock's per-request log line (default --quiet, as nginx runs
                           with access_log off and WireMock without --verbose)
      --output FILE        JSON report (default reports/bench/mock_server_compare.json)
      --no-install         do not install anything; fail if a tool is missing
      --fail-on-miss       exit 3 when a target is missed (default: report only)
  -h, --help               this text
EOF
}

threads=1
connections=32
duration=10
runs=3
warmup=5
wiremock_warmup=30
servers="echoes,wiremock,nginx"
echoes_bin=""
cassettes=""
request_file=""
request_path="/v1/chat/completions"
nginx_workers="auto"
output=""
install=1
fail_on_miss=0
echoes_log=0
echoes_args=()

need_value() { [[ $# -ge 2 && -n "$2" ]] || { echo "mock_server_compare: $1 needs a value" >&2; exit 2; }; }
need_number() {
  [[ "$2" =~ ^[0-9]+$ && "$2" -gt 0 ]] || { echo "mock_server_compare: $1 needs a positive integer, got '$2'" >&2; exit 2; }
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    -t|--threads) need_value "$@"; need_number "$1" "$2"; threads=$2; shift 2 ;;
    -c|--connections) need_value "$@"; need_number "$1" "$2"; connections=$2; shift 2 ;;
    -d|--duration) need_value "$@"; need_number "$1" "${2%s}"; duration=${2%s}; shift 2 ;;
    --runs) need_value "$@"; need_number "$1" "$2"; runs=$2; shift 2 ;;
    --warmup) need_value "$@"; need_number "$1" "${2%s}"; warmup=${2%s}; shift 2 ;;
    --wiremock-warmup) need_value "$@"; need_number "$1" "${2%s}"; wiremock_warmup=${2%s}; shift 2 ;;
    --servers) need_value "$@"; servers=$2; shift 2 ;;
    --echoes-bin) need_value "$@"; echoes_bin=$2; shift 2 ;;
    --cassettes) need_value "$@"; cassettes=$2; shift 2 ;;
    --request) need_value "$@"; request_file=$2; shift 2 ;;
    --path) need_value "$@"; request_path=$2; shift 2 ;;
    --nginx-workers) need_value "$@"; nginx_workers=$2; shift 2 ;;
    --output) need_value "$@"; output=$2; shift 2 ;;
    --no-install) install=0; shift ;;
    --fail-on-miss) fail_on_miss=1; shift ;;
    --echoes-log) echoes_log=1; shift ;;
    --) shift; echoes_args=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) echo "mock_server_compare: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$connections" -ge "$threads" ]] || { echo "mock_server_compare: --connections must be >= --threads" >&2; exit 2; }
IFS=',' read -r -a server_list <<<"$servers"
for s in "${server_list[@]}"; do
  case "$s" in echoes|wiremock|nginx) ;; *) echo "mock_server_compare: unknown server '$s' in --servers" >&2; exit 2 ;; esac
done
wants() { [[ ",$servers," == *",$1,"* ]]; }

# Resolve user-given paths before moving to the source root.
abs() { [[ -z "$1" || "$1" == /* ]] && printf '%s' "$1" || printf '%s/%s' "$PWD" "$1"; }
echoes_bin=$(abs "$echoes_bin"); cassettes=$(abs "$cassettes"); request_file=$(abs "$request_file")
output=$(abs "$output")
cd "$(dirname "$0")/.."
root=$PWD
[[ -n "$cassettes" ]] || cassettes="$root/fixtures/cassettes"
[[ -n "$output" ]] || output="$root/reports/bench/mock_server_compare.json"
lua_script="$root/benchmarks/wrk/post_json.lua"
tools_dir="$root/build/bench-tools"
mkdir -p "$tools_dir" "$(dirname "$output")"

log() { printf '[compare] %s\n' "$*" >&2; }
die() { printf 'mock_server_compare: %s\n' "$*" >&2; exit 1; }

# One benchmark at a time on this machine (this script or mock_sse_soak.sh): two would measure
# each other. The lock also covers the build, which would disturb a measurement as much.
exec {lock_fd}>"$tools_dir/benchmark.lock"
if ! flock -n "$lock_fd"; then
  log "another benchmark holds build/bench-tools/benchmark.lock; waiting for it (at most 15 min)"
  flock -w 900 "$lock_fd" || die "the other benchmark did not finish within 15 min"
fi
# This run's files (generated configs, logs, wrk output); removed after a successful run.
work=$(mktemp -d "$tools_dir/compare.XXXXXX")
succeeded=0

# ---------------------------------------------------------------------------------------------
# Servers started by this script, stopped on every exit path.
declare -A server_pid=()
wrk_pid=""
# shellcheck disable=SC2317  # stop_server and cleanup run from the EXIT trap
stop_server() {
  local name=$1 pid=${server_pid[$1]:-}
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) ignored SIGTERM for 5 s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
  unset "server_pid[$name]"
}
# shellcheck disable=SC2317
cleanup() {
  local name
  trap - EXIT
  if [[ -n "$wrk_pid" ]]; then kill -TERM "$wrk_pid" 2>/dev/null || true; wait "$wrk_pid" 2>/dev/null || true; fi
  for name in "${!server_pid[@]}"; do stop_server "$name"; done
  if [[ $succeeded -eq 1 ]]; then rm -rf "$work"; else log "this run's files are kept in $work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Tools. scripts/bootstrap --bench installs Debian's packages; where a machine already has a tool
# from elsewhere (e.g. nodejs with its own npm, which conflicts with Debian's npm package) the
# bootstrap can fail, so only the packages for the commands still missing are installed then.
nginx_cmd=$(command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true)
ensure_tools() {
  local -A package_of=([wrk]=wrk [nginx]=nginx-light [java]=default-jre-headless [npm]=npm
                       [python3]=python3 [cmake]=cmake)
  local missing=() cmd
  for cmd in wrk python3 cmake; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
  wants nginx && [[ -z "$nginx_cmd" ]] && missing+=(nginx)
  if wants wiremock; then
    for cmd in java npm; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
  fi
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ $install -eq 1 ]] || die "missing tools: ${missing[*]} (run scripts/bootstrap --bench)"
  log "missing tools: ${missing[*]}; running scripts/bootstrap --bench"
  if ! scripts/bootstrap --bench; then
    local packages=()
    for cmd in "${missing[@]}"; do command -v "$cmd" >/dev/null || packages+=("${package_of[$cmd]}"); done
    if [[ ${#packages[@]} -gt 0 ]]; then
      log "scripts/bootstrap --bench failed; installing only ${packages[*]}"
      local sudo=()
      [[ $(id -u) -eq 0 ]] || sudo=(sudo)
      DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${packages[@]}" || die "could not install ${packages[*]}"
    fi
  fi
  nginx_cmd=$(command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true)
  for cmd in "${missing[@]}"; do
    if [[ "$cmd" == nginx ]]; then [[ -n "$nginx_cmd" ]] || die "nginx is still missing"
    else command -v "$cmd" >/dev/null || die "$cmd is still missing"; fi
  done
}
ensure_tools

wiremock_jar=""
if wants wiremock; then
  npm_dir="$tools_dir/npm"
  wiremock_jar="$npm_dir/node_modules/wiremock/build/wiremock-standalone-$WIREMOCK_VERSION.jar"
  if [[ ! -f "$wiremock_jar" ]]; then
    [[ $install -eq 1 ]] || die "WireMock jar missing: $wiremock_jar"
    log "installing the wiremock@$WIREMOCK_VERSION npm package into build/bench-tools/npm"
    mkdir -p "$npm_dir"
    timeout 300 npm install --prefix "$npm_dir" --no-audit --no-fund --no-save --loglevel=error \
      "wiremock@$WIREMOCK_VERSION" >&2 || die "npm install wiremock@$WIREMOCK_VERSION failed"
    [[ -f "$wiremock_jar" ]] || die "the wiremock package did not ship $wiremock_jar"
  fi
fi

if wants echoes && [[ -z "$echoes_bin" ]]; then
  log "building echoes-mock (release preset)"
  cmake --preset release >/dev/null || die "cmake --preset release failed"
  cmake --build --preset release --target echoes-mock -j "$(nproc)" >&2 || die "building echoes-mock failed"
  echoes_bin=$(find "$root/build/release" -type f -name echoes-mock -perm -u+x -print -quit)
  [[ -n "$echoes_bin" ]] || die "echoes-mock not found under build/release after the build"
fi
if wants echoes; then [[ -x "$echoes_bin" ]] || die "echoes-mock binary not executable: $echoes_bin"; fi

# ---------------------------------------------------------------------------------------------
# The request: given, or the first recorded non-streaming chat completion in the cassettes.
request_body="$work/request.json"
if [[ -n "$request_file" ]]; then
  [[ -f "$request_file" ]] || die "--request: no such file: $request_file"
  cp "$request_file" "$request_body"
else
  [[ -d "$cassettes" ]] || die "--cassettes: no such folder: $cassettes"
  python3 - "$cassettes" "$request_path" "$request_body" <<'PY' || die "no recorded non-streaming POST $request_path with status 200 in $cassettes (pass --request FILE)"
import glob, json, os, sys

folder, path, out = sys.argv[1], sys.argv[2], sys.argv[3]

def interactions(node):
    """Every object holding a request and a response, wherever the cassette nests them."""
    if isinstance(node, dict):
        if isinstance(node.get("request"), dict) and isinstance(node.get("response"), dict):
            yield node
        for value in node.values():
            yield from interactions(value)
    elif isinstance(node, list):
        for value in node:
            yield from interactions(value)

def as_json(body):
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return None
    return body

for name in sorted(glob.glob(os.path.join(folder, "*.json"))):
    try:
        with open(name, "rb") as f:
            cassette = json.load(f)
    except (OSError, ValueError):
        continue
    for interaction in interactions(cassette):
        request, response = interaction["request"], interaction["response"]
        if str(request.get("method", "")).upper() != "POST" or request.get("path") != path:
            continue
        body = as_json(request.get("body"))
        if not isinstance(body, dict) or body.get("stream"):
            continue
        if response.get("status", 200) != 200 or response.get("stream") or interaction.get("faults"):
            continue
        with open(out, "w") as f:
            json.dump(body, f, separators=(",", ":"))
        print(f"[compare] request from {os.path.relpath(name)}", file=sys.stderr)
        sys.exit(0)
sys.exit(1)
PY
fi

# ---------------------------------------------------------------------------------------------
# HTTP helpers (python3 is a build dependency; curl is not).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# fetch PORT OUT_PREFIX: POSTs the request once; writes OUT_PREFIX.body and OUT_PREFIX.headers
# (JSON object of lower-cased names); prints the status, or 0 when nothing answered.
fetch() {
  python3 - "$1" "$request_path" "$request_body" "$2" <<'PY'
import http.client, json, sys
port, path, body_file, prefix = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
with open(body_file, "rb") as f:
    body = f.read()
try:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("POST", path, body=body, headers={
        "Content-Type": "application/json", "Authorization": "Bearer sk-echoes-benchmark"})
    response = conn.getresponse()
    data = response.read()
except OSError:
    print(0)
    sys.exit(0)
with open(prefix + ".body", "wb") as f:
    f.write(data)
with open(prefix + ".headers", "w") as f:
    json.dump({k.lower(): v for k, v in response.getheaders()}, f)
print(response.status)
PY
}
# wait_ready NAME PORT SECONDS: polls until the server answers the request with 200.
wait_ready() {
  local name=$1 port=$2 limit=$3 status deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    kill -0 "${server_pid[$name]}" 2>/dev/null || die "$name exited during start-up (log: $work/$name.log)"
    status=$(fetch "$port" "$work/$name.probe")
    [[ "$status" == 200 ]] && return 0
    [[ "$status" != 0 ]] && die "$name answered $status to the request (log: $work/$name.log; body: $work/$name.probe.body)"
    sleep 0.2
  done
  die "$name did not answer within $limit s (log: $work/$name.log)"
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# CPU accounting, so that a run on a busy machine can be told apart from a slow server.
# server_cpu_ticks PID: user+system ticks of the process, all its threads and its child processes
# (nginx's workers).
server_cpu_ticks() {
  local total=0 p stat fields
  for p in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    read -r -a fields <<<"${stat##*) }"   # fields[0] is field 3 (state); utime is field 14
    total=$((total + fields[11] + fields[12]))
  done
  echo "$total"
}
# machine_busy_ticks: ticks all cores spent outside idle and iowait (and steal).
machine_busy_ticks() {
  local _cpu user nice system _idle _iowait irq softirq _rest
  read -r _cpu user nice system _idle _iowait irq softirq _rest </proc/stat
  echo $((user + nice + system + irq + softirq))
}
# machine_steal_ticks: ticks the hypervisor ran something else while a core of this machine wanted
# to run; a run with steal was slowed down by a neighbour outside the machine.
machine_steal_ticks() {
  local _cpu _user _nice _system _idle _iowait _irq _softirq steal _rest
  read -r _cpu _user _nice _system _idle _iowait _irq _softirq steal _rest </proc/stat
  echo "${steal:-0}"
}
# times_cpu_ms FILE: the CPU time of the shell's finished children (wrk, through timeout) in a
# file written by `times >FILE`, which must run in this shell itself, not in a $(...) subshell.
times_cpu_ms() {
  python3 - "$1" <<'PY'
import re, sys
children = open(sys.argv[1]).read().split("\n")[1].split()   # "0m1.234s 0m0.456s"
def ms(t):
    minutes, seconds = re.fullmatch(r"(\d+)m([\d.]+)s", t).groups()
    return int(minutes) * 60000 + float(seconds) * 1000
print(round(sum(ms(t) for t in children)))
PY
}
clock_ticks=$(getconf CLK_TCK)

declare -A server_port=()

# echoes-mock first: its answer is the body the other two serve.
reference=""
if wants echoes; then
  server_port[echoes]=$(free_port)
  log "starting echoes-mock on 127.0.0.1:${server_port[echoes]}"
  [[ $echoes_log -eq 1 ]] || echoes_args=(--quiet "${echoes_args[@]}")
  log "  ${echoes_bin#"$root"/} --cassettes ${cassettes#"$root"/} --port ${server_port[echoes]} --mode replay ${echoes_args[*]}"
  "$echoes_bin" --cassettes "$cassettes" --port "${server_port[echoes]}" --mode replay \
    "${echoes_args[@]}" >"$work/echoes.log" 2>&1 &
  server_pid[echoes]=$!
  wait_ready echoes "${server_port[echoes]}" 30
  fetch "${server_port[echoes]}" "$work/echoes.reference" >/dev/null
  reference="$work/echoes.reference"
else
  # Without echoes-mock, the body comes from the cassette's recorded response.
  [[ -n "$request_file" ]] && die "--request without echoes in --servers: no response body to serve"
  python3 - "$cassettes" "$request_path" "$request_body" "$work/recorded" <<'PY' || die "no recorded response body for the request"
import glob, json, os, sys
folder, path, request_file, prefix = sys.argv[1:5]
with open(request_file) as f:
    wanted = json.load(f)
def interactions(node):
    if isinstance(node, dict):
        if isinstance(node.get("request"), dict) and isinstance(node.get("response"), dict):
            yield node
        for value in node.values():
            yield from interactions(value)
    elif isinstance(node, list):
        for value in node:
            yield from interactions(value)
for name in sorted(glob.glob(os.path.join(folder, "*.json"))):
    try:
        cassette = json.load(open(name, "rb"))
    except (OSError, ValueError):
        continue
    for interaction in interactions(cassette):
        body = interaction["request"].get("body")
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except ValueError:
                continue
        if interaction["request"].get("path") == path and body == wanted:
            response = interaction["response"]
            data = response.get("body")
            text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
            open(prefix + ".body", "w").write(text)
            headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()
                       if isinstance(v, str)}
            headers.setdefault("content-type", "application/json")
            json.dump(headers, open(prefix + ".headers", "w"))
            sys.exit(0)
sys.exit(1)
PY
  reference="$work/recorded"
fi
body_bytes=$(stat -c %s "$reference.body")
# Headers the API sends that the other servers repeat, so that every server writes the same
# response (hop-by-hop and per-server headers are left to each server).
python3 - "$reference.headers" "$work/extra_headers.json" <<'PY'
import json, sys
headers = json.load(open(sys.argv[1]))
keep = {k: v for k, v in headers.items()
        if k.startswith(("x-", "openai-")) and "\n" not in v and "'" not in v and '"' not in v}
json.dump({"content-type": headers.get("content-type", "application/json"), "extra": keep},
          open(sys.argv[2], "w"))
PY

if wants wiremock; then
  server_port[wiremock]=$(free_port)
  mkdir -p "$work/wiremock/mappings" "$work/wiremock/__files"
  python3 - "$request_path" "$request_body" "$reference.body" "$work/extra_headers.json" \
    "$work/wiremock/mappings/chat_completion.json" <<'PY'
import json, sys
path, request_file, body_file, headers_file, out = sys.argv[1:6]
headers = json.load(open(headers_file))
stub = {
    "request": {
        "method": "POST",
        "url": path,
        "bodyPatterns": [{"equalToJson": open(request_file).read()}],
    },
    "response": {
        "status": 200,
        "headers": {"Content-Type": headers["content-type"], **headers["extra"]},
        "body": open(body_file, "rb").read().decode("utf-8"),
    },
}
json.dump(stub, open(out, "w"), indent=2)
PY
  log "starting WireMock $WIREMOCK_VERSION on 127.0.0.1:${server_port[wiremock]}"
  java -jar "$wiremock_jar" --port "${server_port[wiremock]}" --bind-address 127.0.0.1 \
    --root-dir "$work/wiremock" --no-request-journal --disable-banner \
    >"$work/wiremock.log" 2>&1 &
  server_pid[wiremock]=$!
  wait_ready wiremock "${server_port[wiremock]}" 60
fi

if wants nginx; then
  server_port[nginx]=$(free_port)
  prefix="$work/nginx"
  mkdir -p "$prefix/logs" "$prefix/tmp"
  python3 - "$request_path" "$reference.body" "$work/extra_headers.json" "$nginx_workers" \
    "${server_port[nginx]}" "$prefix" "$prefix/nginx.conf" <<'PY'
import json, sys
path, body_file, headers_file, workers, port, prefix, out = sys.argv[1:8]
headers = json.load(open(headers_file))
body = open(body_file, "rb").read().decode("utf-8")
# In a single-quoted nginx string, \\ and \' are escapes and $ starts a variable; $ is written
# through a variable holding "$" so that the served bytes equal the recorded body.
def nginx_string(text):
    return text.replace("\\", "\\\\").replace("'", "\\'").replace("$", "${dollar}")
quoted = nginx_string(body)
add_headers = "".join(f"      add_header {k} '{nginx_string(v)}';\n" for k, v in headers["extra"].items())
open(out, "w").write(f"""# Generated by benchmarks/mock_server_compare.sh: answers the benchmark POST with the
# recorded body, as a static reference point.
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/tmp/body;
  proxy_temp_path {prefix}/tmp/proxy;
  fastcgi_temp_path {prefix}/tmp/fastcgi;
  uwsgi_temp_path {prefix}/tmp/uwsgi;
  scgi_temp_path {prefix}/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 65s;
  client_body_buffer_size 64k;
  geo $dollar {{ default "$"; }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location = {path} {{
      default_type '{headers["content-type"]}';
{add_headers}      return 200 '{quoted}';
    }}
    location / {{ return 404; }}
  }}
}}
""")
PY
  "$nginx_cmd" -t -q -p "$prefix" -c "$prefix/nginx.conf" -g 'daemon off;' 2>"$work/nginx.log" \
    || die "generated nginx config rejected: $(cat "$work/nginx.log")"
  log "starting nginx on 127.0.0.1:${server_port[nginx]}"
  "$nginx_cmd" -p "$prefix" -c "$prefix/nginx.conf" -g 'daemon off;' >>"$work/nginx.log" 2>&1 &
  server_pid[nginx]=$!
  wait_ready nginx "${server_port[nginx]}" 15
fi

# Fairness: every server must send exactly the reference body for the request.
for s in "${server_list[@]}"; do
  [[ "$(fetch "${server_port[$s]}" "$work/$s.check")" == 200 ]] || die "$s stopped answering 200"
  cmp -s "$work/$s.check.body" "$reference.body" ||
    die "$s sent a different body from the reference ($work/$s.check.body vs $reference.body)"
done
log "all servers send the same $body_bytes-byte body"

# ---------------------------------------------------------------------------------------------
# Load. run_wrk NAME SECONDS OUT: one wrk run; OUT gets wrk's text and the ECHOES_WRK line.
run_wrk() {
  local name=$1 seconds=$2 out=$3
  # In the background and waited for, so that a signal to this script runs the trap at once.
  timeout $((seconds + 60)) wrk -t "$threads" -c "$connections" -d "${seconds}s" --timeout 5s \
    -s "$lua_script" "http://127.0.0.1:${server_port[$name]}" -- "$request_path" "$request_body" \
    >"$out" 2>&1 &
  wrk_pid=$!
  wait "$wrk_pid" || die "wrk failed against $name: $(tail -5 "$out")"
  wrk_pid=""
  grep -q '^ECHOES_WRK ' "$out" || die "wrk printed no summary for $name: $(tail -5 "$out")"
}

for s in "${server_list[@]}"; do
  seconds=$warmup
  [[ "$s" == wiremock ]] && seconds=$wiremock_warmup
  log "warming up $s for $seconds s"
  run_wrk "$s" "$seconds" "$work/$s.warmup.txt"
done

results="$work/runs.jsonl"
: >"$results"
count=${#server_list[@]}
for ((run = 1; run <= runs; run++)); do
  # Rotate the order each run so no server always follows the same neighbour.
  for ((i = 0; i < count; i++)); do
    s=${server_list[$(((i + run - 1) % count))]}
    rss_before=$(rss_kib "${server_pid[$s]}")
    server_ticks_before=$(server_cpu_ticks "${server_pid[$s]}")
    busy_before=$(machine_busy_ticks)
    steal_before=$(machine_steal_ticks)
    times >"$work/times.before"
    wall_before=$EPOCHREALTIME
    load=$(cut -d' ' -f1 /proc/loadavg)
    log "run $run/$runs: $s (wrk -t$threads -c$connections -d${duration}s, load $load)"
    run_wrk "$s" "$duration" "$work/$s.run$run.txt"
    busy_ms=$((($(machine_busy_ticks) - busy_before) * 1000 / clock_ticks))
    steal_ms=$((($(machine_steal_ticks) - steal_before) * 1000 / clock_ticks))
    server_ms=$((($(server_cpu_ticks "${server_pid[$s]}") - server_ticks_before) * 1000 / clock_ticks))
    wall_ms=$(((${EPOCHREALTIME/./} - ${wall_before/./}) / 1000))
    times >"$work/times.after"
    wrk_ms=$(($(times_cpu_ms "$work/times.after") - $(times_cpu_ms "$work/times.before")))
    rss_after=$(rss_kib "${server_pid[$s]}")
    kill -0 "${server_pid[$s]}" 2>/dev/null || die "$s died during the run (log: $work/$s.log)"
    summary=$(sed -n 's/^ECHOES_WRK //p' "$work/$s.run$run.txt")
    printf '{"server":"%s","run":%d,"loadavg_1m":%s,"rss_kib_before":%s,"rss_kib_after":%s,"cpu_ms":{"wall":%d,"server":%d,"wrk":%d,"machine_busy":%d,"steal":%d},"wrk":%s}\n' \
      "$s" "$run" "$load" "${rss_before:-0}" "${rss_after:-0}" "$wall_ms" "$server_ms" "$wrk_ms" "$busy_ms" "$steal_ms" \
      "$summary" >>"$results"
  done
done

# ---------------------------------------------------------------------------------------------
# Report.
set +e
python3 - "$results" "$output" "$threads" "$connections" "$duration" "$runs" "$warmup" \
  "$wiremock_warmup" "$request_path" "$body_bytes" "$WIREMOCK_VERSION" "$(nproc)" \
  "$("$nginx_cmd" -v 2>&1 | sed 's/.*nginx\///' || true)" "$servers" "${echoes_args[*]}" \
  "$nginx_workers" <<'PY'
import json, statistics, sys, time
(results, output, threads, connections, duration, runs, warmup, wiremock_warmup, path,
 body_bytes, wiremock_version, cores, nginx_version, servers, echoes_args,
 nginx_workers) = sys.argv[1:17]
rows = [json.loads(line) for line in open(results)]
order = [s for s in servers.split(",")]
def cpu(row):
    """Cores used during the run by the server, by wrk, and by everything else on the machine."""
    ms = row["cpu_ms"]
    wall_ms = ms["wall"]
    return {
        "window_ms": ms["wall"], "server_cpu_ms": ms["server"], "wrk_cpu_ms": ms["wrk"],
        "machine_busy_cpu_ms": ms["machine_busy"],
        "server_cores": round(ms["server"] / wall_ms, 3),
        "wrk_cores": round(ms["wrk"] / wall_ms, 3),
        "other_cores": round(max(0, ms["machine_busy"] - ms["server"] - ms["wrk"]) / wall_ms, 3),
        "steal_cores": round(ms.get("steal", 0) / wall_ms, 3),
        "requests_per_server_cpu_s": round(row["wrk"]["requests"] / (ms["server"] / 1000), 1)
        if ms["server"] else 0,
    }

per_server = {}
for name in order:
    mine = [r for r in rows if r["server"] == name]
    errors = {k: sum(r["wrk"]["errors"][k] for r in mine) for k in mine[0]["wrk"]["errors"]}
    per_server[name] = {
        "runs": [{"run": r["run"], "loadavg_1m": r["loadavg_1m"], "rss_kib_before": r["rss_kib_before"],
                  "rss_kib_after": r["rss_kib_after"], **r["wrk"], **cpu(r)} for r in mine],
        "median": {
            "rps": statistics.median(r["wrk"]["rps"] for r in mine),
            "p50_us": statistics.median(r["wrk"]["p50_us"] for r in mine),
            "p99_us": statistics.median(r["wrk"]["p99_us"] for r in mine),
            "requests_per_server_cpu_s": statistics.median(
                cpu(r)["requests_per_server_cpu_s"] for r in mine),
            "server_cores": statistics.median(cpu(r)["server_cores"] for r in mine),
            "other_cores": statistics.median(cpu(r)["other_cores"] for r in mine),
            "steal_cores": statistics.median(cpu(r)["steal_cores"] for r in mine),
        },
        "errors": errors,
    }

def ratio(a, b):
    return a / b if b else None

targets = []
if "echoes" in per_server and "wiremock" in per_server:
    e, w = per_server["echoes"]["median"], per_server["wiremock"]["median"]
    targets.append({"name": "echoes/wiremock req/s", "value": ratio(e["rps"], w["rps"]),
                    "target": ">= 1.5", "met": ratio(e["rps"], w["rps"]) >= 1.5})
    targets.append({"name": "echoes/wiremock p99", "value": ratio(e["p99_us"], w["p99_us"]),
                    "target": "<= 0.333", "met": e["p99_us"] * 3 <= w["p99_us"]})
if "echoes" in per_server and "nginx" in per_server:
    e, n = per_server["echoes"]["median"], per_server["nginx"]["median"]
    targets.append({"name": "echoes/nginx req/s", "value": ratio(e["rps"], n["rps"]),
                    "target": ">= 0.5", "met": ratio(e["rps"], n["rps"]) >= 0.5})
for t in targets:
    if t["value"] is None:
        t["met"] = False
# Not targets: how the cost of a request compares, which a shared machine disturbs less.
cost_ratios = {
    f"echoes/{other} requests per server CPU-second": ratio(
        per_server["echoes"]["median"]["requests_per_server_cpu_s"],
        per_server[other]["median"]["requests_per_server_cpu_s"])
    for other in ("wiremock", "nginx") if "echoes" in per_server and other in per_server
}

report = {
    "benchmark": "mock_server_compare",
    "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "machine": {"cores": int(cores)},
    "wrk": {"threads": int(threads), "connections": int(connections), "duration_s": int(duration),
            "runs": int(runs), "warmup_s": int(warmup), "wiremock_warmup_s": int(wiremock_warmup)},
    "request": {"method": "POST", "path": path},
    "response_body_bytes": int(body_bytes),
    "versions": {"wiremock": wiremock_version, "nginx": nginx_version},
    "server_settings": {
        "echoes": "--mode replay " + echoes_args,
        "wiremock": "--no-request-journal, one equalToJson stub",
        "nginx": f"worker_processes {nginx_workers}, access_log off, keepalive_requests 1000000",
    },
    "servers": per_server,
    "targets": targets,
    "all_targets_met": all(t["met"] for t in targets) if targets else None,
    "cost_ratios": cost_ratios,
}
with open(output, "w") as f:
    json.dump(report, f, indent=2)
    f.write("\n")

print(f"\nwrk -t{threads} -c{connections} -d{duration}s, POST {path} ({body_bytes}-byte body), "
      f"median of {runs} run(s); {cores} cores shared by wrk and the server")
print(f"{'server':<10} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'srv cores':>9} "
      f"{'req/cpu-s':>9} {'others':>6} {'steal':>5}  runs (req/s @ load)")
for name, data in per_server.items():
    m = data["median"]
    each = " ".join(f"{r['rps']:.0f}@{r['loadavg_1m']:.1f}" for r in data["runs"])
    print(f"{name:<10} {m['rps']:>9.0f} {m['p50_us'] / 1000:>7.2f} {m['p99_us'] / 1000:>7.2f} "
          f"{sum(data['errors'].values()):>6} {m['server_cores']:>9.2f} "
          f"{m['requests_per_server_cpu_s']:>9.0f} {m['other_cores']:>6.2f} "
          f"{m['steal_cores']:>5.2f}  {each}")
print("srv cores: CPU the server used per second of the run; req/cpu-s: requests per CPU-second of "
      "the server; others: cores busy with anything but the server and wrk (noise); steal: cores "
      "the hypervisor gave to other machines while this one wanted them (noise from outside)")
for name, data in per_server.items():
    if sum(data["errors"].values()):
        print(f"WARNING: {name} had errors {data['errors']} (status: answers >= 400); its figures "
              f"do not measure the recorded answer")
if targets:
    print()
    for t in targets:
        value = "n/a" if t["value"] is None else f"{t['value']:.2f}x"
        print(f"{t['name']:<24} {value:>8}  target {t['target']:<9} {'met' if t['met'] else 'MISSED'}")
    for name, value in cost_ratios.items():
        print(f"{name}: {value:.2f}x (information, not a target)" if value else f"{name}: n/a")
print(f"\nwritten: {output}")
sys.exit(0 if report["all_targets_met"] in (True, None) else 3)
PY
status=$?
set -e
if [[ $status -eq 0 || $status -eq 3 ]]; then succeeded=1; fi
if [[ $status -eq 3 ]]; then
  [[ $fail_on_miss -eq 1 ]] && exit 3
  exit 0
fi
exit "$status"
