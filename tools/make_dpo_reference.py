#!/usr/bin/env python3
"""Reference numbers for preference tuning (issue 27): DPO's sigmoid loss (with and without label smoothing), IPO,
hinge and reference-free ORPO, computed with PyTorch on the committed tiny-chat fixture (random weights, SentencePiece
tokenizer) with a random PEFT LoRA adapter as the policy and the base alone as the reference. Written to
tests/LoraLab.Tests/Fixtures/dpo (README.md there states every convention and where it meets or leaves TRL's):
  - ids: prompt = [BOS] + enc(prompt), completion = enc(completion) + [EOS], each string encoded on its own;
  - a completion's log-probability: the sum over its tokens and EOS of log-softmax, each predicted from the position before;
  - per-objective batch loss = mean over the 6 pairs, and its gradient w.r.t. every lora_A / lora_B (fp32, no dropout).
Seeded and deterministic: running it again rewrites the same bytes (on the same CPU kind).
    /usr/bin/python3 tools/make_dpo_reference.py
"""
import json, os, sys, types
import torch, torch.nn.functional as F
import sentencepiece as spm
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "shared", "bench"))
sys.path.insert(0, here)
import peer_llama as P
from make_task_reference import load_safetensors

fx = os.path.join(here, "..", "tests", "LoraLab.Tests", "Fixtures")
model_dir = os.path.join(fx, "tiny-chat")
out_dir = os.path.join(fx, "dpo")
adapter_dir = os.path.join(out_dir, "adapter")
TARGETS = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"
RANK, ALPHA, SEED = 4, 8.0, 5  # seed 5: the one tiny-chat's weights were made with (make_reference_models.chat_model)
# The other PEFT fixtures draw A and B with std 0.05; on tiny-chat (near-uniform logits) that moves a completion's log-prob
# by ~0.02, so rewards would sit barely above the checks' 1e-4. The same draws times 4 move it by ~0.3-1.3.
STRENGTH = 4.0

# Plain-string pairs: lengths differ, the chosen completion is sometimes the shorter one; newlines and non-ASCII text.
PAIRS = [
    dict(prompt="Name a colour.", chosen="Blue.", rejected="The colour I would name is a very dark purple, almost black."),
    dict(prompt="Add the two numbers: 12 and 30.", chosen="12 + 30 = 42.", rejected="12 + 30 = 43."),
    dict(prompt="Translate the phrase into French: thank you", chosen="merci", rejected="bonjour, ça va ?"),
    dict(prompt="Question: What is 2 plus 3?\nAnswer:", chosen="5", rejected="6, or maybe 7"),
    dict(prompt="List two fruits.", chosen="1. apple\n2. pear", rejected="apple"),
    dict(prompt="Write a short story about a green bird.", chosen="Once there was a green bird. It sang every morning.", rejected="Bird."),
]

# name -> (loss, parameters). `beta` for the DPO family; ORPO's weight on the odds-ratio term is `alpha` (TRL's ORPOConfig.beta).
OBJECTIVES = {
    "sigmoid": dict(loss="sigmoid", beta=0.1, label_smoothing=0.0),
    "sigmoid_ls": dict(loss="sigmoid", beta=0.1, label_smoothing=0.1),
    "ipo": dict(loss="ipo", beta=0.1),
    "hinge": dict(loss="hinge", beta=0.1),
    "orpo": dict(loss="orpo", alpha=0.1),
}


def tokenize(sp, pair):
    # tiny-chat has no tokenizer_config.json, so `add_bos_token` is the Llama SentencePiece default: true
    return dict(prompt_ids=[sp.bos_id()] + sp.encode(pair["prompt"]),
                chosen_ids=sp.encode(pair["chosen"]) + [sp.eos_id()],
                rejected_ids=sp.encode(pair["rejected"]) + [sp.eos_id()])


