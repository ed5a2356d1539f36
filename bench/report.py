#!/usr/bin/env python3
"""Table for bench/run.sh from its raw .jsonl: median ms per step, ratio to PyTorch, GFLOP/s, peak memory, load."""
import json, statistics, sys
from collections import defaultdict

SETTINGS = {"small": ([784, 400, 1], 40, 40), "reference": ([784, 1000, 1000, 1], 1000, 500)}


def flops(kind, setting):
    widths, m, n = SETTINGS[setting]
    pairs = list(zip(widths[:-1], widths[1:]))
    if kind == "attack":  # forward + closed-form sums + their backward: 5 products for layer 0, 7 for the others
        return sum(2.0 * m * i * o * (5 if k == 0 else 7) for k, (i, o) in enumerate(pairs))
    return sum(2.0 * n * i * o * (2 if k == 0 else 3) for k, (i, o) in enumerate(pairs))  # forward, ∇W, ∇a


KERNEL_NAMES = {"Avx2Kernel": "AVX2 kernel", "Avx512Kernel": "AVX-512 kernel", "OpenBlas": "OpenBLAS", "Libtorch": "libtorch"}
PINS = {"avx2": "Avx2Kernel", "avx512": "Avx512Kernel", "openblas": "OpenBlas"}  # bench PATH suffix -> backend


def matmul_path(kind, path):
    """True if the measured path's products go through NoPrior.LinearAlgebra.MatMul (see bench/Bench/Program.cs): the
    hand-derived attack step and training, unless "-libtorch"; autograd's products always run in libtorch."""
    base = path.split("-")[0]
    if path.endswith("-libtorch") or path == "autograd":
        return False
    return base == "fused" or (kind == "train" and base == "closedform")


def cpu_line(machine):
    """The CPU the table was measured on: name, vendor, family, model, cores, and its widest vectors (from run.sh)."""
    if "cpu_vendor" not in machine:
        return f"CPU: {machine.get('cpu', '?')}, {machine.get('nproc', '?')} cores (vendor, family, model and vector flags not recorded by this run)"
    flags = [f for f in machine.get("cpu_vector_flags", "").split(",") if f]
    width = "512-bit (AVX-512)" if "avx512f" in flags else "256-bit (AVX2, no AVX-512)" if "avx2" in flags else "128-bit or less (no AVX2)"
    return (f"CPU: {machine.get('cpu', '?')} — vendor {machine['cpu_vendor']}, family {machine.get('cpu_family', '?')}, "
            f"model {machine.get('cpu_model', '?')}, {machine.get('nproc', '?')} cores; vector width {width}; "
            f"flags: {', '.join(flags) or 'none of avx/avx2/fma/avx512*'}")


def per_process(res, key):
    xs = res.get(key) or []  # both sides already ran untimed warm-up steps (WARMUP in torch_bench.py / Bench)
    return statistics.median(xs) if xs else float("nan")


