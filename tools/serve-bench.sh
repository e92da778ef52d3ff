#!/usr/bin/env bash
# Serves the demo base with two demo adapters and runs tools/serve-bench.mjs against it (extra arguments go to the
# benchmark, e.g. --concurrency 8 --requests 48 --max-tokens 32). The adapters are trained once into WORK (default
# /tmp/loralab-serve-bench) as the serving tests train theirs. Needs a Release build and Node 20+.
#   tools/serve-bench.sh [--concurrency 8 ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
loralab=(dotnet "$root/src/LoraLab.Cli/bin/Release/net10.0/loralab.dll")
work=${WORK:-/tmp/loralab-serve-bench}
train() { # NAME FLAGS...: a short deterministic LoRA run on the demo, skipped when its adapter exists
  local out=$work/$1; shift
  [[ -f $out/adapter/adapter_config.json ]] && return
  rm -rf "$out"
  "${loralab[@]}" train --model "$root/assets/demo-base" --data "$root/assets/demo-data/train.json" --out "$out" \
    --lora-dropout 0 --stop-rate-prompts 0 --max-steps 40 "$@" >/dev/null
}
mkdir -p "$work"
train first --seed 1 --lr 3e-3
train second --seed 2 --lr 5e-3 --targets qv

# SERVE_ARGS: more serve flags, e.g. SERVE_ARGS="--threads 1"
"${loralab[@]}" serve --model "$root/assets/demo-base" --template alpaca --port 0 --max-batch 8 \
  --adapter "first=$work/first/adapter" --adapter "second=$work/second/adapter" ${SERVE_ARGS:-} >"$work/serve.out" 2>"$work/serve.err" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 600); do
  url=$(sed -n 's/^serving on //p' "$work/serve.out")
  [[ -n $url ]] && break
  kill -0 $server 2>/dev/null || { cat "$work/serve.err" >&2; exit 1; }
  sleep 0.1
done
[[ -n $url ]] || { echo "the server did not start within 60 s" >&2; exit 1; }
node "$root/tools/serve-bench.mjs" --url "$url" --models demo-base,first,second "$@"