def completion_logps(model, prompt, completion):
    """Per-token log-probabilities of `completion` after `prompt` (one unpadded row: nothing to mask)."""
    ids = torch.tensor([prompt + completion])
    logp = F.log_softmax(model(ids[:, :-1]), -1)[0]               # position t predicts ids[t + 1]
    pos = torch.arange(len(prompt) - 1, len(prompt) + len(completion) - 1)
    return logp[pos, torch.tensor(completion)]


def objective(spec, pol_c, pol_r, ref_c, ref_r):
    """Per-pair losses and per-pair (chosen, rejected) rewards; inputs are lists of per-token log-prob tensors."""
    pc = torch.stack([t.sum() for t in pol_c]); pr = torch.stack([t.sum() for t in pol_r])
    if spec["loss"] == "orpo":
        ac = torch.stack([t.mean() for t in pol_c]); ar = torch.stack([t.mean() for t in pol_r])
        nll = -torch.cat(pol_c).mean()                          # over every chosen completion token of the batch
        log1mexp = lambda x: torch.where(x < -0.6931471805599453, torch.log1p(-torch.exp(x)), torch.log(-torch.expm1(x)))
        log_odds = (ac - ar) - (log1mexp(ac) - log1mexp(ar))
        ratio = F.logsigmoid(log_odds)
        per_pair = nll - spec["alpha"] * ratio                    # mean over pairs = nll - alpha * mean(logsigmoid)
        extra = dict(nll=nll.item(), log_odds=log_odds.tolist(), avg_logps_chosen=ac.mean().item(), avg_logps_rejected=ar.mean().item())
        return per_pair, spec["alpha"] * ac.detach(), spec["alpha"] * ar.detach(), extra
    rc = torch.stack([t.sum() for t in ref_c]); rr = torch.stack([t.sum() for t in ref_r])
    b = spec["beta"]; z = (pc - rc) - (pr - rr)
    if spec["loss"] == "sigmoid":
        ls = spec["label_smoothing"]
        per_pair = -(1 - ls) * F.logsigmoid(b * z) - ls * F.logsigmoid(-b * z)
    elif spec["loss"] == "hinge":
        assert (b * z).abs().max() < 0.9, "a pair sits near the hinge's kink: its gradient would be ill defined"
        per_pair = torch.relu(1 - b * z)
    elif spec["loss"] == "ipo":
        nc = torch.tensor([float(len(t)) for t in pol_c]); nr = torch.tensor([float(len(t)) for t in pol_r])
        per_pair = ((pc - rc) / nc - (pr - rr) / nr - 1 / (2 * b)) ** 2
    return per_pair, b * (pc - rc).detach(), b * (pr - rr).detach(), dict(delta=z.tolist())


def rewrite_golden(pol, cfg):
    """golden.json of the adapter folder for the scaled weights: export_adapter's ids (seed + 1) and loss convention."""
    g = torch.Generator().manual_seed(SEED + 1); ids = torch.randint(0, cfg["vocab_size"], (2, 33), generator=g)
    with torch.no_grad(): logits = pol(ids[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, cfg["vocab_size"]), ids[:, 1:].reshape(-1)).item()
    json.dump(dict(input_ids=ids.tolist(), loss_with_adapter=loss, logits_sum=logits.double().sum().item()),
              open(os.path.join(adapter_dir, "golden.json"), "w"), indent=1)


