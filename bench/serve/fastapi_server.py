#!/usr/bin/env python3
"""The baseline of bench/serve: what a user would deploy instead of `advkit serve`, FastAPI + PyTorch CPU serving
advkit's bundled mnist-cnn and cifar-cnn, the same weights, behind the same predict route.

Usage (run.mjs starts it; by hand):
  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_WAIT_POLICY=PASSIVE \
    /usr/bin/python3 bench/serve/fastapi_server.py --port 8001 [--threads 1] [--models mnist-cnn,cifar-cnn]
  /usr/bin/python3 bench/serve/fastapi_server.py --check-only     # the logit check, then exit

Networks: plain torch.nn modules (Conv2d, BatchNorm2d, ReLU, MaxPool2d, Linear) built from the model's model.json,
the weights read from its weights.bin per the weightsManifest: conv kernels HWIO -> OIHW; Keras 'same' padding of
an odd kernel at stride 1 is a symmetric padding of k // 2; batch normalization in eval mode with the layer's
epsilon; the first Dense layer after the Flatten gets its rows permuted from Keras's (h, w, c) flattening to
PyTorch's (c, h, w). Inputs arrive NHWC as advkit's and are permuted to NCHW.

The check: before serving, `node bench/serve/reference.mjs` loads each model with advkit (native engine, one
thread, as the server's compute thread) and gives its logits on the first test images; this script's logits on the
same inputs must agree to 1e-4 (max abs difference, printed as a JSON line {"check": ...}), else it exits 1.

Route (advkit's predict route, its JSON form): POST /v1/models/{name}/predict with {"inputs": [n][h][w][c], "top": k}
(raw inputs in the model's bounds, top default 3); checked as advkit checks them (shape, finite, within bounds;
422 otherwise); answered {"result": {"task": "predict", "model", "backend", "predictions": [{"source": "inputs[i]",
"top": [{"label", "index", "confidence"}]}]}} with softmax confidences. GET /readyz answers once the models are loaded.

Threads: torch.set_num_threads(--threads) (default 1, advkit serve's default of one compute thread with one engine
thread) and one inter-op thread; the forward passes run on one executor thread, one request at a time, while the
event loop (uvicorn, one worker process) parses JSON, as advkit's Fastify thread does beside its compute thread.
That thread runs at nice --compute-nice (default 10), as advkit serve's compute threads do (so that on busy cores
the event loop runs first); on a machine shared with other jobs this matters, so both sides get the same.
The body is read with request.json() and checked with numpy, not a pydantic model of nested lists (whose per-float
validation would make this baseline slower than FastAPI can be).
"""
import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


def read_weights(model_dir, manifest):
    """The float32 weights of a tfjs weightsManifest, by name."""
    out = {}
    for group in manifest:
        blob = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        at = 0
        for w in group["weights"]:
            if w.get("dtype", "float32") != "float32" or "quantization" in w:
                raise ValueError(f"{w['name']}: only float32 weights are handled")
            count = int(np.prod(w["shape"], dtype=np.int64))
            out[w["name"]] = torch.from_numpy(np.frombuffer(blob, np.float32, count, at).reshape(w["shape"]).copy())
            at += 4 * count
        if at != len(blob):
            raise ValueError(f"{group['paths']}: {len(blob)} bytes, manifest says {at}")
    return out


