"""Reference for `loralab combine --method ties|dare|dare-ties`: the entry-wise merges of TIES (Yadav et al. 2023)
and DARE (Yu et al. 2023) as PEFT's merge_utils defines them (trim to k = int(density * numel) entries by magnitude;
elect the sign per entry by the sign of the sum ("total") or of the count ("frequency"), ties to +; average the
weighted entries that agree, zeroed entries never agreeing; DARE keeps each entry with probability density and
divides by density), written here in plain torch on two small random ΔWs. Output:
tests/LoraLab.Tests/Fixtures/merging/reference.json, compared by tests/LoraLab.Tests/Adapters/TaskMergingTests.cs.
Run: /usr/bin/python3 tools/ties_dare_reference.py"""
import json, os
import torch

torch.set_default_dtype(torch.float64)


def trim(delta, density):
    if density >= 1:
        return delta
    k = int(density * delta.numel())
    keep = torch.zeros(delta.numel())
    keep[delta.abs().flatten().topk(k).indices] = 1
    return delta * keep.view_as(delta)


def drop(delta, density, gen):
    if density >= 1:
        return delta
    return delta * torch.bernoulli(torch.full_like(delta, density), generator=gen) / density


def elect_and_mean(stacked, weights, how):
    signs = stacked.sign()
    mass = stacked.sum(0) if how == "total" else signs.sum(0)
    agree = (signs == torch.where(mass >= 0, 1.0, -1.0)).double()
    w = torch.tensor(weights).view(-1, 1, 1)
    return (stacked * w * agree).sum(0) / agree.sum(0).clamp(min=1)


def ties(deltas, weights, density, how):
    return elect_and_mean(torch.stack([trim(d, density) for d in deltas]), weights, how)


def dare(deltas, weights, density, seed):
    gen = torch.Generator().manual_seed(seed)
    return sum(w * drop(d, density, gen) for d, w in zip(deltas, weights))


def dare_ties(deltas, weights, density, how, seed):
    gen = torch.Generator().manual_seed(seed)
    return elect_and_mean(torch.stack([drop(d, density, gen) for d in deltas]), weights, how)


def main():
    g = torch.Generator().manual_seed(19)
    # two rank-3 ΔW = B·A (out 12, in 10) as LoRA makes them, plus a third for the frequency vote to differ from total
    deltas = [torch.randn(12, 3, generator=g) @ torch.randn(3, 10, generator=g) for _ in range(3)]
    cases = []
    for n, weights in ((2, [0.7, -0.4]), (3, [1.0, 0.5, 0.8])):
        for density in (0.35, 1.0):
            for how in ("total", "frequency"):
                cases.append(dict(method="ties", adapters=n, weights=weights, density=density, majority_sign=how,
                                  result=ties(deltas[:n], weights, density, how).tolist()))
        cases.append(dict(method="dare", adapters=n, weights=weights, density=0.6, seed=7,
                          result=dare(deltas[:n], weights, 0.6, 7).tolist()))
        cases.append(dict(method="dare-ties", adapters=n, weights=weights, density=0.6, seed=7, majority_sign="total",
                          result=dare_ties(deltas[:n], weights, 0.6, "total", 7).tolist()))
    out = os.path.join(os.path.dirname(__file__), "..", "tests", "LoraLab.Tests", "Fixtures", "merging", "reference.json")
    with open(out, "w") as f:
        json.dump(dict(torch=torch.__version__, deltas=[d.tolist() for d in deltas], cases=cases), f)


if __name__ == "__main__":
    main()
