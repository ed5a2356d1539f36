#!/usr/bin/env python3
"""Regenerates the tables of REPRODUCTION.md from the notebooks' results JSON.

    python3 docs/reproduction.py [--fast DIR] [--long NAME=DIR ...] [--write REPRODUCTION.md]

--fast DIR    results folder of a fast-default run (default: out/results, as `./workbook run` writes it)
--long N=DIR  results folder of a long run named N (its JSON committed under docs/runs/N/results)
--write F     replace every block between '<!-- BEGIN generated:KEY -->' and '<!-- END generated:KEY -->' in F;
              without it the tables are printed.
Only the standard library; every number in the tables is read from a results file, none is typed in.
"""
import argparse, json, os, re, sys


def load(folder, name):
    path = os.path.join(folder, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def get(d, *path, default=None):
    for p in path:
        if d is None:
            return default
        d = d.get(p) if isinstance(d, dict) else (d[p] if isinstance(d, list) and isinstance(p, int) and p < len(d) else None)
    return default if d is None else d


def fmt(v, digits=3):
    if v is None or v == "NaN":  # the workbook's JSON writes a non-finite number as a string
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "—"
        if v == 0:
            return "0"
        a = abs(v)
        return f"{v:.{digits}g}" if 1e-3 <= a < 1e5 else f"{v:.2e}"
    return str(v)


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(fmt(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def best_baseline(ev):
    if isinstance(get(ev, "best_baseline"), int):  # written by RuleCounts.BestBaseline; older results lack it
        return ev["best_baseline"]
    b = get(ev, "baselines") or {}
    vals = [b.get(k) for k in ("zeros", "init", "other_training", "fresh_sample") if isinstance(b.get(k), int)]
    return max(vals) if vals else None


def rule_best(r):
    """The best baseline of one rule's row (written as best_baseline by newer results)."""
    if r is None:
        return None
    return r["best_baseline"] if isinstance(r.get("best_baseline"), int) else max(r["zeros"], r["init"], r["other_training"], r["fresh_sample"])


def rule_row(ev, name_start):
    for r in get(ev, "rules", default=[]):
        if r["rule"].startswith(name_start) and "one-to-one" not in r["rule"]:
            return r
    return None


def experiment_a(d):
    if d is None:
        return "_not run_"
    s = d["settings"]
    head = f"n = {s['n']}, widths 784-{s['width']}-{s['width']}-1, {s['trainSteps']} GD steps, m = {s['m']}, {s['attackSteps']} attack steps, {s['attackSeeds']} seeds per radius.\n\n"
    t = d["truth"]
    rows = [["training set (NNLS λ)", t["loss"], t["stationary_plain_relu"], t["layer_residual"][1] if len(t["layer_residual"]) > 1 else None,
             (t.get("layer_initial_weight_norm_squared") or [None, None])[1], t["d5"], t["d5_scale_invariant"], t["evaluation"]["good"], best_baseline(t["evaluation"])]]
    by_r = {}
    for r in d["runs"]:
        by_r.setdefault(r["radius"], []).append(r["result"])
    for radius, rs in sorted(by_r.items()):
        mean = lambda f: sum(f(x) for x in rs) / len(rs)
        rows.append([f"r = {radius} (mean of {len(rs)})", mean(lambda x: x["loss"]), mean(lambda x: x["stationary_plain_relu"]),
                     mean(lambda x: x["layer_residual"][1] if len(x["layer_residual"]) > 1 else float("nan")),
                     (rs[0].get("layer_initial_weight_norm_squared") or [None, None])[1],
                     mean(lambda x: x["d5"]), mean(lambda x: x["d5_scale_invariant"]), mean(lambda x: x["evaluation"]["good"]),
                     max(best_baseline(x["evaluation"]) for x in rs)])
    return head + table(["set", "final L", "L_stat plain ReLU", "‖θ₂−G₂‖²", "‖θ₂(0)‖²", "D5", "D5 scale-inv.", "good", "best baseline"], rows) + \
        "\n\nSpread of the mean final L across radii {} ({} %), largest seed-to-seed spread {}.".format(
            fmt(d.get("acrossRadii")), fmt(100 * d["relativeSpread"]) if d.get("relativeSpread") is not None else "—", fmt(d.get("seedSpread")))


def experiment_b(d):
    if d is None:
        return "_not run_"
    s = d["settings"]
    head = f"n = {10 * s['perClass']} per data set, widths 784-{s['width']}-{s['width']}-1, {s['trainSteps']} GD steps, {s['attackSteps']} attack steps, {s['attackSeeds']} seeds.\n\n"
    groups = {}
    for r in d["runs"]:
        groups.setdefault((r["dataset"], r["offset"], r["prior"]), []).append(r)
    rows = []
    for (ds, c, prior), rs in sorted(groups.items()):
        ref = [rule_row(r["evaluation"], "SSIM 3×3 > 0.4, L2") for r in rs]
        rows.append([ds, c, "on" if prior else "off", "/".join(str(r["evaluation"]["good"]) for r in rs),
                     max(best_baseline(r["evaluation"]) for r in rs),
                     "/".join(str(x["attack"]) for x in ref if x), max((rule_best(x) for x in ref if x), default=None),
                     sum(r.get("blends", 0) for r in rs), sum(r.get("blendsMergeHypothesis", 0) for r in rs)])
    return head + table(["data", "offset c", "prior", "good (per seed)", "best baseline", "SSIM 3×3 good", "its best baseline", "blends", "blends with Lemma 2's hypothesis"], rows)


def experiment_c(d):
    if d is None:
        return "_not run_"
    s = d["settings"]
    head = f"n = {s['n']}, widths 784-{s['width']}-{s['width']}-1, checkpoints {s['checkpoints']}, {s['attackSteps']} attack steps, {s['sweepTrials']} sweep trials per checkpoint, prior {'on' if s['usePrior'] else 'off'}.\n\n"
    rows = []
    for c in d["checkpoints"]:
        ev = c["evaluation"]
        ref = rule_row(ev, "SSIM 3×3 > 0.4, L2")
        r11 = rule_row(ev, "SSIM 11×11")
        rows.append([c["step"], c["relativeStationarity"], c["delta"], c["gamma"], c["splitMin"], c["splitMedian"], ev["good"], best_baseline(ev),
                     ref and ref["attack"], rule_best(ref), r11 and r11["attack"], rule_best(r11)])
    v = d.get("verdict", {})
    unfitted = [c["step"] for c in d["checkpoints"] if not isinstance(c["delta"], (int, float)) or c["delta"] != c["delta"]]
    note = f"\n\nδ is undefined (—) at step {', '.join(map(str, unfitted))}: the network does not yet classify every training point correctly, so no rescaling to unit minimum margin exists." if unfitted else ""
    return head + table(["step", "ε/‖θ‖", "δ", "γ", "split min", "split median", "good", "best baseline", "SSIM 3×3 good", "baseline", "SSIM 11×11 good", "baseline"], rows) + \
        f"\n\nDefault rule, excess over the best baseline: {fmt(v.get('firstExcess'))} at the first checkpoint, {fmt(v.get('lastExcess'))} at the last." + note


def indistinguishability(d):
    if d is None:
        return "_not run_"
    rows = [[r["name"], r["loss"], r["stationary_plain_relu"], (r["layer_residual"] + [None])[1], r["d5"], r["d5_scale_invariant"], r["evaluation"]["good"]]
            for r in d.get("indistinguishability", [])]
    ev = d["evaluation"]
    rules = table(["rule", "attack", "truth", "zeros", "init", "other training", "fresh sample"],
                  [[r["rule"], r["attack"], r["truth"], r["zeros"], r["init"], r["other_training"], r["fresh_sample"]] for r in ev["rules"]])
    return "The attack's output (box prior, sweep-chosen settings) under every rule, beside the baselines:\n\n" + rules + \
        "\n\nThe prior-free objective on one network (span-projected first layer) at sets near and far from the training set:\n\n" + \
        table(["set", "L", "L_stat plain ReLU", "‖θ₂−G₂‖²", "D5", "D5 scale-inv.", "good"], rows)


def theory(folder):
    rows = []
    m = load(folder, "03-merge-lemma")
    rows.append(["Lemma 2 (merge), trained MNIST net", "stationarity-sum change / ‖θ‖", get(m, "sumChange"), "forced merge of different patterns", get(m, "forcedSumChange")])
    s = load(folder, "04-split-lemma")
    rows.append(["Lemma 3 (split), trained MNIST net", "stationarity-sum change / ‖θ‖", get(s, "sumChange"), "merge ∘ split round trip", get(s, "roundTripError")])
    f = load(folder, "05-far-away-sets")
    for r in get(f, "mnist", default=[]):
        rows.append([f"Theorem 4, S_r with r = {fmt(r.get('Radius'))}", "min distance / stationarity change", r.get("MinDistance"), "margin change", r.get("MaxMarginChange")])
    l = load(folder, "06-approximately-low-dimensional")
    rows.append(["Theorem 5 (derived bound)", "log-log slope of split length vs 1/σ_min, exact instances (smallest over points)", get(l, "exactSlopes", "measuredMin"), "trained networks", get(l, "trainedSlope")])
    a = load(folder, "07-approximate-kkt")
    sp = get(a, "splits", default=[])
    if sp:
        rows.append(["Lemmas 6–7 (δ cost of a split)", "measured δ", sp[0].get("measured"), "predicted δ", sp[0].get("predicted")])
    return table(["statement", "quantity", "value", "contrast", "value"], rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fast", default="out/results")
    ap.add_argument("--long", action="append", default=[])
    ap.add_argument("--write")
    a = ap.parse_args()
    blocks = {
        "theory": theory(a.fast),
        "fast-08": indistinguishability(load(a.fast, "08-reconstruction-attack")),
        "fast-09": experiment_a(load(a.fast, "09-no-prior-sphere")),
        "fast-10": experiment_b(load(a.fast, "10-prior-strength")),
        "fast-11": experiment_c(load(a.fast, "11-train-longer-leak-less")),
    }
    for spec in a.long:
        name, folder = spec.split("=", 1)
        for key, nb, f in (("09", "09-no-prior-sphere", experiment_a), ("10", "10-prior-strength", experiment_b), ("11", "11-train-longer-leak-less", experiment_c)):
            d = load(folder, nb)
            if d is not None:
                blocks[f"long-{name}-{key}"] = f(d)
    if not a.write:
        for k, v in blocks.items():
            print(f"## {k}\n\n{v}\n")
        return
    text = open(a.write, encoding="utf-8").read()
    for k, v in blocks.items():
        pat = re.compile(rf"(<!-- BEGIN generated:{re.escape(k)} -->).*?(<!-- END generated:{re.escape(k)} -->)", re.S)
        text, count = pat.subn(lambda m: m.group(1) + "\n" + v + "\n" + m.group(2), text)
        if count == 0:
            print(f"reproduction.py: no block 'generated:{k}' in {a.write}; skipped", file=sys.stderr)
    open(a.write, "w", encoding="utf-8").write(text)


if __name__ == "__main__":
    main()