def build_network(model_dir):
    """(nn.Sequential taking NCHW, advkit.json) for a Sequential Keras model of the layers the bundled CNNs use."""
    spec = json.load(open(os.path.join(model_dir, "model.json")))
    meta = json.load(open(os.path.join(model_dir, "advkit.json")))
    topology = spec["modelTopology"]
    config = topology.get("model_config", topology)
    if config["class_name"] != "Sequential":
        raise ValueError(f"{model_dir}: only Sequential models are handled")
    weights = read_weights(model_dir, spec["weightsManifest"])
    used = set()

    def take(key):
        used.add(key)
        return weights[key]

    h, w, c = meta["inputShape"]
    shape = [c, h, w]  # NCHW shape of the activation so far
    layers = []
    flattened_from = None
    for layer in config["config"]["layers"]:
        kind, cfg = layer["class_name"], layer["config"]
        name = cfg["name"]
        act = cfg.get("activation", "linear")
        if act not in ("linear", "relu"):
            raise ValueError(f"{name}: activation {act} is not handled")
        if kind == "Conv2D":
            kh, kw = cfg["kernel_size"]
            if cfg["strides"] != [1, 1] or kh % 2 == 0 or kw % 2 == 0 or cfg.get("dilation_rate", [1, 1]) != [1, 1]:
                raise ValueError(f"{name}: only odd kernels at stride 1 are handled")
            pad = (kh // 2, kw // 2) if cfg["padding"] == "same" else (0, 0)
            conv = nn.Conv2d(shape[0], cfg["filters"], (kh, kw), padding=pad, bias=cfg["use_bias"])
            conv.weight.data = take(f"{name}/kernel").permute(3, 2, 0, 1).contiguous()
            if cfg["use_bias"]:
                conv.bias.data = take(f"{name}/bias")
            layers.append(conv)
            shape = [cfg["filters"], shape[1] + 2 * pad[0] - kh + 1, shape[2] + 2 * pad[1] - kw + 1]
        elif kind == "BatchNormalization":
            bn = nn.BatchNorm2d(shape[0], eps=cfg["epsilon"])
            bn.weight.data = take(f"{name}/gamma")
            bn.bias.data = take(f"{name}/beta")
            bn.running_mean.data = take(f"{name}/moving_mean")
            bn.running_var.data = take(f"{name}/moving_variance")
            layers.append(bn)
        elif kind == "Activation":
            pass  # the activation itself is appended below
        elif kind == "MaxPooling2D":
            (ph, pw), (sh, sw) = cfg["pool_size"], cfg["strides"] or cfg["pool_size"]
            if cfg["padding"] != "valid":
                raise ValueError(f"{name}: only valid pooling is handled")
            layers.append(nn.MaxPool2d((ph, pw), (sh, sw)))
            shape = [shape[0], (shape[1] - ph) // sh + 1, (shape[2] - pw) // sw + 1]
        elif kind == "Flatten":
            layers.append(nn.Flatten())
            flattened_from = list(shape)
            shape = [int(np.prod(shape))]
        elif kind == "Dense":
            kernel = take(f"{name}/kernel")  # [in, out], rows in Keras's order
            if flattened_from is not None:
                ch, hh, ww = flattened_from
                kernel = kernel.reshape(hh, ww, ch, -1).permute(2, 0, 1, 3).reshape(ch * hh * ww, -1)
                flattened_from = None
            dense = nn.Linear(kernel.shape[0], kernel.shape[1], bias=cfg["use_bias"])
            dense.weight.data = kernel.t().contiguous()
            if cfg["use_bias"]:
                dense.bias.data = take(f"{name}/bias")
            layers.append(dense)
            shape = [cfg["units"]]
        elif kind == "Dropout":
            continue
        else:
            raise ValueError(f"{name}: layer {kind} is not handled")
        if act == "relu":
            layers.append(nn.ReLU())
    if used != set(weights):
        raise ValueError(f"{model_dir}: weights not used: {sorted(set(weights) - used)}")
    return nn.Sequential(*layers).eval(), meta


class Served:
    """One model: the network, its input shape, bounds and class names."""

    def __init__(self, name):
        self.name = name
        self.net, meta = build_network(os.path.join(REPO, "models", name))
        self.shape = tuple(meta["inputShape"])
        self.bounds = tuple(meta["bounds"])
        self.classes = meta["classNames"]

    def logits(self, x_nhwc):
        with torch.inference_mode():
            return self.net(torch.from_numpy(x_nhwc).permute(0, 3, 1, 2))


def check_logits(served):
    """advkit's logits (reference.mjs) against ours on the same inputs: the max abs difference, per model."""
    records = []
    for model in served.values():
        out = subprocess.run(
            ["node", os.path.join(HERE, "reference.mjs"), "--model", model.name, "--n", "8"],
            cwd=REPO, capture_output=True, text=True, check=True,
        )
        ref = json.loads(out.stdout.strip().splitlines()[-1])
        x = np.asarray(ref["inputs"], dtype=np.float32)
        ours = model.logits(x).numpy()
        theirs = np.asarray(ref["logits"], dtype=np.float32)
        diff = float(np.abs(ours - theirs).max())
        records.append({
            "check": "logits", "model": model.name, "inputs": ref["source"], "n": len(x),
            "advkit_engine": ref["engine"], "max_abs_diff": diff,
            "max_abs_logit": float(np.abs(theirs).max()),
            "same_top1": int((ours.argmax(1) == theirs.argmax(1)).sum()), "ok": diff <= 1e-4,
        })
    return records


def set_compute_thread(threads, nice):
    """The compute thread's settings: torch's threads, and its CPU priority (Linux: per thread, by its id)."""
    torch.set_num_threads(threads)
    if nice:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def make_app(served, threads, nice):
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    app = FastAPI(title="advkit bench baseline: FastAPI + PyTorch")
    compute = ThreadPoolExecutor(max_workers=1, thread_name_prefix="compute")
    compute_nice = compute.submit(set_compute_thread, threads, nice).result()
    print(json.dumps({"info": "compute-thread", "threads": threads, "nice": compute_nice}), flush=True)

    def error(status, code, message):
        return JSONResponse({"code": code, "message": message}, status_code=status)

    @app.get("/readyz")
    async def readyz():
        return {"status": "ready", "models": len(served)}

    @app.post("/v1/models/{name}/predict")
    async def predict(name: str, request: Request):
        model = served.get(name)
        if model is None:
            return error(404, "NOT_FOUND", f"no model {name}")
        try:
            body = await request.json()
        except ValueError:
            return error(400, "INVALID_ARGUMENT", "the body is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("inputs"), list) or not body["inputs"]:
            return error(422, "INVALID_ARGUMENT", "inputs: a non-empty list [n, h, w, c] is required")
        top = body.get("top", 3)
        if not isinstance(top, int) or top < 1:
            return error(422, "INVALID_ARGUMENT", "top must be a positive integer")
        try:
            x = np.asarray(body["inputs"], dtype=np.float32)
        except (ValueError, TypeError):
            return error(422, "INVALID_ARGUMENT", f"inputs must be [n, {', '.join(map(str, model.shape))}] numbers")
        lo, hi = model.bounds
        if x.ndim != 4 or x.shape[1:] != model.shape:
            return error(422, "INVALID_ARGUMENT", f"inputs are {list(x.shape)}, expected [n, {model.shape}]")
        if not np.isfinite(x).all() or x.min() < lo or x.max() > hi:
            return error(422, "INVALID_ARGUMENT", f"inputs must be finite and within [{lo}, {hi}]")
        k = min(top, len(model.classes))

        def run():
            probs = torch.softmax(model.logits(x), dim=1)
            values, indices = torch.topk(probs, k, dim=1)
            return values.tolist(), indices.tolist()

        values, indices = await asyncio.get_running_loop().run_in_executor(compute, run)
        predictions = [
            {
                "source": f"inputs[{i}]",
                "top": [
                    {"label": model.classes[j], "index": j, "confidence": v} for v, j in zip(values[i], indices[i])
                ],
            }
            for i in range(len(values))
        ]
        return {"result": {"task": "predict", "model": name, "backend": "pytorch-cpu", "predictions": predictions}}

    return app


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8001)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models", default="mnist-cnn,cifar-cnn")
    ap.add_argument("--compute-nice", type=int, default=10)
    ap.add_argument("--check-only", action="store_true")
    ap.add_argument("--no-check", action="store_true")
    args = ap.parse_args()
    emit = lambda rec: print(json.dumps(rec), flush=True)
    default_threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    emit({"info": "env", "torch": torch.__version__, "python": sys.version.split()[0],
          "torch_default_threads": default_threads, "threads": args.threads,
          "cpus": os.cpu_count(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")})
    served = {name: Served(name) for name in args.models.split(",") if name}
    if not args.no_check:
        records = check_logits(served)
        for rec in records:
            emit(rec)
        if not all(r["ok"] for r in records):
            sys.exit(1)
    if args.check_only:
        return
    import uvicorn

    uvicorn.run(make_app(served, args.threads, args.compute_nice), host=args.host, port=args.port, workers=1,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
