#!/usr/bin/env python3
"""Reference scores for `loralab eval --task mc`: multiple choice by log-likelihood with lm-evaluation-harness's
conventions, computed with PyTorch on the committed tiny-chat fixture (random weights, SentencePiece tokenizer), so
the C# scorer is compared example by example. Written from the conventions, not from the harness's code:
  - a continuation is " " + choice; whitespace at the end of the context moves to the start of the continuation;
  - context + continuation are tokenised together (no BOS) and the continuation is the tokens past the count of the
    context's own tokens; an empty context is the BOS token;
  - the log-likelihood is the sum of log-softmax over the continuation's tokens;
  - acc = argmax of it, acc_norm = argmax of it divided by len(choice) (characters, delimiter not counted), first max wins.
    /usr/bin/python3 tools/make_task_reference.py
"""
import json, os, struct, sys
import torch, torch.nn.functional as F
import sentencepiece as spm
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "shared", "bench"))
import peer_llama as P

fx = os.path.join(here, "..", "tests", "LoraLab.Tests", "Fixtures")
model_dir = os.path.join(fx, "tiny-chat")
out_dir = os.path.join(fx, "tasks")

EXAMPLES = [
    dict(context="Name a colour:", choices=["red", "blue", "a very long purple colour"], gold=0),
    dict(context="Question: What is 2 plus 3?\nAnswer:", choices=["5", "6", "twenty-three"], gold=0),
    dict(context="Translate good morning into French: ", choices=["bonjour", "merci", "à bientôt"], gold=0),
    dict(context="The quick brown fox", choices=["jumps", "jumps over the lazy dog", "sleeps", "runs"], gold=1),
    dict(context="", choices=["apple", "pear and plum"], gold=1),
    dict(context="List two fruits.\n", choices=["1. apple\n2. pear", "1. fig", "kiwi"], gold=2),
    dict(context="Give the plural of the word: cat", choices=["s", "cats", "es"], gold=1),
    dict(context="naïve café", choices=["日本語", "🙂", "ok"], gold=0),
]

def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]; header = json.loads(f.read(n)); data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__": continue
        a, b = v["data_offsets"]; assert v["dtype"] == "F32"
        out[k] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(v["shape"])
    return out

def main():
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    m = P.LlamaForCausalLM(cfg); m.load_state_dict(load_safetensors(os.path.join(model_dir, "model.safetensors")), strict=False); m.eval()
    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "tokenizer.model"))
    results = []
    for ex in EXAMPLES:
        lls, ctx_ids, cont_ids = [], [], []
        for choice in ex["choices"]:
            context, continuation = ex["context"], " " + choice
            n = len(context) - len(context.rstrip())
            if n > 0: continuation = context[-n:] + continuation; context = context[:-n]
            if context == "": c_enc, k_enc = [sp.bos_id()], sp.encode(continuation)
            else:
                whole = sp.encode(context + continuation); c_enc = sp.encode(context); k_enc = whole[len(c_enc):]
            ids = torch.tensor([c_enc + k_enc])
            with torch.no_grad(): logp = F.log_softmax(m(ids[:, :-1]).float(), -1)[0]
            T = ids.shape[1] - 1
            ll = sum(logp[T - len(k_enc) + i, k_enc[i]].item() for i in range(len(k_enc)))
            lls.append(ll); ctx_ids.append(c_enc); cont_ids.append(k_enc)
        norm = [l / len(c) for l, c in zip(lls, ex["choices"])]
        pred = max(range(len(lls)), key=lambda i: (lls[i], -i)); pred_norm = max(range(len(norm)), key=lambda i: (norm[i], -i))
        results.append(dict(loglikelihoods=lls, pred=pred, pred_norm=pred_norm, gold=ex["gold"], context_ids=ctx_ids, continuation_ids=cont_ids))
    n = len(results)
    def mean_se(xs):
        mu = sum(xs) / n; return mu, (sum((x - mu) ** 2 for x in xs) / (n - 1) / n) ** 0.5
    acc, acc_se = mean_se([float(r["pred"] == r["gold"]) for r in results])
    accn, accn_se = mean_se([float(r["pred_norm"] == r["gold"]) for r in results])
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "mc.jsonl"), "w", encoding="utf-8") as f:
        for ex in EXAMPLES: f.write(json.dumps(ex, ensure_ascii=False) + "\n")
    json.dump(dict(model="tiny-chat", acc=acc, acc_stderr=acc_se, acc_norm=accn, acc_norm_stderr=accn_se, examples=results),
              open(os.path.join(out_dir, "mc-reference.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=1)
    print("acc", acc, "acc_norm", accn, [(r["pred"], r["pred_norm"]) for r in results])

if __name__ == "__main__":
    main()
