#!/usr/bin/env python3
"""PyTorch CPU side of bench/defend: CERTIFY (Cohen, Rosenfeld & Kolter 2019, Algorithm 1) written in plain PyTorch
from the paper, on the same weights and inputs as advkit's `certify`, timed, with its per-point results.

Usage (run.mjs calls it; worker.mjs --part certify writes DIR first):
  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_WAIT_POLICY=PASSIVE \
    /usr/bin/python3 bench/defend/torch_certify.py --data DIR [--threads 2] [--quick] [--paced]

The network: bench/explain/torch_explain.py's KerasChain (the model's model.json and weight shards read into
PyTorch ops), imported, not copied; its logits on the inputs are checked against a plain forward pass here.

CERTIFY, per image, as the paper's reference code does it (one image at a time, batches of batchSize noisy copies):
  * n0 copies x + e, e ~ N(0, sigma^2 I) unclipped; the top class of the base classifier's counts is the guess cA;
  * n fresh copies; nA = how many the base classifier puts in cA;
  * pA_lower = the one-sided (1 - alpha) Clopper-Pearson lower bound on pA: the alpha quantile of Beta(nA, n - nA + 1)
    (0 when nA = 0), which is proportion_confint(nA, n, alpha=2 alpha, method="beta")[0] of the paper's code;
  * abstain when pA_lower < 1/2, else certify radius sigma * PhiInverse(pA_lower).
The Beta quantile is computed here without scipy (not installed): the regularized incomplete beta function by its
continued fraction (modified Lentz), inverted by bisection; it is checked against closed forms at start. Phi^-1 is
Python's statistics.NormalDist.

After advkit's engines have certified the same points (their results are in DIR when this script's timed step
runs), the bound of this script is also computed on advkit's counts: the two implementations of Clopper-Pearson and
of the radius must then agree to rounding.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "explain"))
from torch_explain import KerasChain  # noqa: E402  (the shared rebuild of a tfjs Keras chain in PyTorch)


def incomplete_beta(x, a, b):
    """I_x(a, b), the regularized incomplete beta function, by its continued fraction (float64)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    # The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - incomplete_beta(1.0 - x, b, a)
    log_front = a * math.log(x) + b * math.log1p(-x) - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    f = d
    for m in range(1, 100000):
        # The even step d_{2m}, then the odd step d_{2m+1}, of the fraction 1 / (1 + d1 / (1 + d2 / ...)).
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            f *= c * d
        if abs(c * d - 1.0) < 1e-16:
            break
    return math.exp(log_front) * f / a


def beta_quantile(q, a, b):
    """The x with I_x(a, b) = q, by bisection to float64 resolution."""
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if incomplete_beta(mid, a, b) < q:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def clopper_pearson_lower(successes, trials, alpha):
    """One-sided (1 - alpha) lower confidence bound on a binomial proportion."""
    if successes == 0:
        return 0.0
    return beta_quantile(alpha, successes, trials - successes + 1)


def check_statistics():
    """The bound against its closed forms: nA = n gives alpha^(1/n); nA = 1 gives 1 - (1 - alpha)^(1/n)."""
    for n, alpha in ((10, 0.05), (1000, 0.001), (100000, 0.001)):
        for got, want in (
            (clopper_pearson_lower(n, n, alpha), alpha ** (1 / n)),
            (clopper_pearson_lower(1, n, alpha), 1 - (1 - alpha) ** (1 / n)),
        ):
            if abs(got - want) > 1e-12:
                raise AssertionError(f"Clopper-Pearson n={n} alpha={alpha}: {got}, expected {want}")


def radius_of(p_lower, sigma):
    return sigma * statistics.NormalDist().inv_cdf(p_lower) if p_lower >= 0.5 else 0.0


def sample_counts(model, x, num, sigma, batch, generator, num_classes):
    """How often the base classifier picks each class on num copies of x (CHW) with N(0, sigma^2) noise added."""
    counts = torch.zeros(num_classes, dtype=torch.long)
    remaining = num
    with torch.no_grad():
        while remaining > 0:
            k = min(batch, remaining)
            noise = torch.randn((k, *x.shape), generator=generator) * sigma
            counts += torch.bincount(model(x.unsqueeze(0) + noise).argmax(1), minlength=num_classes)
            remaining -= k
    return counts


