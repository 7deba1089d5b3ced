"""PyTorch side of the evaluation benchmark: APGD-CE written from the paper (Croce & Hein 2020, "Reliable evaluation
of adversarial robustness with an ensemble of diverse parameter-free attacks", Algorithm 1 and sec. 3.2) on the
weights of advkit's robust MNIST model (read from its tfjs weight files, as bench/crosscheck does) and the same
MNIST test images. Prints one JSON line per record. Run by run.mjs; see its header for the conventions.

usage: python3 torch_apgd.py --model models/mnist-cnn-robust --data ../shared/datasets/mnist --n 1000
       [--eps 0.3] [--steps 100] [--batch 128] [--threads 2] [--seed 0] [--warmup 8]
       [--variants paper,drop-fooled]

Variants: 'paper' runs every attacked point for the whole budget, as the paper's algorithm and AutoAttack's code
do (a point counts as broken if any iterate was misclassified); 'drop-fooled' drops a point from the batch as soon
as an iterate is misclassified, as advkit does, so the gradient counts of the two sides can match.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crosscheck"))
from torch_pgd import MnistCnn, load_weights, read_idx  # noqa: E402  (the cross-check's weight reader and network)


def checkpoints(steps):
    """The iterations w_j = ceil(p_j * steps) where the step size may be halved: p_0 = 0, p_1 = 0.22,
    p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06). Kept: those strictly inside the run, each once. The p_j are
    counted in hundredths so that their sums are exact."""
    hundredths = [0, 22]
    while hundredths[-1] < 100:
        p, q = hundredths[-1], hundredths[-2]
        hundredths.append(p + max(p - q - 3, 6))
    found = sorted({-(-h * steps // 100) for h in hundredths[1:]})
    return [w for w in found if 0 < w < steps]


def project(x0, x, eps):
    """Onto the L-inf ball of radius eps around x0, then onto the image box [0, 1]."""
    return torch.min(torch.max(x, x0 - eps), x0 + eps).clamp(0, 1)


def ce_pass(model, x, y, with_grad):
    """Logits and per-example cross-entropy at x, and its input gradient when asked."""
    if not with_grad:
        with torch.no_grad():
            logits = model(x)
            return logits, F.cross_entropy(logits, y, reduction="none"), None
    x = x.detach().requires_grad_(True)
    logits = model(x)
    loss = F.cross_entropy(logits, y, reduction="none")
    (grad,) = torch.autograd.grad(loss.sum(), x)
    return logits.detach(), loss.detach(), grad


class Run:
    """Per-example state of one APGD run over the rows still attacked."""

    fields = ("x0", "y", "x", "x_prev", "grad", "x_max", "grad_max", "f_max", "f_last", "increases",
              "eta", "eta_at_check", "f_max_at_check", "rows")

    def keep(self, mask):
        for name in self.fields:
            setattr(self, name, getattr(self, name)[mask])


def apgd_ce(model, x0, y, eps, steps, rho, alpha, generator, drop_fooled, cost):
    """One APGD-CE run from a random start; returns 1 per example where some iterate was misclassified.

    x^1 = P(x^0 + eta * sign(grad f(x^0))); for k >= 1: z = P(x^k + eta * sign(grad f(x^k))),
    x^{k+1} = P(x^k + alpha * (z - x^k) + (1 - alpha) * (x^k - x^{k-1})), with the per-example step size eta
    starting at 2 * eps. At each checkpoint w_j, eta is halved and the iterate moved back to the best point seen
    (with its gradient) where (1) the loss rose in fewer than rho * (w_j - w_{j-1}) of the steps since w_{j-1},
    or (2) eta was not halved at w_{j-1} and the best loss has not risen since then. `steps` gradients per
    example at most (at x^0 .. x^{steps-1}); the last iterate is only scored.
    """
    fooled = torch.zeros(len(y), dtype=torch.bool)
    s = Run()
    s.x0, s.y, s.rows = x0, y, torch.arange(len(y))
    start = (torch.rand(x0.shape, generator=generator) * 2 - 1) * eps
    s.x = project(x0, x0 + start, eps)
    logits, loss, s.grad = ce_pass(model, s.x, y, True)
    cost["gradients"] += len(y)
    fooled |= logits.argmax(1) != y
    s.x_prev, s.x_max, s.grad_max = s.x, s.x, s.grad
    s.f_max, s.f_last = loss, loss
    s.increases = torch.zeros(len(y))
    s.eta = torch.full((len(y),), 2.0 * eps)
    s.eta_at_check, s.f_max_at_check = s.eta.clone(), loss.clone()
    marks = set(checkpoints(steps))
    last_mark = 0
    if drop_fooled:
        s.keep(~fooled[s.rows])
    for k in range(steps):
        if len(s.rows) == 0:
            break
        a = 1.0 if k == 0 else alpha
        z = project(s.x0, s.x + s.eta.view(-1, 1, 1, 1) * s.grad.sign(), eps)
        x_next = project(s.x0, s.x + a * (z - s.x) + (1 - a) * (s.x - s.x_prev), eps)
        with_grad = k + 1 < steps
        logits, loss, grad = ce_pass(model, x_next, s.y, with_grad)
        cost["gradients" if with_grad else "forwards"] += len(s.rows)
        fooled[s.rows] |= logits.argmax(1) != s.y
        s.increases += (loss > s.f_last).float()
        s.f_last = loss
        better = loss > s.f_max
        s.x_max = torch.where(better.view(-1, 1, 1, 1), x_next, s.x_max)
        s.f_max = torch.where(better, loss, s.f_max)
        s.x_prev, s.x = s.x, x_next
        if with_grad:
            s.grad_max = torch.where(better.view(-1, 1, 1, 1), grad, s.grad_max)
            s.grad = grad
        if k + 1 in marks:
            oscillating = s.increases < rho * (k + 1 - last_mark)
            stalled = (s.eta == s.eta_at_check) & (s.f_max <= s.f_max_at_check)
            halve = oscillating | stalled
            s.eta_at_check, s.f_max_at_check = s.eta.clone(), s.f_max.clone()
            s.eta = torch.where(halve, s.eta / 2, s.eta)
            back = halve.view(-1, 1, 1, 1)
            s.x = torch.where(back, s.x_max, s.x)
            s.grad = torch.where(back, s.grad_max, s.grad)
            s.f_last = torch.where(halve, s.f_max, s.f_last)
            s.increases = torch.zeros_like(s.increases)
            last_mark = k + 1
        if drop_fooled:
            s.keep(~fooled[s.rows])
    return fooled


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--eps", type=float, default=0.3)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--rho", type=float, default=0.75)
    p.add_argument("--momentum", type=float, default=0.75)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--warmup", type=int, default=8, help="points of the untimed warm-up run")
    p.add_argument("--variants", default="paper,drop-fooled")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(json.dumps({"record": "env", "torch": torch.__version__, "threads": torch.get_num_threads()}))
    images = read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"))[: args.n]
    labels = read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz"))[: args.n]
    x = torch.tensor(images, dtype=torch.float32).unsqueeze(-1) / 255
    y = torch.tensor(labels, dtype=torch.int64)
    model = MnistCnn(load_weights(args.model))
    with torch.no_grad():
        logits = torch.cat([model(x[i : i + args.batch]) for i in range(0, args.n, args.batch)])
    print(json.dumps({"record": "clean", "accuracy": (logits.argmax(1) == y).float().mean().item(),
                      "logits_sum": logits.double().sum().item()}))
    # Warm-up (not timed), as advkit's worker does: one APGD-CE run on the first few points.
    apgd_ce(model, x[: args.warmup], y[: args.warmup], args.eps, args.steps, args.rho, args.momentum,
            torch.Generator().manual_seed(args.seed), False, {"gradients": 0, "forwards": 0})
    for variant in args.variants.split(","):
        generator = torch.Generator().manual_seed(args.seed)
        cost = {"gradients": 0, "forwards": 0}
        started = time.perf_counter()
        with torch.no_grad():
            predictions = torch.cat([model(x[i : i + args.batch]).argmax(1) for i in range(0, args.n, args.batch)])
        cost["forwards"] += args.n
        robust = predictions == y
        attacked = robust.nonzero().squeeze(1)
        attack_started = time.perf_counter()
        for i in range(0, len(attacked), args.batch):
            members = attacked[i : i + args.batch]
            fooled = apgd_ce(model, x[members], y[members], args.eps, args.steps, args.rho, args.momentum,
                             generator, variant == "drop-fooled", cost)
            robust[members[fooled]] = False
        ended = time.perf_counter()
        print(json.dumps({
            "record": "apgd-ce",
            "variant": variant,
            "n": args.n,
            "attacked": len(attacked),
            "robust_accuracy": robust.float().mean().item(),
            "gradients_per_point": cost["gradients"] / args.n,
            "queries_per_point": (cost["gradients"] + cost["forwards"]) / args.n,
            "seconds": ended - started,
            "attack_seconds": ended - attack_started,
            "points_per_s": args.n / (ended - started),
            "robust": "".join("1" if r else "0" for r in robust.tolist()),
        }), flush=True)


if __name__ == "__main__":
    main()
