#!/usr/bin/env python3
"""PyTorch CPU side of bench/attacks: the same attacks as advkit, on the same weights and inputs.

Usage (run.mjs calls it after worker.mjs has written DIR):
  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \
    /usr/bin/python3 bench/attacks/torch_attacks.py --data DIR [--threads 2] [--quick] [--only fgsm,pgd10]

The networks are MadryMNIST and SmallCIFAR of ../shared/bench/torch_baseline.py, loaded with the weights that
advkit's worker exported (NHWC -> NCHW re-layout, checked against advkit's clean logits), attacked on the
same inputs with the same parameters (settings.json, in advkit's parameter names). Each attack is written
here from its paper, following advkit's choices where the paper leaves room:

  * FGSM (Goodfellow et al. 2015): x + eps * sign(grad of the summed cross-entropy), clipped to [0, 1].
  * PGD Linf (Madry et al. 2018): uniform random start in the eps-ball, `steps` signed steps of relStepSize *
    eps, projection onto the ball and [0, 1] after each; no early stop; the last iterate is returned.
  * C&W-L2 (Carlini & Wagner 2017, the reference l2_attack.py): tanh change of variables, Adam (0.9, 0.999,
    1e-8) from w0 each round, loss ||x' - x0||^2 + c * max(Z_y - max_{j != y} Z_j + kappa, 0), the search
    over c per example (x10 until a success, then bisection), binarySearchSteps x steps gradient evaluations
    (no early abort), the smallest successful x' kept.
  * Square Linf (Andriushchenko et al. 2020, Algorithm 2): vertical-stripe initialisation at +-eps, then per
    query one random square per example (side round(sqrt(p h w)), p = pInit halved on the paper's schedule
    rescaled to the budget) set to x +- eps per channel (signs redrawn if the square would not change), kept
    where the margin loss drops or the example becomes adversarial; only examples not yet adversarial are
    queried (as the paper and advkit), so settings.json picks an eps at which the budget is spent.

Every measurement times what advkit's runAttack does for one batch: the clean predictions, the attack, the
projection onto the eps-ball and the bounds, the predictions on the result, success and L0/L1/L2/Linf
distances. Model parameters are frozen, so backward passes compute input gradients only (as advkit's
attacks). Threads: torch.set_num_threads(--threads), one inter-op thread. One JSON line per measurement,
with gradient evaluations and forward queries per image as counted here (a gradient counts as a query too,
as in advkit).
"""
import argparse
import importlib.util
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
BASELINE = os.path.normpath(os.path.join(HERE, '..', '..', '..', 'shared', 'bench', 'torch_baseline.py'))


