#!/usr/bin/env python3
"""Runs `loralab bench` and the peer (../shared/bench/peer_llama.py) back to back, alternating, and prints one
Markdown row per pair with the speed and memory ratios. Each pair is only comparable with itself: run this on an
otherwise idle machine and read the spread between repeats as the noise.

    python3 tools/bench_vs_peer.py [--repeats 2] [--threads 2] [--streams 2] [--steps N] [--loralab PATH] [--python /usr/bin/python3]
"""
import argparse, json, os, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.path.join(ROOT, "..", "shared", "bench", "peer_llama.py")

# (label, loralab bench flags, peer flags)
RUNS = [
    ("small, LoRA r=8 all linear", "--config small --method lora --targets all", "--cfg small"),
    ("small, LoRA r=8 q,v", "--config small --method lora --targets qv", "--cfg small --targets qv"),
    ("small, full fine-tuning", "--config small --method full", "--cfg small --full"),
    ("medium, LoRA r=8 all linear", "--config medium --method lora --targets all", "--cfg medium"),
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
    ap.add_argument("--loralab", default=os.path.join(ROOT, "src/LoraLab.Cli/bin/Release/net10.0/LoraLab.Cli"))
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--only", default=None, help="substring of the run labels to keep")
    ap.add_argument("--streams", type=int, default=1, help="LoraLab's --streams for the LoRA runs (full fine-tuning refuses it)")
    a = ap.parse_args()
    if not os.path.exists(PEER):
        sys.exit(f"peer not found: {PEER}")
    print("| run | load | LoraLab tok/s | peer tok/s | speed ratio | LoraLab peak RSS | peer peak RSS | memory ratio | LoraLab MFU |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, ours, theirs in RUNS:
        if a.only and a.only not in label:
            continue
        steps = a.steps or (2 if "medium" in label else 3)
        common = f"--batch {a.batch} --seq {a.seq} --steps {steps} --threads {a.threads}"
        extra = f" --streams {a.streams}" if a.streams > 1 and "full" not in label else ""
        for _ in range(a.repeats):
            load = load1()
            o = last_json(subprocess.run([a.loralab, "bench"] + (ours + extra).split() + common.split() + ["--json"],
                                         capture_output=True, text=True, check=True).stdout)
            p = last_json(subprocess.run([a.python, PEER, "bench"] + theirs.split() + common.split(),
                                         capture_output=True, text=True, check=True).stdout)
            print(f"| {label}{' (' + extra.strip() + ')' if extra else ''} | {load:.1f} | {o['tokens_per_s']:.1f} | {p['tokens_per_s']:.1f} | "
                  f"**{o['tokens_per_s'] / p['tokens_per_s']:.2f}×** | {o['peak_rss_mb']} MB | {p['peak_rss_mb']} MB | "
                  f"**{o['peak_rss_mb'] / p['peak_rss_mb']:.2f}** | {o['mfu'] * 100:.1f} % |", flush=True)


if __name__ == "__main__":
    main()