def main(path):
    lines = [json.loads(l) for l in open(path) if l.strip()]
    machine = lines[0].get("machine", {})
    groups, loads, failed, accuracy, backends = defaultdict(list), [], [], [], {}
    for rec in lines[1:]:
        loads += [rec["load_before"], rec["load_after"]]
        r = rec["result"]
        if r is None:
            failed.append(rec["cmd"]); continue
        if r["kind"] == "accuracy":
            accuracy.append(r); continue
        key = (r["kind"], r["setting"], r["impl"], r["path"], r["dtype"])
        # The backend MatMul used in the measuring process (measured there, cached or pinned), and why.
        backends[key] = (r.get("matmul_choice") or ("Libtorch" if r.get("matmul_backend", "").startswith("libtorch") else "Avx512Kernel"),
                         r.get("matmul_backend", ""))
        groups[key].append((per_process(r, "times_ms"), per_process(r, "cpu_ms"), r.get("vmhwm_mb", float("nan")), min(r["times_ms"] or [float("nan")]),
                            r.get("products_ms_per_step", float("nan")), r.get("products_gflops", float("nan"))))

    def med(key, i):
        v = [g[i] for g in groups.get(key, []) if g[i] == g[i]]
        return statistics.median(v) if v else float("nan")

    def products(key):
        """The step's products through MatMul (Bench reads MatMul.Tally): median ms per step and their own rate."""
        ms, rate = med(key, 4), med(key, 5)
        return f"{ms:.1f} ({rate:.1f})" if ms == ms and ms > 0 else "–"  # none: PyTorch, or autograd's own products

    gf = lambda ms: 16.0 / (ms / 1e3)  # 2000³·2 = 16 GFLOP
    mm = {"pytorch float64": med(("matmul", "-", "pytorch", "autograd", "float64"), 0)}
    for dt in ("float64", "float32"):
        for p, label in (("-", "libtorch"), ("kernel", "MatMul's choice"), *((pin, KERNEL_NAMES[b]) for pin, b in PINS.items())):
            if ("matmul", "-", "torchsharp", p, dt) in groups:
                mm[f"{label} {dt}"] = med(("matmul", "-", "torchsharp", p, dt), 0)
    # MatMul's choice per dtype and why, as the "matmul - kernel" process reported them.
    chosen = {dt: next((backends[k] for k in groups if k[0] == "matmul" and k[3] == "kernel" and k[4] == dt), None)
              for dt in ("float64", "float32")}
    rate_of = {("Libtorch", dt): mm.get(f"libtorch {dt}") for dt in ("float64", "float32")}
    rate_of.update({(b, dt): mm.get(f"{KERNEL_NAMES[b]} {dt}") for b in PINS.values() for dt in ("float64", "float32")})
    print(f"# Benchmark {machine.get('date', '?')} — {machine.get('cpu', '?')}, {machine.get('nproc', '?')} cores")
    print(cpu_line(machine))
    print(f"load average (1 min) during the run: min {min(loads):.1f}, median {statistics.median(loads):.1f}, max {max(loads):.1f}"
          if loads else "no load recorded")
    if loads and statistics.median(loads) > 1.5 * int(machine.get("nproc", 2)):
        print("**The machine was shared and loaded: the numbers are indicative only** (medians over interleaved A/B rounds).")
    print(f"OMP_WAIT_POLICY={machine.get('omp_wait_policy') or 'unset (libgomp spins)'} for both sides. "
          "PyTorch ran with /usr/bin/python3 and OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset for that command only "
          f"(set here: {', '.join(v for v in machine.get('openblas_env_unset_for_pytorch', []) if not v.endswith('=')) or 'neither'}).")
    print()
    print("matmul 2000×2000 (median wall; libtorch = TorchSharp's oneMKL; MatMul's choice = the backend "
          "NoPrior.LinearAlgebra.MatMul measured fastest on this machine; the other backends pinned): "
          + ", ".join(f"{k} {gf(v):.0f} GFLOP/s ({v:.0f} ms)" for k, v in mm.items()))
    for dt, choice in chosen.items():
        if choice:
            b, why = choice
            print(f"MatMul's choice, {dt}: {KERNEL_NAMES.get(b, b)} — {why}")
    print()
    print("| step | setting (sizes) | implementation | ms/step (wall, median) | best ms/step | CPU ms/step | ratio to PyTorch | GFLOP/s | % of own matmul rate | products ms/step (GFLOP/s in them) | peak RSS MB | processes |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    order = {"autograd": 0, "closedform-libtorch": 1, "closedform": 2, "fused-libtorch": 3, "fused": 4}
    for kind in ("attack", "train"):
        for setting in SETTINGS:
            keys = sorted((k for k in groups if k[0] == kind and k[1] == setting),
                          key=lambda k: (k[2] != "pytorch", order.get(k[3], 9), k[4]))
            if not keys:
                continue
            ref = med((kind, setting, "pytorch", "autograd", "float64"), 0)
            widths, m, n = SETTINGS[setting]
            sizes = f"{'m' if kind == 'attack' else 'n'} = {m if kind == 'attack' else n}, {'-'.join(map(str, widths))}"
            f = flops(kind, setting)
            for k in keys:
                wall, cpu, hwm = med(k, 0), med(k, 1), max(g[2] for g in groups[k])
                name = {"pytorch": "PyTorch 1.13 + OpenBLAS, double backprop" if kind == "attack" else "PyTorch 1.13 + OpenBLAS, autograd"}.get(k[2])
                backend = "Libtorch"
                if name is None:
                    base = k[3].split("-")[0]
                    name = {"autograd": "TorchSharp, Autograd path (double backprop)",
                            "closedform": ("TorchSharp, ClosedForm path + autograd" if kind == "attack" else "TorchSharp, GradientDescent.Train"),
                            "fused": "TorchSharp, ValueAndGradient (hand-derived)"}[base]
                    if not matmul_path(kind, k[3]):
                        name += ", libtorch matmul"
                    else:
                        # The backend the measuring process reported: pinned ("-avx2"), or MatMul's own choice.
                        backend = backends[k][0]
                        pinned = k[3].endswith(tuple("-" + pin for pin in PINS))
                        name += f", {KERNEL_NAMES.get(backend, backend)} ({'pinned' if pinned else 'MatMul' + chr(39) + 's choice'})"
                name += f", {k[4]}"
                peak = mm["pytorch float64"] if k[2] == "pytorch" else (rate_of.get((backend, k[4])) or float("nan"))
                rate = f / (wall / 1e3) / 1e9
                best = min(g[3] for g in groups[k])
                print(f"| {kind} | {setting} ({sizes}) | {name} | {wall:.1f} | {best:.1f} | {cpu:.1f} | {wall / ref:.2f} | {rate:.1f} | "
                      f"{100 * rate / gf(peak):.0f}% | {products(k)} | {hwm:.0f} | {len(groups[k])} |")
    print()
    # The goals. One backend is often measured twice in a run — as MatMul's choice and pinned — and the two medians of
    # the same code differ by the machine's noise (14 % on Zen 3). Taking the better of two medians of one backend
    # for the best rate, against one median of the step, would bias the ratio by that noise; so both sides pool every
    # process that ran the same backend (MatMul's choice with the pinned row of the backend it chose) and take the
    # median of the pooled per-process medians. The table above keeps every row separate.
    def pooled(rows):
        v = [g[0] for k in rows for g in groups.get(k, []) if g[0] == g[0]]
        return (statistics.median(v) if v else float("nan")), len(v)

    def same_backend(kind, setting, path, dt):
        """The process groups that ran PATH's code with the backend MatMul chose for it: the choice and its pinned row."""
        key = (kind, setting, "torchsharp", path, dt)
        if key not in groups:
            return [], None
        chosen_backend = backends[key][0]
        rows = [key] + [(kind, setting, "torchsharp", f"{path}-{pin}", dt) for pin, b in PINS.items() if b == chosen_backend]
        return [k for k in rows if k in groups], chosen_backend

    # The 2000² processes of each backend: its own row (libtorch's "-", a pinned one), and MatMul's choice with the
    # backend it chose.
    rows_of = {"PyTorch (OpenBLAS)": [("matmul", "-", "pytorch", "autograd", "float64")],
               KERNEL_NAMES["Libtorch"]: [("matmul", "-", "torchsharp", "-", "float64")]}
    for pin, b in PINS.items():
        rows_of[KERNEL_NAMES[b]] = [("matmul", "-", "torchsharp", pin, "float64")]
    if chosen["float64"]:
        rows_of.setdefault(KERNEL_NAMES.get(chosen["float64"][0], chosen["float64"][0]), []).append(("matmul", "-", "torchsharp", "kernel", "float64"))
    by_backend = {name: pooled(rows) for name, rows in rows_of.items()}
    best = [(ms, name, n) for name, (ms, n) in by_backend.items() if ms == ms]
    if best:
        best_ms, best_name, best_n = min(best)
        print(f"Best float64 matmul rate of the run (2000², median over every process that ran the backend): {best_name} "
              f"{gf(best_ms):.1f} GFLOP/s ({best_n} processes; "
              + ", ".join(f"{name} {gf(ms):.1f} ({n})" for ms, name, n in sorted(best)) + ").")
        for kind in ("attack", "train"):
            for setting in SETTINGS:
                path = "fused" if kind == "attack" else "closedform"
                rows, backend = same_backend(kind, setting, path, "float64")
                if not rows:
                    continue
                mine_ms, n = pooled(rows)
                lib_ms, _ = pooled([(kind, setting, "torchsharp", path + "-libtorch", "float64")])
                rate = flops(kind, setting) / (mine_ms / 1e3) / 1e9
                line = (f"{kind} {setting}, float64, MatMul's choice ({KERNEL_NAMES.get(backend, backend)}, {n} processes): "
                        f"{rate:.1f} GFLOP/s = {100 * rate / gf(best_ms):.0f}% of that best rate")
                if lib_ms == lib_ms:
                    line += f"; {mine_ms / lib_ms:.2f}× the time of its own libtorch path ({mine_ms:.1f} against {lib_ms:.1f} ms)"
                prod = [g for k in rows for g in groups[k] if g[4] == g[4] and g[4] > 0]
                if prod:
                    # Products alone: the step's rate if everything between them took no time.
                    p_ms, p_rate = statistics.median(g[4] for g in prod), statistics.median(g[5] for g in prod)
                    line += (f"; its products take {p_ms:.1f} ms of it ({100 * p_ms / mine_ms:.0f}%) at "
                             f"{p_rate:.1f} GFLOP/s, {100 * p_rate / gf(best_ms):.0f}% of the best rate")
                print(line + ".")
                c_key = ("products", setting, "c-openblas", "-", "float64")
                if kind == "attack" and c_key in groups:
                    c_ms, c_n = pooled([c_key])
                    c_rate = flops(kind, setting) / (c_ms / 1e3) / 1e9
                    print(f"  The same products in C with the machine's OpenBLAS and nothing else in the process "
                          f"(bench/step_products.c, {c_n} processes): {c_ms:.1f} ms per step, {c_rate:.1f} GFLOP/s, "
                          f"{100 * c_rate / gf(best_ms):.0f}% of the best rate.")
    print()
    print("FLOPs per step (matrix products only, same for every formulation): " + ", ".join(
        f"{kind} {s} {flops(kind, s) / 1e9:.3g} GFLOP" for kind in ("attack", "train") for s in SETTINGS))
    for a in accuracy:
        print(f"\nfloat32 vs float64 after the same steps ({a['setting']}): attack loss {a['attack_loss64']:.6g} (f64) vs "
              f"{a['attack_loss32']:.6g} (f32; {a['attack_loss32_in64']:.6g} re-evaluated in f64), stationarity "
              f"{a['attack_stat64']:.6g} vs {a['attack_stat32']:.6g}, candidates rel. diff {a['attack_candidates_reldiff']:.2e}, "
              f"λ rel. diff {a['attack_lambda_reldiff']:.2e}; training loss {a['train_loss64']:.6g} vs {a['train_loss32']:.6g}, "
              f"θ rel. diff {a['train_theta_reldiff']:.2e}")
    if failed:
        print("\nfailed or timed out: " + "; ".join(failed))


if __name__ == "__main__":
    main(sys.argv[1])
