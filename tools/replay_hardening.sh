#!/usr/bin/env bash
# Replays every case of the hardening issue (#25: what a new user and an attacker found) against a built CLI and
# prints one line per case: its id, the exit code, and the message (or what was observed on disk).
#
#   tools/replay_hardening.sh                      # the Release build of this checkout
#   tools/replay_hardening.sh /path/to/loralab.dll # another build (e.g. one made before a fix)
#
# Every run is bounded: killed past TIMEOUT seconds or past MEM_MB of resident memory, and reported as such.
# Needs root only for the two cases that mount a tmpfs (no space left, read-only); they say so when skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=src/LoraLab.Cli/bin/Release/net10.0
DLL=${1:-$( [ -f $BIN/loralab.dll ] && echo $BIN/loralab.dll || echo $BIN/LoraLab.Cli.dll )}
DLL=$(readlink -f "$DLL")
TIMEOUT=${TIMEOUT:-60}
MEM_MB=${MEM_MB:-3000}
W=$(mktemp -d /tmp/loralab-replay.XXXXXX)
trap 'umount -q $W/full $W/ro 2>/dev/null; rm -rf "$W"' EXIT
export NO_COLOR=1 LORALAB_DEBUG=0
BASE=$ROOT/assets/demo-base
DATA=$ROOT/assets/demo-data/train.json
HELD=$ROOT/assets/demo-data/heldout.json
T=(train --model "$BASE" --data "$DATA" --batch-size 4 --micro-batch-size 4 --max-seq-length 64 --stop-rate-prompts 0 --threads 2)

# run OUT_FILE ARGS...: runs the CLI with the time and memory bounds; sets RC (137 + a note when it was killed).
run() {
  local out=$1; shift
  dotnet "$DLL" "$@" >"$out" 2>&1 </dev/null &
  local pid=$! t0=$SECONDS rss
  KILLED=""
  { while kill -0 $pid 2>/dev/null; do
    rss=$(awk '/VmRSS/{print int($2/1024)}' /proc/$pid/status 2>/dev/null || echo 0)
    if [ "${rss:-0}" -gt "$MEM_MB" ]; then KILLED="killed by the replay at ${rss} MB resident"; kill -9 $pid; fi
    if [ $((SECONDS - t0)) -gt "$TIMEOUT" ]; then KILLED="killed by the replay: still running after ${TIMEOUT} s"; kill -9 $pid; fi
    sleep 0.2
  done
  wait $pid; RC=$?; } 2>/dev/null  # no job-control "Killed" lines
}

# msg FILE: the line a user reads first: an error/warning line, else the last line with words (table borders dropped).
msg() {
  local m
  m=$(tr -d '\000' <"$1" | grep -aE '^(error|internal error|warning|Error|Unhandled|terminate)' | head -1)
  [ -z "$m" ] && m="(no error) $(tr -d '\000' <"$1" | grep -a '[A-Za-z]' | tail -1 | tr -d '│┃║' | tr -s ' ')"
  printf '%s' "$m" | cut -c1-220
}

# case ID DESCRIPTION ARGS...: one CLI run, reported with its first error line.
case_() {
  local id=$1 what=$2; shift 2
  run "$W/out.txt" "$@"
  printf '%-5s rc=%-4s %-44s | %s\n' "$id" "$RC" "$what" "${KILLED:-$(msg "$W/out.txt")}"
}

# note ID DESCRIPTION TEXT: a case judged by what is on disk rather than by a message.
note() { printf '%-5s %-9s %-44s | %s\n' "$1" "" "$2" "$3"; }

echo "# replay of issue 25 against $DLL"
run $W/ad.txt "${T[@]}" --out $W/ad --max-steps 1  # an adapter for the cases that need one
echo "# $(date -u +%FT%TZ), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

# 1. unknown and misspelt flags
case_ 1a "train --learning-rate 1e-4" "${T[@]}" --out $W/1a --max-steps 1 --learning-rate 1e-4
[ -f $W/1a/run.yaml ] && note 1a "" "run.yaml $(grep -E '^lr:' $W/1a/run.yaml)"
case_ 1b "train --max-step 1" "${T[@]}" --out $W/1b --max-step 1
[ -f $W/1b/metrics.jsonl ] && note 1b "" "train steps logged: $(grep -c '"train"' $W/1b/metrics.jsonl)"
case_ 1c "generate --max-new-token 2" generate --model "$BASE" --prompt "Repeat the word twice." --max-new-token 2 --temperature 0
case_ 1d "params --rnk 8" params --arch llama-2-7b --rnk 8

