#!/usr/bin/env python3
"""Runs `loralab bench` and the peer (../shared/bench/peer_llama.py) back to back, alternating, and prints one
Markdown row per pair with the speed and memory ratios, then (with --repeats 2 or more) one row per run with the ratio
of the two sides' medians. Each pair is only comparable with itself: run this on an otherwise idle machine and read
the spread between repeats as the noise. Which side runs first alternates between repeats.

    python3 tools/bench_vs_peer.py [--repeats 2] [--threads 2] [--streams 2] [--steps N] [--loralab PATH] [--python /usr/bin/python3]
"""
import argparse, json, os, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.path.join(ROOT, "..", "shared", "bench", "peer_llama.py")

# (label, loralab bench flags, peer flags)
RUNS = [
    ("small, LoRA r=8 all linear", "--arch small --method lora --targets all", "--cfg small"),
    ("small, LoRA r=8 q,v", "--arch small --method lora --targets qv", "--cfg small --targets qv"),
    ("small, full fine-tuning", "--arch small --method full", "--cfg small --full"),
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=None, help="timed steps for both programs (default 3, medium 2); more steps make the medians steadier on a shared host")
    ap.add_argument("--loralab", default=os.path.join(ROOT, "src/LoraLab.Cli/bin/Release/net10.0/loralab"))
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--only", default=None, help="substring of the run labels to keep")
    ap.add_argument("--streams", type=int, default=1, help="LoraLab's --streams for the LoRA runs (full fine-tuning refuses it)")
    a = ap.parse_args()
    if not os.path.exists(PEER):
        sys.exit(f"peer not found: {PEER}")
    print("| run | load | LoraLab tok/s | peer tok/s | speed ratio | LoraLab peak RSS | peer peak RSS | memory ratio | LoraLab MFU |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    results = {}
    for label, ours, theirs in RUNS:
        if a.only and a.only not in label:
            continue
        steps = a.steps or (2 if "medium" in label else 3)
        common = f"--batch-size {a.batch} --max-seq-length {a.seq} --max-steps {steps} --threads {a.threads}"  # loralab's spelling
        peer_common = f"--batch {a.batch} --seq {a.seq} --steps {steps} --threads {a.threads}"
        extra = f" --streams {a.streams}" if a.streams > 1 and "full" not in label else ""
        for r in range(a.repeats):
            load = load1()
            def ours_run():
                return last_json(subprocess.run([a.loralab, "bench"] + (ours + extra).split() + common.split() + ["--json"],
                                                capture_output=True, text=True, check=True).stdout)
            def peer_run():
                return last_json(subprocess.run([a.python, PEER, "bench"] + theirs.split() + peer_common.split(),
                                                capture_output=True, text=True, check=True).stdout)
            # Who goes first alternates, so a host that slows down over a round does not always favour one side.
            if r % 2 == 0:
                o = ours_run(); p = peer_run()
            else:
                p = peer_run(); o = ours_run()
            results.setdefault(label + (" (" + extra.strip() + ")" if extra else ""), []).append((o, p))
            print(f"| {label}{' (' + extra.strip() + ')' if extra else ''} | {load:.1f} | {o['tokens_per_s']:.1f} | {p['tokens_per_s']:.1f} | "
                  f"**{o['tokens_per_s'] / p['tokens_per_s']:.2f}×** | {o['peak_rss_mb']} MB | {p['peak_rss_mb']} MB | "
                  f"**{o['peak_rss_mb'] / p['peak_rss_mb']:.2f}** | {o['mfu'] * 100:.1f} % |", flush=True)
    if a.repeats < 2:
        return
    # Across repeats: the ratio of the two sides' medians is steadier than any one pair on a shared host.
    print()
    print("| run | pairs | LoraLab median tok/s | peer median tok/s | ratio of medians | pair ratios | pairs ≥ 2.0× | memory ratio of medians |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, pairs in results.items():
        ours_tps = statistics.median(o["tokens_per_s"] for o, _ in pairs)
        peer_tps = statistics.median(p["tokens_per_s"] for _, p in pairs)
        ratios = [o["tokens_per_s"] / p["tokens_per_s"] for o, p in pairs]
        mem = statistics.median(o["peak_rss_mb"] for o, _ in pairs) / statistics.median(p["peak_rss_mb"] for _, p in pairs)
        print(f"| {label} | {len(pairs)} | {ours_tps:.1f} | {peer_tps:.1f} | **{ours_tps / peer_tps:.2f}×** | "
              f"{min(ratios):.2f}–{max(ratios):.2f}× | {sum(x >= 2.0 for x in ratios)} of {len(ratios)} | {mem:.2f} |", flush=True)

if __name__ == "__main__":
    main()