def certify(model, x, p, num_classes, generator):
    """CERTIFY for one image: (prediction or -1, radius, pA_lower, counts of the n estimation copies)."""
    selection = sample_counts(model, x, p["n0"], p["sigma"], p["batchSize"], generator, num_classes)
    guess = int(selection.argmax())
    counts = sample_counts(model, x, p["n"], p["sigma"], p["batchSize"], generator, num_classes)
    p_lower = clopper_pearson_lower(int(counts[guess]), p["n"], p["alpha"])
    if p_lower < 0.5:
        return -1, 0.0, p_lower, counts.tolist()
    return guess, radius_of(p_lower, p["sigma"]), p_lower, counts.tolist()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--paced", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    settings = json.load(open(os.path.join(HERE, "settings.json")))["certify"]
    emit = lambda rec: print(json.dumps({"framework": "pytorch-cpu", "part": "certify", **rec}), flush=True)

    def step(label):
        """With --paced: say which step comes next and wait for the go; stdin closed ends the run."""
        if args.paced:
            print(json.dumps({"wait": label}), flush=True)
            if sys.stdin.readline() == "":
                sys.exit(0)

    check_statistics()
    emit(
        {
            "info": "env",
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "mkldnn": torch.backends.mkldnn.is_available(),
            "blas": os.environ.get("LD_LIBRARY_PATH", ""),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(default)"),
        }
    )

    step("set-up")
    manifest = json.load(open(os.path.join(args.data, "certify.json")))
    if manifest["preprocessing"] not in ({}, None):
        raise ValueError(f"preprocessing {manifest['preprocessing']} is not handled")
    n_images, height, width, channels = manifest["x"]
    p = manifest["params"]
    x_nhwc = np.fromfile(os.path.join(args.data, "certify.x.bin"), dtype=np.float32).reshape(manifest["x"])
    x = torch.tensor(x_nhwc).permute(0, 3, 1, 2).contiguous()
    model = KerasChain(manifest["model"], (height, width, channels))
    num_classes = manifest["numClasses"]
    with torch.no_grad():
        clean = model(x).argmax(1).tolist()

    step("warm-up")
    certify(model, x[0], {**p, "n": min(p["n"], 2 * p["batchSize"])}, num_classes, torch.Generator().manual_seed(1))

    times = []
    for r in range(settings["reps"]):
        step(f"certify run {r + 1}/{settings['reps']}")
        generator = torch.Generator().manual_seed(p["seed"])
        t0 = time.perf_counter()
        results = [certify(model, x[i], p, num_classes, generator) for i in range(n_images)]
        times.append(time.perf_counter() - t0)
    s = statistics.median(times)
    emit(
        {
            "images": n_images,
            **p,
            "samples_per_s": round(n_images * (p["n0"] + p["n"]) / s, 1),
            "s_per_image": round(s / n_images, 3),
            "median_s": round(s, 3),
            "times_s": [round(t, 3) for t in times],
            "points": [
                {
                    "label": manifest["labels"][i],
                    "clean_prediction": clean[i],
                    "prediction": pred,
                    "radius": radius,
                    "pALower": p_lower,
                    "counts": counts,
                }
                for i, (pred, radius, p_lower, counts) in enumerate(results)
            ],
        }
    )

    # This script's bound and radius on advkit's counts: the same numbers, if both implementations are right.
    for name in sorted(os.listdir(args.data)):
        if not (name.startswith("certify.") and name.endswith(".json")) or name == "certify.json":
            continue
        engine = name[len("certify.") : -len(".json")]
        worst_bound = worst_radius = 0.0
        for point in json.load(open(os.path.join(args.data, name))):
            counts = point["counts"]
            if point["prediction"] >= 0:
                top = counts[point["prediction"]]
            else:
                # An abstention does not say which class was guessed: take the class whose bound is advkit's.
                top = min(counts, key=lambda c: abs(clopper_pearson_lower(c, p["n"], p["alpha"]) - point["pALower"]))
            bound = clopper_pearson_lower(top, p["n"], p["alpha"])
            worst_bound = max(worst_bound, abs(bound - point["pALower"]))
            worst_radius = max(worst_radius, abs(radius_of(bound, p["sigma"]) - point["radius"]))
        emit(
            {
                "info": "bound-check",
                "engine": engine,
                "max_abs_diff_p_lower": worst_bound,
                "max_abs_diff_radius": worst_radius,
            }
        )


if __name__ == "__main__":
    main()