# 2. no lock on --out
dotnet "$DLL" "${T[@]}" --out $W/2 --max-steps 6 --save-every 2 --seed 1 >$W/2a.txt 2>&1 </dev/null & p1=$!
sleep 0.3
dotnet "$DLL" "${T[@]}" --out $W/2 --max-steps 6 --save-every 2 --seed 7 >$W/2b.txt 2>&1 </dev/null & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
printf '%-5s rc=%-4s %-44s | %s\n' 2a "$r1/$r2" "two trains on one --out, 0.3 s apart" "first: $(msg $W/2a.txt) / second: $(msg $W/2b.txt)"
[ -f $W/2/run.yaml ] && note 2a "" "run.yaml in the folder says $(grep -E '^seed:' $W/2/run.yaml)"
dotnet "$DLL" "${T[@]}" --out $W/2o --max-steps 8 --save-every 2 --seed 1 >$W/2c.txt 2>&1 </dev/null & p1=$!
for _ in $(seq 50); do [ -f $W/2o/run.yaml ] && break; sleep 0.1; done
run $W/2d.txt "${T[@]}" --out $W/2o --max-steps 2 --seed 7 --overwrite
wait $p1
printf '%-5s rc=%-4s %-44s | %s\n' 2b "$RC" "--overwrite into a live run's folder" "$(msg $W/2d.txt)"

# 3. merge --out <the adapter folder> --overwrite
run $W/3t.txt "${T[@]}" --out $W/3 --max-steps 1
case_ 3 "merge --out <adapter> --overwrite" merge --model "$BASE" --adapter $W/3/adapter --out $W/3/adapter --overwrite
note 3 "" "adapter_model.safetensors still there: $([ -f $W/3/adapter/adapter_model.safetensors ] && echo yes || echo NO)"

