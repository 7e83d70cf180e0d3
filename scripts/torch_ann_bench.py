#!/usr/bin/python3
"""PyTorch's inference speed for the tutorial network with BatchNorm (the
ANN of the low-latency recipe, tutorial-bn), for measuring snnkit's SNN
simulation at a few time steps against the ANN it came from on the same
machine (a check, never a dependency; needs Debian's python3-torch).

Usage: scripts/torch_ann_bench.py [--batch B] [--images N] [--threads K] [--repeat R]
Prints images/s, the best of R rounds over N random 1×28×28 images.
"""
import argparse
import time

import torch
import torch.nn as nn


def net():
    return nn.Sequential(
        nn.Conv2d(1, 20, 5), nn.BatchNorm2d(20), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(20, 32, 5), nn.BatchNorm2d(32), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(32, 128, 3), nn.BatchNorm2d(128), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(128, 500), nn.ReLU(), nn.Linear(500, 10)).eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    m = net()
    x = torch.rand(a.images, 1, 28, 28)
    best = float("inf")
    with torch.no_grad():
        m(x[:a.batch])  # warm up
        for _ in range(max(1, a.repeat)):
            start = time.perf_counter()
            for lo in range(0, a.images, a.batch):
                m(x[lo:lo + a.batch]).argmax(1)
            best = min(best, time.perf_counter() - start)
    print(f"PyTorch {torch.__version__}, {a.threads} threads, batch {a.batch}, best of {a.repeat}: "
          f"{a.images} images in {best:.3f} s = {a.images / best:.0f} images/s")


if __name__ == "__main__":
    main()
