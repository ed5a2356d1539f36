#!/usr/bin/python3
"""PyTorch peer for bench/run.sh: the reference formulation of one attack step (double backprop, Haim et al. 2022)
and one full-batch GD training step, float64, timed per step. One measurement per process; prints one JSON line.

Usage: torch_bench.py KIND SETTING THREADS STEPS
  KIND    attack | train | matmul
  SETTING small | reference   (sizes in SETTINGS below; the C# side, bench/Bench/Program.cs, uses the same)
"""
import json, os, sys, time
import torch

SETTINGS = {
    # name: (widths, m candidates, n training points)
    "small": ([784, 400, 1], 40, 40),
    "reference": ([784, 1000, 1000, 1], 1000, 500),
}
ALPHA, LAMBDA_MIN, LR_X, LR_L, MOMENTUM = 150.0, 0.45, 0.031, 1e-4, 0.9


class ModifiedRelu(torch.autograd.Function):
    """The reference's modified ReLU: value relu(h), derivative sigmoid(alpha h) (differentiable, for double backprop)."""
    @staticmethod
    def forward(ctx, h):
        ctx.save_for_backward(h)
        return h.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (h,) = ctx.saved_tensors
        return g * torch.sigmoid(ALPHA * h)


def vm_hwm_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def weights(widths, gen):
    ws = []
    for k in range(len(widths) - 1):
        std = (2.0 if k < len(widths) - 2 else 1.0) / widths[k]
        ws.append(torch.randn(widths[k + 1], widths[k], dtype=torch.float64, generator=gen) * std ** 0.5)
    return ws


# Untimed steps before the timed ones, on both sides (this script and bench/Bench): first steps pay for page faults,
# allocator growth and (in .NET) JIT tiering, which a run of thousands of steps does not.
WARMUP = 2


def attack(widths, m, steps):
    gen = torch.Generator().manual_seed(1)
    ws = [w.requires_grad_(True) for w in weights(widths, gen)]
    X = (torch.randn(m, widths[0], dtype=torch.float64, generator=gen) * 3.5e-2).requires_grad_(True)
    lam = torch.rand(m, dtype=torch.float64, generator=gen).requires_grad_(True)
    y = torch.where(torch.arange(m) % 2 == 0, -1.0, 1.0).to(torch.float64)
    mom = [None, None]
    times, cpu = [], []
    for t in range(steps + WARMUP):
        t0 = time.perf_counter(); c0 = time.process_time()
        a = X
        for W in ws[:-1]:
            a = ModifiedRelu.apply(a @ W.t())
        phi = (a @ ws[-1].t()).squeeze(1)
        grads = torch.autograd.grad((phi * lam * y / m).sum(), ws, create_graph=True)
        stat = sum(((W - g) ** 2).sum() for W, g in zip(ws, grads))
        lam_pen = 5 * torch.relu(LAMBDA_MIN - lam).pow(2).sum()
        prior = torch.relu(X - 1).pow(2).sum() + torch.relu(-1 - X).pow(2).sum()
        total = stat + lam_pen + prior
        loss = total.item()
        gX, gL = torch.autograd.grad(total, [X, lam])
        with torch.no_grad():
            for i, (p, g, lr) in enumerate(((X, gX, LR_X), (lam, gL, LR_L))):
                mom[i] = g.clone() if mom[i] is None else mom[i].mul_(MOMENTUM).add_(g)
                p.add_(mom[i], alpha=-lr)
        if t >= WARMUP:
            times.append(time.perf_counter() - t0); cpu.append(time.process_time() - c0)
    return times, cpu, loss


def train(widths, n, steps):
    gen = torch.Generator().manual_seed(2)
    ws = [w.requires_grad_(True) for w in weights(widths, gen)]
    X = torch.randn(n, widths[0], dtype=torch.float64, generator=gen) * 0.3
    y = torch.where(torch.arange(n) % 2 == 0, -1.0, 1.0).to(torch.float64)
    times, cpu = [], []
    for t in range(steps + WARMUP):
        t0 = time.perf_counter(); c0 = time.process_time()
        a = X
        for W in ws[:-1]:
            a = torch.relu(a @ W.t())
        q = y * (a @ ws[-1].t()).squeeze(1)
        loss = torch.nn.functional.softplus(-q).mean()
        lv = loss.item()
        gs = torch.autograd.grad(loss, ws)
        with torch.no_grad():
            for W, g in zip(ws, gs):
                W.sub_(0.01 * g)
        if t >= WARMUP:
            times.append(time.perf_counter() - t0); cpu.append(time.process_time() - c0)
    return times, cpu, lv


def matmul(size=2000, reps=5):
    a = torch.randn(size, size, dtype=torch.float64)
    b = torch.randn(size, size, dtype=torch.float64)
    a @ b
    times, cpu = [], []
    for _ in range(reps):
        t0 = time.perf_counter(); c0 = time.process_time(); a @ b
        times.append(time.perf_counter() - t0); cpu.append(time.process_time() - c0)
    return times, cpu


def main():
    kind, setting, threads, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    widths, m, n = SETTINGS.get(setting, ([0], 0, 0))
    out = {"impl": "pytorch", "kind": kind, "setting": setting, "path": "autograd", "dtype": "float64",
           "threads": torch.get_num_threads(), "torch": torch.__version__,
           "openblas_env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}}
    if kind == "attack":
        times, cpu, loss = attack(widths, m, steps)
    elif kind == "train":
        times, cpu, loss = train(widths, n, steps)
    else:
        (times, cpu), loss = matmul(reps=steps), None
    out.update(times_ms=[1e3 * t for t in times], cpu_ms=[1e3 * t for t in cpu], loss=loss, vmhwm_mb=vm_hwm_mb(),
               blas=("openblas" if "openblas" in torch.__config__.show().lower() or os.path.exists("/usr/lib/x86_64-linux-gnu/libopenblas.so.0") else "?"))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
