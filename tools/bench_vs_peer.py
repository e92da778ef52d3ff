#!/usr/bin/env python3
"""Runs `loralab bench` at its default precision and at the other one, and the peer (../shared/bench/peer_llama.py)
in fp32 and with --bf16, back to back in rotating order, and prints one Markdown row per round: LoraLab's default
against the peer's fastest mode of that round (speed and peak memory ratios), with every figure beside it. With
--repeats 2 or more it ends with the ratio of the medians per run. Only figures from one invocation compare: run it on
an otherwise idle machine and read the spread between repeats as the noise. The first line names the machine.

    python3 tools/bench_vs_peer.py [--repeats 3] [--threads 2] [--steps N] [--only TEXT] [--loralab PATH] [--python /usr/bin/python3]
"""
import argparse, datetime, json, os, statistics, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.path.join(ROOT, "..", "shared", "bench", "peer_llama.py")

# (label, loralab bench flags, peer flags; None: the peer has no such mode)
RUNS = [
    ("small, LoRA r=8 all linear", "--arch small --method lora --targets all", "--cfg small"),
    ("small, LoRA r=8 q,v", "--arch small --method lora --targets qv", "--cfg small --targets qv"),
    ("small, full fine-tuning", "--arch small --method full", "--cfg small --full"),
    ("small, QLoRA nf4 r=8 all linear", "--arch small --method qlora --targets all", None),
    ("medium, LoRA r=8 all linear", "--arch medium --method lora --targets all", "--cfg medium"),
]


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON line in output:\n" + text[-2000:])


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def machine():
    model, flags = "unknown CPU", set()
    try:
        for line in open("/proc/cpuinfo"):
            k, _, v = line.partition(":")
            if k.strip() == "model name": model = v.strip()
            if k.strip() == "flags": flags = set(v.split()); break
    except OSError:
        pass
    feats = [n for f, n in (("avx2", "AVX2"), ("avx512f", "AVX-512F"), ("avx512_bf16", "AVX512_BF16")) if f in flags]
    feats.append("AMX-BF16" if "amx_bf16" in flags else "no AMX")
    return f"{model}, {os.cpu_count()} logical CPUs ({', '.join(feats)})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=None, help="timed steps for every program (default 3, medium 2)")
    ap.add_argument("--loralab", default=os.path.join(ROOT, "src/LoraLab.Cli/bin/Release/net10.0/loralab"))
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--only", default=None, help="substring of the run labels to keep")
    a = ap.parse_args()
    if not os.path.exists(PEER):
        sys.exit(f"peer not found: {PEER}")
    print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {machine()}, {a.threads} threads, batch {a.batch} x {a.seq}")
    print()
    print("| run | load | LoraLab default | LoraLab other precision | peer fp32 | peer bf16 | speed vs peer's fastest | memory vs that mode | LoraLab MFU (of its precision's peak) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    results = {}
    for label, ours, theirs in RUNS:
        if a.only and a.only not in label:
            continue
        steps = a.steps or (2 if "medium" in label else 3)
        common = f"--batch-size {a.batch} --max-seq-length {a.seq} --max-steps {steps} --threads {a.threads} --json".split()
        peer_common = f"--batch {a.batch} --seq {a.seq} --steps {steps} --threads {a.threads}".split()
        for r in range(a.repeats):
            load = load1()
            out = {}
            def ours_run(extra=()):
                return last_json(subprocess.run([a.loralab, "bench"] + ours.split() + common + list(extra), capture_output=True, text=True, check=True).stdout)
            def peer_run(extra=()):
                return last_json(subprocess.run([a.python, PEER, "bench"] + theirs.split() + peer_common + list(extra), capture_output=True, text=True, check=True).stdout)
            jobs = [("default", lambda: ours_run())]
            if theirs is not None:
                jobs += [("peer fp32", lambda: peer_run()), ("peer bf16", lambda: peer_run(["--bf16"]))]
            # the other precision needs the default's answer, so it runs right after it
            order = jobs[r % len(jobs):] + jobs[:r % len(jobs)]  # a host that slows down over a round favours no one
            for name, job in order:
                out[name] = job()
                if name == "default":
                    other = "fp32" if out[name]["precision"] == "bf16" else "bf16"
                    out["other"] = ours_run(["--precision", other])
            o, x = out["default"], out["other"]
            cell = lambda j: f"{j['tokens_per_s']:.0f} tok/s, {j['peak_rss_mb']:.0f} MB"
            ourcell = lambda j: f"{j['precision']}: {cell(j)}"
            if theirs is None:
                print(f"| {label} | {load:.1f} | {ourcell(o)} | {ourcell(x)} | - | - | - | - | {o['mfu'] * 100:.1f} % |", flush=True)
                results.setdefault(label, []).append((o, None))
                continue
            p32, p16 = out["peer fp32"], out["peer bf16"]
            best = max((p32, p16), key=lambda j: j["tokens_per_s"])
            results.setdefault(label, []).append((o, best))
            print(f"| {label} | {load:.1f} | {ourcell(o)} | {ourcell(x)} | {cell(p32)} | {cell(p16)} | "
                  f"**{o['tokens_per_s'] / best['tokens_per_s']:.2f}×** | **{o['peak_rss_mb'] / best['peak_rss_mb']:.2f}** | {o['mfu'] * 100:.1f} % |", flush=True)
    if a.repeats < 2:
        return
    print()
    print("| run | rounds | LoraLab default, median tok/s | peer's fastest, median tok/s | ratio of medians | round ratios | LoraLab median peak RSS | memory ratio of medians |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, pairs in results.items():
        ours_tps = statistics.median(o["tokens_per_s"] for o, _ in pairs)
        ours_mem = statistics.median(o["peak_rss_mb"] for o, _ in pairs)
        if pairs[0][1] is None:
            print(f"| {label} | {len(pairs)} | {ours_tps:.0f} | - | - | - | {ours_mem:.0f} MB | - |", flush=True)
            continue
        peer_tps = statistics.median(p["tokens_per_s"] for _, p in pairs)
        ratios = [o["tokens_per_s"] / p["tokens_per_s"] for o, p in pairs]
        mem = ours_mem / statistics.median(p["peak_rss_mb"] for _, p in pairs)
        print(f"| {label} | {len(pairs)} | {ours_tps:.0f} | {peer_tps:.0f} | **{ours_tps / peer_tps:.2f}×** | "
              f"{min(ratios):.2f}–{max(ratios):.2f}× | {ours_mem:.0f} MB | {mem:.2f} |", flush=True)

if __name__ == "__main__":
    main()