def main():
    torch.manual_seed(0); torch.set_num_threads(1)
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    base = load_safetensors(os.path.join(model_dir, "model.safetensors"))

    # The adapter folder as the peer writes the other PEFT fixtures (config, A and B random non-zero from seed + 100); its
    # weights are then scaled by STRENGTH (same keys, same writer) and golden.json's loss recomputed for them below.
    P.CFGS["tiny-chat"] = {k: cfg[k] for k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                                                 "num_key_value_heads", "max_position_embeddings", "rms_norm_eps", "rope_theta", "tie_word_embeddings")}
    P.export_adapter(types.SimpleNamespace(cfg="tiny-chat", seed=SEED, dir=adapter_dir, targets=TARGETS, rank=RANK, alpha=ALPHA))
    adapter = {k: STRENGTH * v for k, v in load_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors")).items()}
    P.write_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"), adapter, {"format": "pt"})

    ref = P.LlamaForCausalLM(cfg); ref.load_state_dict(base, strict=False); ref.eval()
    pol = P.LlamaForCausalLM(cfg); pol.load_state_dict(base, strict=False)
    for p in pol.parameters(): p.requires_grad_(False)
    P.apply_lora(pol, TARGETS.split(","), RANK, ALPHA)
    lora = {}
    for n, mod in pol.named_modules():
        if isinstance(mod, P.LoraLinear):
            for ab in ("lora_A", "lora_B"):
                w = getattr(mod, ab).weight; key = f"base_model.model.{n}.{ab}.weight"
                with torch.no_grad(): w.copy_(adapter[key])
                w.requires_grad_(True); lora[key] = w
    assert sorted(lora) == sorted(adapter), "adapter keys differ from the policy's LoRA modules"
    pol.eval()  # no dropout anywhere (the peer has none; lora_dropout is 0)
    rewrite_golden(pol, cfg)

    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "tokenizer.model"))
    toks = [tokenize(sp, p) for p in PAIRS]
    with torch.no_grad():
        ref_c = [completion_logps(ref, t["prompt_ids"], t["chosen_ids"]) for t in toks]
        ref_r = [completion_logps(ref, t["prompt_ids"], t["rejected_ids"]) for t in toks]

    pairs = []
    for p, t, c, r in zip(PAIRS, toks, ref_c, ref_r):
        pairs.append(dict(**p, **t, ref_chosen_logps=c.sum().item(), ref_rejected_logps=r.sum().item()))

    objectives = {}
    for name, spec in OBJECTIVES.items():
        for w in lora.values(): w.grad = None
        pol_c = [completion_logps(pol, t["prompt_ids"], t["chosen_ids"]) for t in toks]
        pol_r = [completion_logps(pol, t["prompt_ids"], t["rejected_ids"]) for t in toks]
        if name == "sigmoid":  # the policy's log-probs are the same for every objective
            for d, c, r in zip(pairs, pol_c, pol_r): d["policy_chosen_logps"] = c.sum().item(); d["policy_rejected_logps"] = r.sum().item()
        per_pair, rew_c, rew_r, extra = objective(spec, pol_c, pol_r, ref_c, ref_r)
        loss = per_pair.mean(); loss.backward()
        grads_file = f"grads-{name}.safetensors"
        P.write_safetensors(os.path.join(out_dir, grads_file), {k: w.grad for k, w in lora.items()}, {"format": "pt"})
        pc = torch.tensor([d["policy_chosen_logps"] for d in pairs]); pr = torch.tensor([d["policy_rejected_logps"] for d in pairs])
        objectives[name] = dict(**spec, dpo_loss=loss.item(), rewards_chosen=rew_c.mean().item(), rewards_rejected=rew_r.mean().item(),
                                rewards_margin=(rew_c - rew_r).mean().item(), rewards_accuracy=(rew_c > rew_r).float().mean().item(),
                                logps_chosen=pc.mean().item(), logps_rejected=pr.mean().item(),
                                per_pair_loss=per_pair.tolist(), per_pair_rewards_chosen=rew_c.tolist(), per_pair_rewards_rejected=rew_r.tolist(),
                                **extra, grads=grads_file,
                                grads_max_abs=max(g.grad.abs().max().item() for g in lora.values()))
        print(name, "loss", loss.item(), "acc", objectives[name]["rewards_accuracy"], "max |grad|", objectives[name]["grads_max_abs"])

    with open(os.path.join(out_dir, "prefs.jsonl"), "w", encoding="utf-8") as f:
        for p in PAIRS: f.write(json.dumps(p, ensure_ascii=False) + "\n")
    json.dump(dict(model="../tiny-chat", adapter="adapter", data="prefs.jsonl", bos_id=sp.bos_id(), eos_id=sp.eos_id(), add_bos=True,
                   pairs=pairs, objectives=objectives),
              open(os.path.join(out_dir, "expected.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