def load_baseline():
    if not os.path.exists(BASELINE):
        sys.exit(f'torch_attacks.py needs the reference networks of {BASELINE}; it is missing.')
    spec = importlib.util.spec_from_file_location('torch_baseline', BASELINE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {'mnist_cnn': module.MadryMNIST, 'cifar_small_cnn': module.SmallCIFAR}


# ----------------------------------------------------------------------------
# The exported model and inputs
# ----------------------------------------------------------------------------
def load_exported(data_dir, name, ctor):
    """The network with advkit's weights, the inputs (NCHW), labels and advkit's clean logits."""
    with open(os.path.join(data_dir, f'{name}.json')) as f:
        manifest = json.load(f)
    flat = np.fromfile(os.path.join(data_dir, f'{name}.weights.bin'), dtype=np.float32)
    tensors, offset = [], 0
    for w in manifest['weights']:
        size = int(np.prod(w['shape']))
        tensors.append(torch.from_numpy(flat[offset:offset + size].reshape(w['shape']).copy()))
        offset += size
    model = ctor()
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if len(layers) * 2 != len(tensors):
        sys.exit(f'{name}: {len(tensors)} exported tensors for {len(layers)} layers with bias.')
    last_channels = None
    with torch.no_grad():
        for i, layer in enumerate(layers):
            kernel, bias = tensors[2 * i], tensors[2 * i + 1]
            if isinstance(layer, nn.Conv2d):
                layer.weight.copy_(kernel.permute(3, 2, 0, 1))  # [kh, kw, in, out] -> [out, in, kh, kw]
                last_channels = layer.out_channels
            elif last_channels is not None:
                # The first dense layer after the convolutions: tfjs flattens (h, w, c), torch (c, h, w).
                side = int(math.isqrt(layer.in_features // last_channels))
                k = kernel.reshape(side, side, last_channels, layer.out_features)
                layer.weight.copy_(k.permute(3, 2, 0, 1).reshape(layer.out_features, -1))
                last_channels = None
            else:
                layer.weight.copy_(kernel.t())
            layer.bias.copy_(bias)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    x = np.fromfile(os.path.join(data_dir, f'{name}.x.bin'), dtype=np.float32).reshape(manifest['x'])
    logits = np.fromfile(os.path.join(data_dir, f'{name}.logits.bin'), dtype=np.float32).reshape(manifest['logits'])
    x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    y = torch.tensor(manifest['labels'], dtype=torch.int64)
    return model, x, y, torch.from_numpy(logits)


# ----------------------------------------------------------------------------
# Attacks
# ----------------------------------------------------------------------------
class Cost:
    def __init__(self):
        self.gradients = 0
        self.queries = 0

    def gradient(self, n):
        self.gradients += n
        self.queries += n


def ce_gradient(model, x_adv, y, cost):
    """Gradient of the summed cross-entropy with respect to the input (advkit's 'ce' loss, summed)."""
    x_adv = x_adv.detach().requires_grad_(True)
    loss = F.cross_entropy(model(x_adv), y, reduction='sum')
    (g,) = torch.autograd.grad(loss, x_adv)
    cost.gradient(x_adv.shape[0])
    return g


def project_linf(x, x_adv, eps):
    return torch.min(torch.max(x_adv, x - eps), x + eps).clamp_(0, 1)


def fgsm(model, x, y, eps, params, gen, cost):
    g = ce_gradient(model, x, y, cost)
    return (x + eps * g.sign()).clamp_(0, 1)


def pgd_linf(model, x, y, eps, params, gen, cost):
    step = params['relStepSize'] * eps
    x_adv = project_linf(x, x + (torch.rand(x.shape, generator=gen) * 2 - 1) * eps, eps)
    for _ in range(params['steps']):
        g = ce_gradient(model, x_adv, y, cost)
        x_adv = project_linf(x, x_adv + step * g.sign(), eps)
    return x_adv


TANH_SHRINK = 0.999999
UPPER_BOUND = 1e10
BISECT_BELOW = 1e9


def cw_l2(model, x, y, eps, params, gen, cost):
    n = x.shape[0]
    kappa = float(params['confidence'])
    w0 = torch.atanh(((x - 0.5) / 0.5).clamp(-1, 1) * TANH_SHRINK)
    x0 = torch.tanh(w0) * 0.5 + 0.5
    true_class = F.one_hot(y, 10).bool()
    best_x = x.clone()
    best_norm = torch.full((n,), math.inf)
    consts = torch.full((n,), float(params['initialConst']), dtype=torch.float64)
    lower = torch.zeros(n, dtype=torch.float64)
    upper = torch.full((n,), UPPER_BOUND, dtype=torch.float64)
    rounds = params['binarySearchSteps']
    for r in range(rounds):
        if rounds >= 10 and r == rounds - 1:
            consts = upper.clone()
        c = consts.float()
        delta = torch.zeros_like(x, requires_grad=True)
        opt = torch.optim.Adam([delta], lr=params['stepSize'], betas=(0.9, 0.999), eps=1e-8)
        found = torch.zeros(n, dtype=torch.bool)
        for _ in range(params['steps']):
            point = torch.tanh(w0 + delta) * 0.5 + 0.5
            z = model(point)
            real = z[true_class]
            other = z.masked_fill(true_class, -math.inf).max(1).values
            loss = ((point - x0) ** 2).flatten(1).sum(1) + c * (real - other + kappa).clamp(min=0)
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
            cost.gradient(n)
            with torch.no_grad():
                adversarial = (z + kappa * true_class).argmax(1) != y
                norms = (point - x).flatten(1).norm(dim=1)
                found |= adversarial
                better = adversarial & (norms < best_norm)
                best_norm[better] = norms[better]
                best_x[better] = point[better]
        upper = torch.where(found, torch.minimum(upper, consts), upper)
        lower = torch.where(found, lower, torch.maximum(lower, consts))
        bisect = (lower + upper) / 2
        consts = torch.where(upper < BISECT_BELOW, bisect, torch.where(found, consts, consts * 10))
    return best_x


SQUARE_HALVINGS = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000]
MAX_REDRAWS = 16


def square_side(p_init, it, budget, h, w):
    """p halved on the paper's schedule (rescaled from 10,000 queries to the budget); side round(sqrt(p h w))."""
    scaled = math.floor(it / budget * 10000)
    p = p_init / 2 ** sum(scaled > at for at in SQUARE_HALVINGS)
    return min(max(int(round(math.sqrt(p * h * w))), 1), h, w)


def margin(z, y):
    """z_y - max_{j != y} z_j per example (the paper's untargeted loss, minimised)."""
    true_class = F.one_hot(y, z.shape[1]).bool()
    return z[true_class] - z.masked_fill(true_class, -math.inf).max(1).values


def square_linf(model, x, y, eps, params, gen, cost):
    """Square Attack, Linf (Andriushchenko et al. 2020, Algorithm 2), one random window per example per query."""
    if params['loss'] != 'margin' or params['restarts'] != 1:
        raise ValueError('square_linf here implements the margin loss with one restart')
    n, c, h, w = x.shape
    budget = params['queries']
    stripes = (torch.randint(0, 2, (n, c, 1, w), generator=gen) * 2 - 1).float() * eps
    best = (x + stripes).clamp(0, 1)
    with torch.no_grad():
        loss = margin(model(best), y)
    cost.queries += n
    rows_h = torch.arange(h).view(1, 1, h, 1)
    cols_w = torch.arange(w).view(1, 1, 1, w)
    for it in range(budget - 1):
        active = (loss > 0).nonzero().squeeze(1)  # only the examples not yet adversarial are queried
        if active.numel() == 0:
            break
        k = active.numel()
        side = square_side(params['pInit'], it, budget, h, w)
        top = torch.randint(0, h - side + 1, (k, 1, 1, 1), generator=gen)
        left = torch.randint(0, w - side + 1, (k, 1, 1, 1), generator=gen)
        window = (rows_h >= top) & (rows_h < top + side) & (cols_w >= left) & (cols_w < left + side)
        xa, current = x[active], best[active]
        candidate = current.clone()
        todo = torch.ones(k, dtype=torch.bool)
        for _ in range(MAX_REDRAWS):  # redraw signs that would leave the square unchanged
            signs = (torch.randint(0, 2, (k, c, 1, 1), generator=gen) * 2 - 1).float() * eps
            proposal = torch.where(window, (xa + signs).clamp(0, 1), current)
            candidate[todo] = proposal[todo]
            changed = ((candidate - current).abs() >= 1e-7).flatten(1).any(1)
            todo = ~changed
            if not todo.any():
                break
        with torch.no_grad():
            new_loss = margin(model(candidate), y[active])
        cost.queries += k
        accept = (new_loss <= 0) | (new_loss < loss[active])
        idx = active[accept]
        best[idx] = candidate[accept]
        loss[idx] = new_loss[accept]
    return best


ATTACKS = {'fgsm': fgsm, 'pgd': pgd_linf, 'cw': cw_l2, 'square': square_linf}


# ----------------------------------------------------------------------------
# Harness (what runAttack does around the attack)
# ----------------------------------------------------------------------------
def evaluate(model, attack, x, y, eps, norm, params, gen):
    cost = Cost()
    with torch.no_grad():
        clean = model(x).argmax(1)
    x_adv = attack(model, x, y, eps, params, gen, cost).detach()
    with torch.no_grad():
        if eps is not None:
            if norm != 'linf':
                raise ValueError(f'projection for {norm} budgets is not implemented here')
            x_adv = project_linf(x, x_adv, eps)
        pred = model(x_adv).argmax(1)
        d = (x_adv - x).flatten(1)
        distances = {
            'l0': (d.abs() > 0).float().sum(1),
            'l1': d.abs().sum(1),
            'l2': d.norm(dim=1),
            'linf': d.abs().max(1).values,
        }
    return {
        'clean_accuracy': (clean == y).float().mean().item(),
        'success': pred != y,
        'distances': distances,
        'cost': cost,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True, help='directory written by worker.mjs')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--only', default=None, help='attack ids, comma-separated')
    ap.add_argument('--models', default=None)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    with open(os.path.join(HERE, 'settings.json')) as f:
        settings = json.load(f)
    attacks = [a for a in settings['attacks'] if args.only is None or a['id'] in args.only.split(',')]
    models = args.models.split(',') if args.models else list(settings['models'])
    ctors = load_baseline()
    libs = set()
    with open('/proc/self/maps') as f:
        for line in f:
            p = line.split()[-1]
            if any(k in p for k in ('blas', 'mkl', 'dnnl')):
                libs.add(p)
    emit({'info': 'env', 'torch': torch.__version__, 'threads': torch.get_num_threads(),
          'blas_libs': sorted(libs)})

    for name in models:
        spec = settings['models'][name]
        model, x_all, y_all, ref_logits = load_exported(args.data, name, ctors[name])
        with torch.no_grad():
            diff = (model(x_all) - ref_logits).abs().max().item()
        emit({'info': 'logits-check', 'model': name, 'max_abs_diff_vs_advkit': diff})
        if diff > 1e-3:
            sys.exit(f'{name}: the loaded network disagrees with advkit\'s logits by {diff}.')
        eps = spec['eps']
        gen = torch.Generator().manual_seed(0)
        for _ in range(2):  # warm-up, as the advkit side
            evaluate(model, fgsm, x_all, y_all, eps, 'linf', {}, gen)
        for a in attacks:
            batch = a['quickBatch'] if args.quick else a['batch']
            reps = a['quickReps'] if args.quick else a['reps']
            x, y = x_all[:batch], y_all[:batch]
            budget = None if a.get('minimal') else a.get('eps', {}).get(name, eps)
            times = []
            for r in range(reps):
                gen = torch.Generator().manual_seed(r)
                t0 = time.perf_counter()
                out = evaluate(model, ATTACKS[a['attack']], x, y, budget, a['norm'], a['params'], gen)
                times.append(time.perf_counter() - t0)
            med = statistics.median(times)
            l2 = out['distances']['l2']
            emit({
                'model': name,
                'attack': a['id'],
                'batch': batch,
                'images_per_s': round(batch / med, 2),
                'median_s': round(med, 3),
                'times_s': [round(t, 3) for t in times],
                'gradients_per_image': out['cost'].gradients / batch,
                'queries_per_image': out['cost'].queries / batch,
                'success_rate': out['success'].float().mean().item(),
                'mean_l2': l2.mean().item(),
                'median_l2': l2.sort().values[batch // 2].item(),  # the upper median, as worker.mjs
                'mean_linf': out['distances']['linf'].mean().item(),
            })


def emit(record):
    print(json.dumps({'framework': 'pytorch-cpu', **record}), flush=True)


if __name__ == '__main__':
    main()
