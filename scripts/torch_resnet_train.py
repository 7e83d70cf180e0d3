#!/usr/bin/python3
"""Train snnkit's resnet-small preset in plain PyTorch on Fashion-MNIST, for
measuring `snnkit train --arch resnet-small` against PyTorch on the same
machine (a check, never a dependency of snnkit; needs Debian's
python3-torch).

The network is the preset's: a 3x3 stem convolution (16 channels), three
residual blocks of widths 16, 32 and 64 (two 3x3 convolutions with
BatchNorm each; the second and third downsample by stride 2 with a 1x1
convolution and BatchNorm on the shortcut), global average pooling and a
Linear head with bias; convolutions without bias. The recipe is the
preset's default: Adam at 3e-3 with torch's OneCycleLR (learning rate only,
as snnkit's onecycle), batches of 128, images in [0, 1] as snnkit feeds
them. Batches are cut from tensors in memory (the fastest plain PyTorch
input path), shuffled every epoch.

Usage: scripts/torch_resnet_train.py [--epochs 3] [--threads 2] [--seed 0]
Prints the training images/s and the test accuracy.
"""
import argparse
import gzip
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FMNIST = "/usr/share/datasets/fashion-mnist"


def idx(path):
    with gzip.open(path) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        stride = 1 if cin == cout else 2
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.b1(self.c1(x)))
        h = self.b2(self.c2(h))
        return F.relu(h + (x if self.short is None else self.short(x)))


class ResNetSmall(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.blocks = nn.Sequential(Block(16, 16), Block(16, 32), Block(32, 64))
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(x.mean((2, 3)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    load = lambda name: torch.from_numpy(idx(f"{FMNIST}/{name}").copy())
    xtr = load("train-images-idx3-ubyte.gz").float().div(255).unsqueeze(1)
    ytr = load("train-labels-idx1-ubyte.gz").long()
    xte = load("t10k-images-idx3-ubyte.gz").float().div(255).unsqueeze(1)
    yte = load("t10k-labels-idx1-ubyte.gz").long()
    model = ResNetSmall()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    steps = a.epochs * ((len(xtr) + a.batch - 1) // a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps, cycle_momentum=False)
    start = time.perf_counter()
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        t0 = time.perf_counter()
        for lo in range(0, len(xtr), a.batch):
            i = perm[lo:lo + a.batch]
            loss = F.cross_entropy(model(xtr[i]), ytr[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {epoch + 1}: {len(xtr) / (time.perf_counter() - t0):.0f} images/s, last loss {loss.item():.4f}")
    sec = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        correct = sum((model(xte[lo:lo + 1000]).argmax(1) == yte[lo:lo + 1000]).sum().item() for lo in range(0, len(xte), 1000))
    print(f"PyTorch {torch.__version__}, {a.threads} threads: {a.epochs} epochs in {sec:.1f} s = "
          f"{a.epochs * len(xtr) / sec:.0f} images/s; test accuracy {100 * correct / len(xte):.2f} %")


if __name__ == "__main__":
    main()
