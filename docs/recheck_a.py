#!/usr/bin/env python3
"""Re-measures Experiment A (notebook 09) from its saved tensors with PyTorch, independently of the C# library.

    /usr/bin/python3 docs/recheck_a.py RUN_OUT_DIR        # the --out folder of `./workbook run notebooks/09-…`

Reads RUN_OUT_DIR/results/09-no-prior-sphere.json and the safetensors under RUN_OUT_DIR/results/09-no-prior-sphere/
(network, training set with its multipliers, fresh sample, every run's final candidates), recomputes with PyTorch
(autograd for the gradients, nothing imported from the workbook) and prints, per set, the workbook's number beside the
re-measured one:
  - L_stat with the plain ReLU: sum_k ||theta_k - (1/m) sum_j lambda_j y_j d Phi(x'_j)/d theta_k||^2;
  - D5 (mean distance of the 5 candidates closest to the training set), in L2 and after the best rescaling c >= 0;
  - the default rule's count: training point i is reconstructed if its best candidate's normalised cross-correlation
    exceeds 0.5 and every other real image's (other training points, fresh sample).
Exits with status 1 if any relative difference exceeds 1e-9 (counts must be equal).
Needs Debian's python3-torch (bench/run.sh installs it).
"""
import glob, json, os, re, struct, sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


def read_safetensors(path):
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        data = f.read()
    types = {"F64": np.float64, "F32": np.float32, "I64": np.int64, "I32": np.int32}
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        a, b = spec["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=types[spec["dtype"]]).reshape(spec["shape"]).copy()).double()
    return out


def phi(weights, x):
    h = x
    for w in weights[:-1]:
        h = torch.relu(h @ w.T)
    return (h @ weights[-1].T).squeeze(1)


def stationarity(weights, s):
    ws = [w.clone().requires_grad_(True) for w in weights]
    m = s["x"].shape[0]
    total = (s["lambda"] * s["y"] * phi(ws, s["x"])).sum() / m
    grads = torch.autograd.grad(total, ws)
    per_layer = [float(((w - g) ** 2).sum()) for w, g in zip(weights, grads)]
    return sum(per_layer), per_layer


def d5(cand, train, scale_invariant):
    if scale_invariant:
        cos = torch.nn.functional.normalize(cand, dim=1) @ torch.nn.functional.normalize(train, dim=1).T
        dist = train.norm(dim=1)[None, :] * torch.sqrt(torch.clamp(1 - torch.clamp(cos, min=0) ** 2, min=0))
    else:
        dist = torch.cdist(cand, train)
    return float(dist.min(1).values.sort().values[:5].mean())


def ncc(a, b):
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    return torch.clamp(torch.nn.functional.normalize(a, dim=1) @ torch.nn.functional.normalize(b, dim=1).T, -1, 1)


def good(cand, train, fresh):
    n = train.shape[0]
    best = ncc(train, cand).max(1).values
    others = ncc(train, train).masked_fill(torch.eye(n, dtype=torch.bool), -float("inf")).max(1).values
    yard = torch.maximum(others, ncc(train, fresh).max(1).values)
    return int((best > torch.clamp(yard, min=0.5)).sum())


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = os.path.join(sys.argv[1], "results")
    res = json.load(open(os.path.join(root, "09-no-prior-sphere.json"), encoding="utf-8"))
    art = os.path.join(root, "09-no-prior-sphere")
    net = read_safetensors(os.path.join(art, "network.safetensors"))
    weights = [net[f"layers.{k}.weight"] for k in range(len(net))]
    truth = read_safetensors(os.path.join(art, "training-set.safetensors"))
    fresh = read_safetensors(os.path.join(art, "fresh-sample.safetensors"))["x"]
    sets = [("training set", truth, res["truth"])]
    by_key = {(float(r["radius"]), int(r["seed"])): r["result"] for r in res["runs"]}
    for path in sorted(glob.glob(os.path.join(art, "candidates-r*-seed*.safetensors"))):
        radius, seed = re.search(r"candidates-r(.+)-seed(\d+)\.safetensors$", path).groups()
        sets.append((f"r = {radius}, seed {seed}", read_safetensors(path), by_key[(float(radius), int(seed))]))
    worst = 0.0
    mismatched_counts = 0
    print(f"{'set':<20} {'L_stat plain (C#)':>18} {'(PyTorch)':>18} {'rel. diff':>9}   {'D5 (C#)':>9} {'(PyTorch)':>9}   "
          f"{'D5 s.-inv.':>10} {'(PyTorch)':>9}   good C#/PyTorch")
    for name, s, r in sets:
        total, _ = stationarity(weights, s)
        a, b = d5(s["x"], truth["x"], False), d5(s["x"], truth["x"], True)
        g = good(s["x"], truth["x"], fresh)
        rel = [abs(total - r["stationary_plain_relu"]) / abs(r["stationary_plain_relu"]),
               abs(a - r["d5"]) / max(abs(r["d5"]), 1e-12) if r["d5"] else abs(a),
               abs(b - r["d5_scale_invariant"]) / max(abs(r["d5_scale_invariant"]), 1e-12) if r["d5_scale_invariant"] else abs(b)]
        worst = max(worst, *rel)
        mismatched_counts += g != r["evaluation"]["good"]
        print(f"{name:<20} {r['stationary_plain_relu']:>18.12g} {total:>18.12g} {rel[0]:>9.1e}   {r['d5']:>9.6g} {a:>9.6g}   "
              f"{r['d5_scale_invariant']:>10.6g} {b:>9.6g}   {r['evaluation']['good']}/{g}")
    print(f"largest relative difference {worst:.1e}; count mismatches {mismatched_counts}")
    sys.exit(0 if worst <= 1e-9 and mismatched_counts == 0 else 1)


if __name__ == "__main__":
    main()
