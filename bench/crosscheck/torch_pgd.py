"""PyTorch side of the attack cross-check: the bundled advkit MNIST CNN's weights, the same MNIST test images, and
FGSM / PGD written from the papers (Goodfellow et al. 2015; Madry et al. 2018), printing one JSON line per attack and
eps with the robust accuracy. Run by run.mjs; see its header for the conventions.

usage: python3 torch_pgd.py --model models/mnist-cnn --data ../shared/datasets/mnist --n 1000 --eps 0.1,0.2,0.3
"""
import argparse
import gzip
import json
import os

import numpy as np
import torch
import torch.nn.functional as F


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith(".gz"):
        raw = gzip.decompress(raw)
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_weights(model_dir):
    manifest = json.load(open(os.path.join(model_dir, "model.json")))["weightsManifest"]
    tensors = {}
    for group in manifest:
        blob = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            count = int(np.prod(w["shape"]))
            tensors[w["name"]] = torch.tensor(
                np.frombuffer(blob, dtype=np.float32, count=count, offset=offset).reshape(w["shape"]).copy()
            )
            offset += 4 * count
    return tensors


class MnistCnn(torch.nn.Module):
    """advkit's 'mnist-cnn' (conv5x5-16 same, pool, conv5x5-32 same, pool, fc128, fc10) with its Keras weights;
    inputs NHWC in [0, 1] like advkit, flattened in NHWC order as tfjs does."""

    def __init__(self, w):
        super().__init__()
        self.w = w

    def forward(self, x):
        w = self.w
        h = x.permute(0, 3, 1, 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, w["conv1/kernel"].permute(3, 2, 0, 1), w["conv1/bias"], padding=2)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, w["conv2/kernel"].permute(3, 2, 0, 1), w["conv2/bias"], padding=2)), 2)
        h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)
        h = F.relu(h @ w["fc1/kernel"] + w["fc1/bias"])
        return h @ w["logits/kernel"] + w["logits/bias"]


def pgd(model, x, y, eps, steps, step_size, random_start, generator):
    """Untargeted L-inf PGD on cross-entropy of the logits, projected onto the ball and [0, 1] after each step."""
    delta = torch.zeros_like(x)
    if random_start:
        delta = (torch.rand(x.shape, generator=generator) * 2 - 1) * eps
    adv = (x + delta).clamp(0, 1)
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = F.cross_entropy(model(adv), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, adv)
        adv = adv.detach() + step_size * grad.sign()
        adv = torch.min(torch.max(adv, x - eps), x + eps).clamp(0, 1)
    return adv.detach()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--eps", default="0.1,0.2,0.3")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    images = read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"))[: args.n]
    labels = read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz"))[: args.n]
    x = torch.tensor(images, dtype=torch.float32).unsqueeze(-1) / 255
    y = torch.tensor(labels, dtype=torch.int64)
    model = MnistCnn(load_weights(args.model))
    with torch.no_grad():
        logits = model(x)
    print(json.dumps({"attack": "clean", "eps": 0, "accuracy": (logits.argmax(1) == y).float().mean().item(),
                      "logits_sum": logits.double().sum().item()}))
    generator = torch.Generator().manual_seed(0)
    for eps in [float(e) for e in args.eps.split(",")]:
        for name, steps, rel, rs in [("fgsm", 1, 1.0, False), ("pgd40", 40, 0.01 / 0.3, False)]:
            correct = 0
            for start in range(0, args.n, 250):
                xb, yb = x[start : start + 250], y[start : start + 250]
                adv = pgd(model, xb, yb, eps, steps, rel * eps, rs, generator)
                with torch.no_grad():
                    correct += (model(adv).argmax(1) == yb).sum().item()
            print(json.dumps({"attack": name, "eps": eps, "accuracy": correct / args.n}), flush=True)


if __name__ == "__main__":
    main()
