#!/usr/bin/python3
"""A plain PyTorch simulation of resnet_fmnist.onnx as a spiking network, for
measuring snnkit against PyTorch on the same machine (a check, never a
dependency of snnkit; needs Debian's python3-torch and python3-onnx).

The conversion is the one snnkit's `run --normalize percentile:99.9 --v-init
0.5 --encoding current` makes, written the plain way: every ReLU becomes an
IF population (sinabs' MultiSpike, subtract reset, floor at -threshold) whose
threshold is the 99.9th percentile of the ReLU's activations on 500 training
images, with the membrane starting at half the threshold; a population's
spikes carry its threshold as amplitude; the normalised image is a constant
current; the logits are summed over time. The simulation is time-batched, as
fast as plain PyTorch gets: every layer runs over all B*T frames of a batch
at once, then each population steps through time.

Usage: scripts/torch_resnet_sim.py MODEL.onnx [--samples N] [--timesteps T]
    [--batch B] [--threads K] [--repeat R]
Prints images/s (the best of R rounds, as snnkit bench reports each engine's
best round) and the accuracy on the first N Fashion-MNIST test images.
"""
import argparse
import gzip
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

FMNIST = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def idx(path):
    with gzip.open(path) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(model):
    """The convolutions (weight, bias, stride, padding) and the head, in the
    order of resnet_fmnist's graph."""
    m = onnx.load(model)
    init = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in m.graph.initializer}
    convs = {}
    for n in m.graph.node:
        if n.op_type == "Conv":
            a = {x.name: list(x.ints) for x in n.attribute}
            convs[n.output[0]] = (init[n.input[1]], init[n.input[2]], a["strides"][0], a["pads"][0])
    return list(convs.values()), init["head.weight"], init["head.bias"]


def ann(x, convs, head, act):
    """The ANN; act(i, v) is applied at ReLU i (7 ReLUs)."""
    c = iter(convs)
    relu = iter(range(7))

    def conv(x):
        w, b, s, p = next(c)
        return F.conv2d(x, w, b, s, p)

    x = act(next(relu), conv(x))
    for block in range(3):
        h = act(next(relu), conv(x))
        h = conv(h)
        short = x if block == 0 else conv(x)
        x = act(next(relu), h + short)
    x = x.mean((2, 3))
    return F.linear(x, head[0], head[1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--timesteps", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="rounds; the best is reported, as snnkit bench does")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    convs, hw, hb = load(a.model)
    head = (hw, hb)
    norm = lambda u8: (torch.from_numpy(u8.astype(np.float32) / 255).unsqueeze(1) - MEAN) / STD
    train = norm(idx(f"{FMNIST}/train-images-idx3-ubyte.gz")[:500])
    test = norm(idx(f"{FMNIST}/t10k-images-idx3-ubyte.gz")[:a.samples])
    labels = torch.from_numpy(idx(f"{FMNIST}/t10k-labels-idx1-ubyte.gz")[:a.samples].astype(np.int64))

    with torch.no_grad():
        theta = [0.0] * 7

        def measure(i, v):
            v = F.relu(v)
            theta[i] = float(torch.quantile(v.flatten().double(), 0.999))
            return v

        ann(train, convs, head, measure)
        ann_acc = (ann(test, convs, head, lambda i, v: F.relu(v)).argmax(1) == labels).float().mean().item()

        T = a.timesteps

        def spiking(i, cur):
            # cur: [B*T, C, H, W], frames in (sample, step) order.
            th = theta[i]
            cur = cur.view(-1, T, *cur.shape[1:])
            v = torch.full_like(cur[:, 0], th / 2)
            out = torch.empty_like(cur)
            for t in range(T):
                v += cur[:, t]
                s = torch.clamp(torch.floor(v / th), min=0)
                v -= s * th
                v.clamp_(min=-th)
                out[:, t] = s * th
            return out.view(-1, *cur.shape[2:])

        sec = float("inf")
        for _ in range(max(1, a.repeat)):
            correct = 0
            start = time.perf_counter()
            for lo in range(0, a.samples, a.batch):
                x = test[lo:lo + a.batch]
                b = x.shape[0]
                frames = x.unsqueeze(1).expand(b, T, *x.shape[1:]).reshape(b * T, *x.shape[1:])
                logits = ann(frames, convs, head, spiking).view(b, T, -1).sum(1)
                correct += (logits.argmax(1) == labels[lo:lo + b]).sum().item()
            sec = min(sec, time.perf_counter() - start)
    print(f"PyTorch {torch.__version__}, {a.threads} threads, batch {a.batch}, best of {max(1, a.repeat)}: {a.samples} images at T={T} "
          f"in {sec:.2f} s = {a.samples / sec:.1f} images/s; SNN accuracy {100 * correct / a.samples:.2f} %, "
          f"ANN {100 * ann_acc:.2f} %")


if __name__ == "__main__":
    main()
