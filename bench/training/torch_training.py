#!/usr/bin/env python3
"""PyTorch CPU side of bench/training: the same adversarial training steps as advkit, same networks, weights,
images and settings.

Usage (run.mjs calls it after worker.mjs has written DIR):
  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \
    /usr/bin/python3 bench/training/torch_training.py --data DIR [--threads 2] [--quick] [--models mnist_cnn]

The networks are advkit's 'mnist-cnn', 'cifar-cnn' (with and without batch normalization) and
'preact-resnet18' written in PyTorch, loaded with the initial weights advkit's worker exported (NHWC -> NCHW
re-layout, checked against advkit's clean logits), trained on the same real training images in the same order
with the same settings (settings.json, in advkit's option names). One optimizer step is what a reference training
loop does (Madry et al. 2018; Wong, Rice & Kolter 2020, github.com/locuslab/fast_adversarial):

  * the batch's uint8 pixels to float in [0, 1] (NCHW), labels to int64;
  * the inner maximisation with the model in eval() mode (as advkit's): a uniform random start in the
    Linf ball, projected onto [0, 1]; then `steps` signed steps of the input gradient of the cross-entropy
    (torch.autograd.grad on the input only, no parameter gradients), each projected onto the ball and [0, 1]
    (PGD-7: 7 steps; FGSM-RS: 1 step of 1.25 eps);
  * model.train(), forward on the adversarial batch, mean cross-entropy, backward, SGD step (momentum,
    coupled weight decay, as torch.optim.SGD and advkit's 'coupled' mode);
  * the batch's loss and accuracy read back as Python numbers (.item(), as the reference loops log them).

Standard training is the same step without the inner maximisation. Times: `warmup` steps untimed, then each of
`timed` steps timed (time.perf_counter); one JSON line per model and method with the median.
Threads: torch.set_num_threads(--threads), one inter-op thread.
"""
import argparse
import copy
import json
import math
import os
import re
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


# ----------------------------------------------------------------------------
# advkit's architectures (src/models/architectures), layer names as in tfjs
# ----------------------------------------------------------------------------
class MnistCnn(nn.Module):
    """'mnist-cnn': conv5x5-16 same, ReLU, maxpool 2, conv5x5-32 same, ReLU, maxpool 2, fc128 ReLU, fc10."""

    def __init__(self, options):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5, padding=2)
        self.conv2 = nn.Conv2d(16, 32, 5, padding=2)
        self.fc1 = nn.Linear(7 * 7 * 32, 128)
        self.logits = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.logits(x)


