#!/usr/bin/python3
"""Writes nn/testdata/qcfs_torch.json: PyTorch's forward and backward of the
QCFS activation of Bu et al. (ICLR 2022, their released code: x/up, times L,
plus 0.5, a floor with a straight-through gradient, divided by L, clamped to
[0, 1], times up), for one lambda per layer and one per channel, to check
snnkit's nn.QCFS against (a check, never a dependency; needs Debian's
python3-torch).

Usage: scripts/qcfs_reference.py > nn/testdata/qcfs_torch.json
"""
import json

import torch


class GradFloor(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.floor()

    @staticmethod
    def backward(ctx, g):
        return g


def qcfs(x, up, levels):
    shape = [1, -1] + [1] * (x.dim() - 2) if up.numel() > 1 else [1]
    u = up.view(shape)
    y = x / u
    y = GradFloor.apply(y * levels + 0.5) / levels
    y = torch.clamp(y, 0, 1)
    return y * u


def case(seed, lam, levels):
    g = torch.Generator().manual_seed(seed)
    # Values on and around the steps and the clip bounds, and beyond them.
    x = (torch.rand(3, 2, 4, 4, generator=g) * 10 - 3).float()
    x.view(-1)[:6] = torch.tensor([0.0, -0.0, 4.0, 0.375, -0.375, 100.0])
    dy = torch.randn(3, 2, 4, 4, generator=g).float()
    x.requires_grad_(True)
    up = torch.tensor(lam, dtype=torch.float32, requires_grad=True)
    y = qcfs(x, up, levels)
    y.backward(dy)
    return {"levels": levels, "lambda": lam, "shape": list(x.shape),
            "x": x.detach().flatten().tolist(), "dy": dy.flatten().tolist(),
            "y": y.detach().flatten().tolist(), "dx": x.grad.flatten().tolist(),
            "dlambda": up.grad.flatten().tolist()}


print(json.dumps({"torch": torch.__version__, "cases": [case(1, [3.0], 4), case(2, [2.5, 4.0], 8)]}))
