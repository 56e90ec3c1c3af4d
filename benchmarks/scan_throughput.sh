#!/usr/bin/env bash
# `echoes scan --detector injection` end to end on one thread, in MB/s of input: JSON Lines in
# (a "text" field), one JSON object out per line, written to /dev/null. Issue 10's target: at least
# 200 MB/s. Prints the figure of each run, the median, the input's size, line count and ASCII
# share; asserts nothing.
#
#   benchmarks/scan_throughput.sh                                  # build/release's echoes, 3 runs, 64 MiB
#   benchmarks/scan_throughput.sh --bin build/dev/harness/cli/echoes --runs 5 --mib 16
#   benchmarks/scan_throughput.sh --detector secrets
#
# The input is realistic: prompts of 256 B to 16 KiB (log-uniform sizes), each built by joining
# texts from the benign prompt sets (fixtures/datasets/{gsm8k,fastchat,self_instruct,arena_hard}),
# seeded so every run scans the same bytes. Build from the `release` preset
# (`cmake --preset release && cmake --build build/release --target echoes`); figures from the dev
# preset (debug, no optimisation) mean nothing. The machine's load average is printed beside them.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
bin="$root/build/release/harness/cli/echoes"
runs=3
mib=64
detector=injection

while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --mib) mib="$2"; shift 2 ;;
    --detector) detector="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "scan_throughput.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -x "$bin" ]] || { echo "scan_throughput.sh: no echoes binary at $bin (build it, or pass --bin)" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/echoes_scan_throughput.XXXXXX")"
trap 'rm -rf "$work"' EXIT
input="$work/prompts.jsonl"

python3 - "$root/fixtures/datasets" "$input" "$mib" <<'PY'
import json, math, random, sys
datasets, out, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
texts = []
for name in ["gsm8k", "fastchat", "self_instruct", "arena_hard"]:
    with open(f"{datasets}/{name}/data.jsonl", encoding="utf-8") as f:
        texts += [json.loads(line)["text"] for line in f if line.strip()]
rng = random.Random(20250101)
target, written, lines, ascii_bytes, text_total = mib << 20, 0, 0, 0, 0
with open(out, "w", encoding="utf-8", newline="\n") as f:
    while written < target:
        size = int(math.exp(rng.uniform(math.log(256), math.log(16384))))
        parts, length = [], 0
        while length < size:
            t = rng.choice(texts)
            parts.append(t)
            length += len(t.encode("utf-8")) + 2
        text = "\n\n".join(parts).encode("utf-8")[:size].decode("utf-8", "ignore")
        line = json.dumps({"text": text}, ensure_ascii=False) + "\n"
        raw = line.encode("utf-8")
        f.write(line)
        written += len(raw)
        encoded = text.encode("utf-8")
        ascii_bytes += sum(1 for b in encoded if b < 0x80)
        text_total += len(encoded)
        lines += 1
print(f"input: {written} bytes, {lines} lines, prompts 256 B - 16 KiB, "
      f"ASCII share of the text bytes {ascii_bytes / max(1, text_total):.4f}")
PY

bytes=$(stat -c %s "$input")
echo "binary: $bin"
echo "detector: $detector, threads: 1, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
figures=()
for ((i = 1; i <= runs; i++)); do
  start=$(date +%s.%N)
  "$bin" scan --detector "$detector" --threads 1 "$input" > "$work/out.jsonl"
  end=$(date +%s.%N)
  mbps=$(python3 -c "print(f'{$bytes / ($end - $start) / 1e6:.1f}')")
  figures+=("$mbps")
  echo "run $i: $mbps MB/s ($(wc -l < "$work/out.jsonl") lines out, $(grep -c '"flagged":true' "$work/out.jsonl" || true) flagged)"
done
median=$(printf '%s\n' "${figures[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "echoes scan --detector $detector (1 thread): median $median MB/s over $runs runs (target >= 200 MB/s)"