class CifarCnn(nn.Module):
    """'cifar-cnn': conv3x3 32, 32, maxpool 2, 64, 64, maxpool 2, fc256 ReLU, fc10; with batchNorm, BN (momentum
    0.1 in torch's convention = tfjs 0.9, eps 1e-5) between each bias-free convolution and its ReLU."""

    def __init__(self, options):
        super().__init__()
        bn = bool(options.get('batchNorm', False))
        chans = [(3, 32), (32, 32), (32, 64), (64, 64)]
        for i, (cin, cout) in enumerate(chans, 1):
            setattr(self, f'conv{i}', nn.Conv2d(cin, cout, 3, padding=1, bias=not bn))
            setattr(self, f'conv{i}_bn', nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1) if bn else nn.Identity())
        self.fc1 = nn.Linear(8 * 8 * 64, 256)
        self.logits = nn.Linear(256, 10)

    def block(self, i, x):
        return F.relu(getattr(self, f'conv{i}_bn')(getattr(self, f'conv{i}')(x)))

    def forward(self, x):
        x = F.max_pool2d(self.block(2, self.block(1, x)), 2)
        x = F.max_pool2d(self.block(4, self.block(3, x)), 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.logits(x)


class PreActResNet18(nn.Module):
    """'preact-resnet18': ../shared/bench/torch_baseline.py's PreActResNet18 (Wong et al. 2020) with advkit's
    layer names (layer{s}_block{b}_bn1/conv1/bn2/conv2/shortcut, final_bn, logits), so that the exported weights
    load by name. advkit pads its stride-2 convolutions symmetrically and pools globally: the same function."""

    def __init__(self, options):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, padding=1, bias=False)
        self.blocks = []
        in_planes = 64
        for s, (planes, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)], 1):
            for b in (1, 2):
                name, st = f'layer{s}_block{b}', stride if b == 1 else 1
                setattr(self, f'{name}_bn1', nn.BatchNorm2d(in_planes))
                setattr(self, f'{name}_conv1', nn.Conv2d(in_planes, planes, 3, stride=st, padding=1, bias=False))
                setattr(self, f'{name}_bn2', nn.BatchNorm2d(planes))
                setattr(self, f'{name}_conv2', nn.Conv2d(planes, planes, 3, padding=1, bias=False))
                if st != 1 or in_planes != planes:
                    setattr(self, f'{name}_shortcut', nn.Conv2d(in_planes, planes, 1, stride=st, bias=False))
                self.blocks.append(name)
                in_planes = planes
        self.final_bn = nn.BatchNorm2d(512)
        self.logits = nn.Linear(512, 10)

    def forward(self, x):
        out = self.conv1(x)
        for name in self.blocks:
            a = F.relu(getattr(self, f'{name}_bn1')(out))
            shortcut = getattr(self, f'{name}_shortcut')(a) if hasattr(self, f'{name}_shortcut') else out
            h = getattr(self, f'{name}_conv1')(a)
            out = getattr(self, f'{name}_conv2')(F.relu(getattr(self, f'{name}_bn2')(h))) + shortcut
        out = F.relu(self.final_bn(out))
        return self.logits(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


ARCHITECTURES = {'mnist-cnn': MnistCnn, 'cifar-cnn': CifarCnn, 'preact-resnet18': PreActResNet18}
BN_PARAMS = {'gamma': 'weight', 'beta': 'bias', 'moving_mean': 'running_mean', 'moving_variance': 'running_var'}


# ----------------------------------------------------------------------------
# The exported weights and images
# ----------------------------------------------------------------------------
def load_exported(data_dir, name, spec):
    """The network with advkit's initial weights, the images (uint8 NHWC), labels and advkit's first logits."""
    with open(os.path.join(data_dir, f'{name}.json')) as f:
        manifest = json.load(f)
    model = ARCHITECTURES[spec['architecture']](spec['options'])
    flat = np.fromfile(os.path.join(data_dir, f'{name}.weights.bin'), dtype=np.float32)
    offset, loaded = 0, set()
    with torch.no_grad():
        for w in manifest['weights']:
            size = int(np.prod(w['shape']))
            value = torch.from_numpy(flat[offset:offset + size].reshape(w['shape']).copy())
            offset += size
            # tfjs makes variable names unique with a suffix ('fc1/kernel_4' in a second network).
            layer_name, param = w['name'].split('/')
            param = re.sub(r'_\d+$', '', param)
            layer = getattr(model, layer_name)
            if param in BN_PARAMS:
                target = getattr(layer, BN_PARAMS[param])
            elif param == 'bias':
                target = layer.bias
            elif isinstance(layer, nn.Conv2d):
                target, value = layer.weight, value.permute(3, 2, 0, 1)  # [kh, kw, in, out] -> [out, in, kh, kw]
            elif layer_name == 'fc1':
                # The dense layer after the convolutions: tfjs flattens (h, w, c), torch (c, h, w).
                channels = model.conv2.out_channels if spec['architecture'] == 'mnist-cnn' else model.conv4.out_channels
                side = math.isqrt(layer.in_features // channels)
                value = value.reshape(side, side, channels, -1).permute(3, 2, 0, 1).reshape(layer.out_features, -1)
                target = layer.weight
            else:
                target, value = layer.weight, value.t()
            if tuple(target.shape) != tuple(value.shape):
                sys.exit(f'{name}: {w["name"]} has shape {list(value.shape)}, the torch network expects {list(target.shape)}.')
            target.copy_(value)
            loaded.add(f'{layer_name}/{param}')
    expected = len(list(model.parameters())) + sum(1 for n, _ in model.named_buffers() if 'running' in n)
    if len(loaded) != expected:
        sys.exit(f'{name}: {len(loaded)} exported tensors for {expected} torch parameters and statistics.')
    images = np.fromfile(os.path.join(data_dir, f'{name}.images.bin'), dtype=np.uint8).reshape(manifest['images'])
    logits = np.fromfile(os.path.join(data_dir, f'{name}.logits.bin'), dtype=np.float32).reshape(manifest['logits'])
    labels = torch.tensor(manifest['labels'], dtype=torch.int64)
    return model, images, labels, torch.from_numpy(logits)


def batch_tensor(images, start, n):
    """uint8 NHWC -> float32 NCHW in [0, 1] (what advkit's toTensors does per step)."""
    x = torch.from_numpy(images[start:start + n]).permute(0, 3, 1, 2).float().div_(255)
    return x.contiguous()


# ----------------------------------------------------------------------------
# The inner maximisation and the step
# ----------------------------------------------------------------------------
def perturb(model, x, y, eps, steps, step_size, gen):
    """Linf PGD from a uniform random start (FGSM-RS: one step), last iterate, model in eval() mode."""
    model.eval()
    x_adv = (x + (torch.rand(x.shape, generator=gen) * 2 - 1) * eps).clamp_(0, 1)
    for _ in range(steps):
        x_adv.requires_grad_(True)
        loss = F.cross_entropy(model(x_adv), y, reduction='sum')
        (g,) = torch.autograd.grad(loss, x_adv)
        x_adv = x_adv.detach() + step_size * g.sign()
        x_adv = torch.min(torch.max(x_adv, x - eps), x + eps).clamp_(0, 1)
    model.train()
    return x_adv.detach()


def train_step(model, opt, images, labels, start, n, method, spec, gen):
    x = batch_tensor(images, start, n)
    y = labels[start:start + n]
    adv = method['adversarial']
    if adv is not None:
        eps = spec['eps']
        if adv['method'] == 'fgsm-rs':
            x = perturb(model, x, y, eps, 1, adv['stepSizeOfEps'] * eps, gen)
        else:
            x = perturb(model, x, y, eps, adv['steps'], spec['pgd7StepSize'], gen)
    model.train()
    opt.zero_grad(set_to_none=True)
    out = model(x)
    loss = F.cross_entropy(out, y)
    loss.backward()
    opt.step()
    return loss.item(), (out.argmax(1) == y).sum().item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--models', default=None)
    args = ap.parse_args()

    with open(os.path.join(HERE, 'settings.json')) as f:
        settings = json.load(f)
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    libs = set()
    with open('/proc/self/maps') as f:
        for line in f:
            p = line.split()[-1]
            if any(k in p for k in ('blas', 'mkl', 'dnnl')):
                libs.add(os.path.basename(p))
    print(json.dumps({'framework': 'pytorch-cpu', 'info': 'env', 'torch': torch.__version__,
                      'threads': torch.get_num_threads(), 'blas_libs': sorted(libs)}), flush=True)

    opt_settings = settings['optimizer']
    names = args.models.split(',') if args.models else [m for m, spec in settings['models'].items()
                                                          if not spec.get('optIn')]
    for name in names:
        spec = settings['models'][name]
        s = {**settings['steps'], **spec.get('steps', {})}
        warmup, timed = (s['quickWarmup'], s['quickTimed']) if args.quick else (s['warmup'], s['timed'])
        batch = spec.get('quickBatch', spec['batch']) if args.quick else spec['batch']
        methods = [m for m in settings['methods'] if m['id'] in spec.get('methods', [m['id']])]
        initial, images, labels, advkit_logits = load_exported(args.data, name, spec)
        initial.eval()
        with torch.no_grad():
            diff = (initial(batch_tensor(images, 0, batch)) - advkit_logits).abs().max().item()
        print(json.dumps({'framework': 'pytorch-cpu', 'info': 'logits-check', 'model': name,
                          'max_abs_diff_vs_advkit': diff}), flush=True)
        for method in methods:
            torch.manual_seed(0)
            gen = torch.Generator().manual_seed(0)
            model = copy.deepcopy(initial)
            model.train()
            opt = torch.optim.SGD(model.parameters(), lr=opt_settings['lr'], momentum=opt_settings['momentum'],
                                  weight_decay=opt_settings['weightDecay'])
            times, losses = [], []
            for i in range(warmup + timed):
                t0 = time.perf_counter()
                loss, _ = train_step(model, opt, images, labels, i * batch, batch, method, spec, gen)
                times.append(time.perf_counter() - t0)
                losses.append(round(loss, 5))
            step_times = times[warmup:]
            med = statistics.median(step_times)
            steps_per_epoch = math.ceil(spec['trainImages'] / batch)
            print(json.dumps({
                'framework': 'pytorch-cpu', 'model': name, 'method': method['id'], 'batch': batch,
                'images_per_s': round(batch / med, 2), 'median_s': round(med, 4),
                'times_s': [round(t, 4) for t in step_times], 'warmup_s': [round(t, 4) for t in times[:warmup]],
                'steps_per_epoch': steps_per_epoch, 'epoch_s_extrapolated': round(steps_per_epoch * med, 1),
                'step_losses': losses,
            }), flush=True)


if __name__ == '__main__':
    main()