# 4. unbounded memory
case_ 4a "train --r 100000" "${T[@]}" --out $W/4a --max-steps 1 --r 100000
case_ 4b "train --r 300 (layers are 192 wide)" "${T[@]}" --out $W/4b --max-steps 1 --r 300
mkdir -p $W/4c && cp $BASE/* $W/4c/ && sed -i 's/"num_hidden_layers": 4/"num_hidden_layers": 1000000000/' $W/4c/config.json
case_ 4c "num_hidden_layers: 1000000000" generate --model $W/4c --prompt hi --max-new-tokens 1
for f in config.json tokenizer.json tokenizer_config.json; do
  mkdir -p $W/4d-$f && cp $BASE/* $W/4d-$f/ && ln -sf /dev/zero $W/4d-$f/$f
  case_ 4d "$f -> /dev/zero" generate --model $W/4d-$f --prompt hi --max-new-tokens 1
done
mkdir -p $W/4e && cp $W/ad/adapter/* $W/4e/ && ln -sf /dev/zero $W/4e/adapter_config.json
case_ 4e "adapter_config.json -> /dev/zero" generate --model "$BASE" --adapter $W/4e --prompt hi --max-new-tokens 1
python3 - "$W/4f.jsonl" <<'EOF' 2>/dev/null || { printf '{"instruction":"x","input":"","output":"%s"}\n' "$(head -c 200000000 /dev/zero | tr '\0' a)" > $W/4f.jsonl; }
import sys
with open(sys.argv[1], "w") as f:
    f.write('{"instruction":"x","input":"","output":"' + "a" * 200_000_000 + '"}\n')
EOF
case_ 4f "200 MB single JSONL line" "${T[@]}" --data $W/4f.jsonl --out $W/4f --max-steps 1
rm -f $W/4f.jsonl

# 5. native crashes and hangs from flags
case_ 5a "--threads 0" generate --model "$BASE" --prompt hi --max-new-tokens 1 --threads 0
case_ 5b "--threads -3" generate --model "$BASE" --prompt hi --max-new-tokens 1 --threads -3
TIMEOUT=20 case_ 5c "--threads 100000" generate --model "$BASE" --prompt hi --max-new-tokens 1 --threads 100000

# 6. internal errors where the user made the mistake
mkdir -p $W/6a && cp $BASE/config.json $BASE/model.safetensors $W/6a/
cp $ROOT/../shared/fixtures/llama2-tokenizer/tokenizer.model $W/6a/ 2>/dev/null || cp $BASE/tokenizer.json $W/6a/
case_ 6a "32k tokenizer on a 1115-row embedding" "${T[@]}" --model $W/6a --out $W/6a-run --max-steps 1
case_ 6b "--lr NaN" "${T[@]}" --out $W/6b --max-steps 1 --lr NaN
note 6b "" "left behind in --out: $(ls -A $W/6b 2>/dev/null | tr '\n' ' ')"
printf 'lr: .inf\n' > $W/6c.yaml
case_ 6c "YAML lr: .inf" "${T[@]}" --config $W/6c.yaml --out $W/6c --max-steps 1
run $W/6d0.txt "${T[@]}" --out $W/6d --max-steps 2 --save-every 1
ck=$(ls -d $W/6d/checkpoints/step-* 2>/dev/null | head -1)
if [ -n "$ck" ]; then
  cp -r $W/6d $W/6e
  truncate -s 100 $ck/optimizer.bin
  case_ 6d "resume with a truncated optimizer.bin" "${T[@]}" --out $W/6d --max-steps 2 --resume $ck
  ck2=${ck/\/6d\//\/6e\/}; head -c 4096 /dev/urandom > $ck2/optimizer.bin
  case_ 6e "resume with a garbage optimizer.bin" "${T[@]}" --out $W/6e --max-steps 2 --resume $ck2
fi
mkdir -p $W/full $W/ro
if mount -t tmpfs -o size=1m tmpfs $W/full 2>/dev/null; then
  case_ 6f "no space left on device" "${T[@]}" --out $W/full/run --max-steps 2 --save-every 1
  umount -q $W/full
else note 6f "" "skipped: mounting a tmpfs needs root"; fi
if mount -t tmpfs -o size=1m,ro tmpfs $W/ro 2>/dev/null; then
  case_ 6g "read-only folder" "${T[@]}" --out $W/ro/run --max-steps 1
  umount -q $W/ro
else note 6g "" "skipped: mounting a tmpfs needs root"; fi
echo x > $W/afile
case_ 6h "--out under a file" "${T[@]}" --out $W/afile/run --max-steps 1
printf 'r: [1, 2]\n' > $W/6i.yaml
case_ 6i "YAML r: [1,2]" "${T[@]}" --config $W/6i.yaml --out $W/6i --max-steps 1
case_ 6j "--r abc" "${T[@]}" --out $W/6j --max-steps 1 --r abc
printf 'learning_rate: 0.001\n' > $W/6k.yaml
case_ 6k "unknown YAML key" "${T[@]}" --config $W/6k.yaml --out $W/6k --max-steps 1

# 7. resume
run $W/7.txt "${T[@]}" --out $W/7 --max-steps 6 --save-every 2 --seed 3
cp -r $W/7 $W/7a; rm -rf $W/7a/checkpoints/step-000006 $W/7a/adapter  # as if killed after step 5
case_ 7a "--resume RUN_DIR alone (killed at step 5)" train --resume $W/7a
case_ 7b "resume with a different seed" "${T[@]}" --out $W/7 --max-steps 6 --seed 9 --resume $W/7/checkpoints/step-000004
cp -r $W/7 $W/7c 2>/dev/null; rm -rf $W/7c/checkpoints/step-000006 $W/7c/adapter
case_ 7c "resume after a kill at step 6 (checkpoint 4)" "${T[@]}" --out $W/7c --max-steps 6 --save-every 2 --seed 3 --resume $W/7c/checkpoints/step-000004
note 7c "" "train rows for step 5 in metrics.jsonl: $(grep '"train"' $W/7c/metrics.jsonl 2>/dev/null | grep -c '"step":5[,}]')"
TIMEOUT=600 run $W/7d0.txt "${T[@]}" --out $W/7d --epochs 2 --max-seq-length 64 --save-every 10 --seed 3 --batch-size 16
steps=$(grep -c '"train"' $W/7d/metrics.jsonl 2>/dev/null)
el() { grep -a '"type":"epoch"' "$1" 2>/dev/null | grep -a '"epoch":1,' | grep -oE '"train_loss":[0-9.eE+-]+' | tail -1; }  # the last: a log that is not cut back on resume holds both
cp -r $W/7d $W/7e 2>/dev/null; rm -rf $W/7e/adapter; for c in $W/7e/checkpoints/step-*; do n=${c##*-}; [ $((10#$n)) -gt 10 ] && rm -rf "$c"; done
TIMEOUT=600 run $W/7e.txt "${T[@]}" --out $W/7e --epochs 2 --save-every 10 --seed 3 --batch-size 16 --resume $W/7e/checkpoints/step-000010
note 7e "epoch-1 train loss, uninterrupted vs resumed" "$(el $W/7d/metrics.jsonl) vs $(el $W/7e/metrics.jsonl) ($steps steps)"
# a background job of a script starts with SIGINT ignored (and so does all of a replay run in the background):
# give the CLI the default disposition, as a terminal's Ctrl-C would find it
env --default-signal=INT dotnet "$DLL" "${T[@]}" --out $W/7f --max-steps 400 --save-every 50 >$W/7f.txt 2>&1 </dev/null & p=$!
for _ in $(seq 300); do grep -q 'step 2/' $W/7f.txt 2>/dev/null && break; sleep 0.1; done
kill -INT $p; wait $p; r=$?
printf '%-5s rc=%-4s %-44s | %s\n' 7f "$r" "Ctrl-C" "$(grep -aiE 'resume' $W/7f.txt | head -1 | cut -c1-200)"
mkdir -p $W/7c/checkpoints/.step-000002.tmp-999999 $W/7c/.adapter.tmp-999999
run $W/7g.txt "${T[@]}" --out $W/7c --max-steps 8 --save-every 2 --seed 3 --resume $W/7c/checkpoints/step-000006 --allow-config-change
note 7g "stale .tmp-PID folders after a new run" "left: $(find $W/7c -name '*.tmp-999999' | sed "s|$W/||" | tr '\n' ' ' | grep . || echo none)"
mkdir -p $W/7h-data; echo '{"instruction":"a","input":"","output":""}' > $W/7h-data/empty.jsonl
case_ 7h "run failing before step 1" "${T[@]}" --data $W/7h-data/empty.jsonl --out $W/7h --max-steps 1
note 7h "" "left behind in --out: $(ls -A $W/7h 2>/dev/null | tr '\n' ' ')"

# 8. NaN / Inf weights
mkdir -p $W/8 && cp $BASE/* $W/8/
python3 - $W/8/model.safetensors <<'EOF' 2>/dev/null
import json, struct, sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
name = sorted(k for k in h if k.endswith("mlp.up_proj.weight"))[0]; s = h[name]["data_offsets"][0] + 8 + n
b[s:s + 2] = b"\x00\x7e" if h[name]["dtype"] in ("F16", "BF16") else b[s:s + 2]
if h[name]["dtype"] == "F32": b[s:s + 4] = b"\x00\x00\xc0\x7f"
open(p, "wb").write(b)
EOF
case_ 8a "generate on a base with a NaN weight" generate --model $W/8 --prompt "Repeat the word twice." --max-new-tokens 4 --temperature 0
note 8a "" "NUL bytes in the output: $(tr -cd '\000' < $W/out.txt | wc -c)"
case_ 8b "train on a base with a NaN weight" "${T[@]}" --model $W/8 --out $W/8b --max-steps 1
mkdir -p $W/8c && cp $W/ad/adapter/* $W/8c/
python3 - $W/8c/adapter_model.safetensors <<'EOF' 2>/dev/null
import json, struct, sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
for k, v in h.items():
    if k.endswith("lora_B.weight"):
        s, e = v["data_offsets"]; b[8 + n + s:8 + n + e] = b"\x00\x00\xc0\x7f" * ((e - s) // 4)
open(p, "wb").write(b)
EOF
case_ 8c "adapter validate, NaN lora_B" adapter validate --model "$BASE" --adapter $W/8c

# 9. undecodable bytes in data
printf '{"instruction":"Repeat the word twice.","input":"caf\xe9","output":"caf\xe9 caf\xe9"}\n' > $W/9.jsonl
for i in $(seq 40); do printf '{"instruction":"Repeat the word twice.","input":"cup","output":"cup cup"}\n' >> $W/9.jsonl; done
case_ 9a "invalid UTF-8 (Latin-1) in data" "${T[@]}" --data $W/9.jsonl --out $W/9a --max-steps 1
case_ 9b "... with --encoding-errors replace" "${T[@]}" --data $W/9.jsonl --out $W/9b --max-steps 1 --encoding-errors replace

# 10. smaller things
case_ 10a "eval --data heldout.json, no --template" eval --model "$BASE" --data "$HELD"
case_ 10b "estimate --r 256" estimate --arch llama-2-7b --r 256
note 10b "" "the original experiment's r=8 figure (16.62 GB) shown: $(grep -qa '16.6' $W/out.txt && echo yes || echo no)"
note 10c "the built program" "$(ls $ROOT/$BIN | grep -E '^(loralab|LoraLab.Cli)(\.dll)?$' | tr '\n' ' ')"
run $W/10d.txt train --help
note 10d "train --help DEFAULT column" "$(grep -c DEFAULT $W/10d.txt) header(s); --lr row: $(grep -a -- '--lr ' $W/10d.txt | tr -s ' ' | cut -c1-80)"
case_ 10e "sgd at the default lr" "${T[@]}" --out $W/10e --max-steps 1 --optimizer sgd
note 10e "" "$(grep -ai 'sgd' $W/out.txt | grep -aiv '^loralab train' | head -1 | grep . || echo 'no word about SGD')"
run $W/10f.txt "${T[@]}" --out $W/10f --max-steps 30 --batch-size 4
note 10f "run.yaml after 30 steps (several epochs)" "$(grep -E '^(epochs|max_steps):' $W/10f/run.yaml 2>/dev/null | tr '\n' ' ') $(grep -A3 '^ran:' $W/10f/run.yaml 2>/dev/null | tr -s ' \n' ' ')"
run $W/10g.txt "${T[@]}" --model assets/demo-base --out $W/10g --max-steps 1
note 10g "base_model_name_or_path (given relative)" "$(grep -o '"base_model_name_or_path": *"[^"]*"' $W/10g/adapter/adapter_config.json 2>/dev/null)"
note 10h "validation split saved" "val.jsonl: $([ -f $W/10f/val.jsonl ] && echo yes || echo no)"
case_ 10h "eval --run RUN_DIR" eval --run $W/10f
run $W/10i.txt "${T[@]}" --out $W/10i --max-steps 30 --batch-size 4 --save-every 5 --save-total-limit 2
note 10i "checkpoints kept (30 steps, save every 5, limit 2)" "rc=$RC: $(ls $W/10i/checkpoints 2>/dev/null | tr '\n' ' ')"
note 10j "metrics.jsonl first row" "$(head -1 $W/10f/metrics.jsonl 2>/dev/null | cut -c1-160)"
case_ 10k "full fine-tuning plan" "${T[@]}" --out $W/10k --max-steps 1 --method full
note 10k "" "$(grep -a 'frozen' $W/out.txt | xargs | grep . || echo "no 'frozen projection weights' line")"
printf 'r: 4\nr: 8\n' > $W/10l.yaml
case_ 10l "duplicate YAML keys" "${T[@]}" --config $W/10l.yaml --out $W/10l --max-steps 1
printf 'save_every: -5\n' > $W/10m.yaml
case_ 10m "save_every: -5" "${T[@]}" --config $W/10m.yaml --out $W/10m --max-steps 1
mkdir -p $W/10n && cp $BASE/* $W/10n/ && sed -i 's/"num_attention_heads": 6/"num_attention_heads": 5/; s/"num_key_value_heads": 2/"num_key_value_heads": 1/; /"head_dim"/d' $W/10n/config.json
case_ 10n "hidden_size 192, 5 heads" generate --model $W/10n --prompt hi --max-new-tokens 1
case_ 10o "every example dropped" "${T[@]}" --out $W/10o --max-steps 1 --long-examples drop --max-seq-length 8
mkdir -p $W/10p && cp $BASE/config.json $BASE/model.safetensors $W/10p/ && : > $W/10p/tokenizer.model
case_ 10p "empty tokenizer.model" generate --model $W/10p --prompt hi --max-new-tokens 1
