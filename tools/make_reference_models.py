#!/usr/bin/env python3
"""Makes extra reference checkpoints with the PyTorch peer in ../shared/bench/peer_llama.py, for conventions the
shared tiny-llama does not cover (multi-query attention, tied embeddings, other rope_theta / eps / head counts).
Run once by a developer (needs python3-torch); the outputs are committed under tests/LoraLab.Tests/Fixtures.
    /usr/bin/python3 tools/make_reference_models.py
"""
import os, sys, types
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "shared", "bench"))
import peer_llama as P

VARIANTS = {
    # multi-query attention (1 kv head), tied embeddings, large rope_theta, eps 1e-6
    "mqa-tied": dict(vocab_size=300, hidden_size=48, intermediate_size=128, num_hidden_layers=2, num_attention_heads=6,
                     num_key_value_heads=1, max_position_embeddings=128, rms_norm_eps=1e-6, rope_theta=500000.0, tie_word_embeddings=True),
    # plain multi-head attention (kv = heads), 3 layers, small theta
    "mha-3layer": dict(vocab_size=256, hidden_size=32, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
                       num_key_value_heads=4, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=1000.0, tie_word_embeddings=False),
}
out = os.path.join(here, "..", "tests", "LoraLab.Tests", "Fixtures")
for name, cfg in VARIANTS.items():
    P.CFGS[name] = cfg
    d = os.path.join(out, name)
    P.export(types.SimpleNamespace(cfg=name, seed=11, dir=d))
    P.export_adapter(types.SimpleNamespace(cfg=name, seed=11, dir=d + "-lora", targets="q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj", rank=8, alpha=16.0))
