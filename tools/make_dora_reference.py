#!/usr/bin/env python3
"""Makes tests/LoraLab.Tests/Fixtures/tiny-llama-dora: a PEFT-format DoRA adapter for the reference tiny-llama, with the
losses and one training step's gradients a PyTorch DoRA computes, for the C# DoRA to be checked against.

DoRA (Liu et al. 2024, arXiv:2402.09353) as PEFT's DoraLinearLayer defines it, written out here from the paper:
    y = W x + b + (g - 1) * (W x) + g * s * B A x,   g = m / ||W + s B A||_row   (the norm detached: the paper's 4.3)
The adapter has random A and B, and a magnitude m that differs from the row norms, so every term matters.
Files: adapter_config.json (use_dora: true), adapter_model.safetensors (PEFT's saved keys: `...lora_A.weight`,
`...lora_B.weight`, `...lora_magnitude_vector`), golden.json (ids; loss with the adapter, merged, and of the base),
grads.safetensors (d loss / d A, B, m for one step; the loss is the mean next-token cross-entropy).
    apt-get install -y python3-torch libopenblas0-pthread
    /usr/bin/python3 tools/make_dora_reference.py
Seeded: running it again rewrites the same numbers.
"""
import json, os, struct, sys
import torch
import torch.nn.functional as F
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "shared", "bench"))
import peer_llama as P

fixtures = os.path.join(here, "..", "tests", "LoraLab.Tests", "Fixtures")
out = os.path.join(fixtures, "tiny-llama-dora")
TARGETS = ["q_proj", "v_proj", "down_proj"]
R, ALPHA = 4, 8.0


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    result = {}
    for k, v in header.items():
        if k == "__metadata__": continue
        assert v["dtype"] == "F32", k
        a, b = v["data_offsets"]
        result[k] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(v["shape"]).clone()
    return result


class DoraLinear(torch.nn.Module):
    def __init__(s, base, r, alpha, g):
        super().__init__(); s.base = base; s.scaling = alpha / r
        s.lora_A = torch.nn.Parameter(0.2 * torch.randn(r, base.in_features, generator=g))
        s.lora_B = torch.nn.Parameter(0.2 * torch.randn(base.out_features, r, generator=g))
        with torch.no_grad():
            norm = (base.weight + s.scaling * s.lora_B @ s.lora_A).norm(dim=1)
        s.magnitude = torch.nn.Parameter(norm * (1 + 0.5 * torch.randn(norm.shape, generator=g)))

    def forward(s, x):
        w = s.base.weight
        norm = (w + s.scaling * (s.lora_B @ s.lora_A).detach()).norm(dim=1).detach()
        g = (s.magnitude / norm).view(1, -1)
        wx = F.linear(x, w)
        return s.base(x) + (g - 1) * wx + g * (F.linear(F.linear(x, s.lora_A), s.lora_B) * s.scaling)

    def merged_weight(s):
        with torch.no_grad():
            dense = s.base.weight + s.scaling * s.lora_B @ s.lora_A
            return (s.magnitude / dense.norm(dim=1)).view(-1, 1) * dense


def loss_of(m, ids):
    logits = m(ids[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


def main():
    c = dict(P.CFGS["tiny"]); torch.manual_seed(7); m = P.LlamaForCausalLM(c)
    m.load_state_dict(read_safetensors(os.path.join(fixtures, "tiny-llama", "model.safetensors")), strict=True)
    for p in m.parameters(): p.requires_grad_(False)
    g = torch.Generator().manual_seed(2024)
    ids = torch.randint(0, c["vocab_size"], (2, 33), generator=g)
    with torch.no_grad(): base_loss = loss_of(m, ids).item()
    doras = {}
    for i, layer in enumerate(m.model.layers):
        for parent, prefix in ((layer.self_attn, f"model.layers.{i}.self_attn"), (layer.mlp, f"model.layers.{i}.mlp")):
            for name in list(parent._modules):
                if name in TARGETS:
                    d = DoraLinear(getattr(parent, name), R, ALPHA, g); setattr(parent, name, d); doras[f"{prefix}.{name}"] = d
    loss = loss_of(m, ids)
    loss.backward()
    os.makedirs(out, exist_ok=True)
    weights, grads = {}, {}
    for path, d in doras.items():
        k = "base_model.model." + path
        weights[k + ".lora_A.weight"] = d.lora_A; weights[k + ".lora_B.weight"] = d.lora_B; weights[k + ".lora_magnitude_vector"] = d.magnitude
        grads[path + ".lora_A.weight"] = d.lora_A.grad; grads[path + ".lora_B.weight"] = d.lora_B.grad
        grads[path + ".lora_magnitude_vector"] = d.magnitude.grad
    P.write_safetensors(os.path.join(out, "adapter_model.safetensors"), weights, {"format": "pt"})
    P.write_safetensors(os.path.join(out, "grads.safetensors"), grads)
    # merged: W' = m / ||W + s B A|| * (W + s B A), in a plain copy of the base
    with torch.no_grad():
        for path, d in doras.items():
            d.base.weight.copy_(d.merged_weight())
        for i, layer in enumerate(m.model.layers):
            for parent in (layer.self_attn, layer.mlp):
                for name in list(parent._modules):
                    if isinstance(getattr(parent, name), DoraLinear): setattr(parent, name, getattr(parent, name).base)
        merged_loss = loss_of(m, ids).item()
    json.dump(dict(peft_type="LORA", task_type="CAUSAL_LM", base_model_name_or_path=None, r=R, lora_alpha=ALPHA, lora_dropout=0.0,
                   target_modules=TARGETS, bias="none", fan_in_fan_out=False, use_rslora=False, use_dora=True, modules_to_save=None,
                   init_lora_weights=True, inference_mode=True, rank_pattern={}, alpha_pattern={}),
              open(os.path.join(out, "adapter_config.json"), "w"), indent=2)
    json.dump(dict(input_ids=ids.tolist(), loss_with_adapter=loss.item(), loss_merged=merged_loss, loss_base=base_loss),
              open(os.path.join(out, "golden.json"), "w"), indent=1)
    print("dora", out, "loss", loss.item(), "merged", merged_loss, "base", base_loss)


if __name__ == "__main__":
    main()
