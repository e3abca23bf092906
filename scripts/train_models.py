#!/usr/bin/python3
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
"""Trains the bundled Fashion-MNIST models and writes them to models/ as TorchScript.

This script generates models/vgg.pt, models/resnet.pt, models/mobilenet.pt and models/models.json
(test accuracy, FLOPs, parameters of each). It trains on the training set minus xcel's default validation
split (--val-size 5000, --seed 0, see xcel_data.py), so validation accuracy in xcel is on held-out images.

Inputs are images scaled to [0, 1] (what xcel feeds); each model normalises them itself.
Run with Debian's interpreter:  /usr/bin/python3 scripts/train_models.py [--only vgg] [--epochs N]
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xcel_data  # noqa: E402



def conv_bn(cin, cout, k=3, stride=1, groups=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class VGG(nn.Module):
    """32-32-M-64-64-M-128-128-M, global average pooling, linear (29 MFLOPs)."""

    def __init__(self, num_classes=10):
        super().__init__()
        cfg = [32, 32, "M", 64, 64, "M", 128, 128, "M"]
        layers, cin = [], 1
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers.append(conv_bn(cin, v))
                cin = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = (x - 0.2860) / 0.3530  # Fashion-MNIST mean and std
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = nn.Identity()
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.downsample(x))


class ResNet(nn.Module):
    """Stem 32, then basic blocks 32, 32, 64/2, 128/2 with residual adds."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = conv_bn(1, 32)
        self.layer1 = BasicBlock(32, 32, 1)
        self.layer2 = BasicBlock(32, 64, 2)
        self.layer3 = BasicBlock(64, 128, 2)
        self.fc = nn.Linear(128, num_classes)

    def forward(self, x):
        x = (x - 0.2860) / 0.3530  # Fashion-MNIST mean and std
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class MobileNet(nn.Module):
    """Depthwise-separable blocks: stem 32, then (dw 3x3 + pw 1x1) to 64, 128/2, 128, 256/2, 256."""

    def __init__(self, num_classes=10):
        super().__init__()
        cfg = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1)]
        layers, cin = [conv_bn(1, 32)], 32
        for cout, stride in cfg:
            layers.append(conv_bn(cin, cin, 3, stride, groups=cin))
            layers.append(conv_bn(cin, cout, 1))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = (x - 0.2860) / 0.3530  # Fashion-MNIST mean and std
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


MODELS = {"vgg": VGG, "resnet": ResNet, "mobilenet": MobileNet}


def augment(x, gen):
    """Random crop with 2-pixel padding and horizontal flip, per sample."""
    n = x.shape[0]
    padded = F.pad(x, (2, 2, 2, 2))
    dx = torch.randint(0, 5, (n,), generator=gen)
    dy = torch.randint(0, 5, (n,), generator=gen)
    out = torch.empty_like(x)
    for i in range(n):
        out[i] = padded[i, :, dy[i]:dy[i] + 28, dx[i]:dx[i] + 28]
    flip = torch.rand(n, generator=gen) < 0.5
    out[flip] = out[flip].flip(3)
    return out


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def count(model):
    """Parameters and multiply-add FLOPs of convs and linears at 1x1x28x28, from forward hooks."""
    flops = []

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * m.in_channels // m.groups
            flops.append(out.numel() * k)
        elif isinstance(m, nn.Linear):
            flops.append(out.numel() * m.in_features)

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    for h in hs:
        h.remove()
    return sum(flops), sum(p.numel() for p in model.parameters())


def train(name, args, data):
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    xtr, ytr, xte, yte = data
    model = MODELS[name]()
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4, nesterov=True)
    steps = args.epochs * math.ceil(len(xtr) / args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=steps, pct_start=0.15)
    for epoch in range(args.epochs):
        model.train()
        t0 = time.time()
        perm = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(xtr), args.batch):
            idx = perm[i:i + args.batch]
            xb = augment(xtr[idx], gen)
            loss = F.cross_entropy(model(xb), ytr[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        acc = evaluate(model, xte, yte)
        print(f"{name} epoch {epoch + 1}/{args.epochs} loss {loss.item():.3f} test {acc:.4f} "
              f"({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    return model, acc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "models"))
    ap.add_argument("--only", choices=sorted(MODELS), action="append")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--val-size", type=int, default=5000)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    x, y = xcel_data.load(args.data, train=True)
    keep = xcel_data.permutation(len(x), 0)[args.val_size:]
    xtr = torch.from_numpy(x[keep].astype(np.float32) / 255.0)
    ytr = torch.from_numpy(y[keep])
    xt, yt = xcel_data.load(args.data, train=False)
    xte = torch.from_numpy(xt.astype(np.float32) / 255.0)
    yte = torch.from_numpy(yt)

    meta_path = os.path.join(args.out, "models.json")
    meta = json.load(open(meta_path)) if os.path.exists(meta_path) else {}
    names = args.only or sorted(MODELS)
    for name in names:  # fail now, not after training, if a model does not script
        torch.jit.script(MODELS[name]())
    for name in names:
        model, acc = train(name, args, (xtr, ytr, xte, yte))
        flops, params = count(model)
        path = os.path.join(args.out, f"{name}.pt")
        torch.jit.script(model).save(path + ".tmp")
        os.replace(path + ".tmp", path)
        meta[name] = {"file": f"{name}.pt", "input": [1, 1, 28, 28], "dataset": "fashion-mnist",
                      "test_top1": acc, "flops": flops, "params": params, "epochs": args.epochs,
                      "train_images": len(xtr), "seed": args.seed}
        with open(meta_path + ".tmp", "w") as f:
            json.dump(meta, f, indent=2, sort_keys=True)
        os.replace(meta_path + ".tmp", meta_path)
        print(f"{name}: test top-1 {acc:.4f}, {flops / 1e6:.2f} MFLOPs, {params} params -> {path}", flush=True)


if __name__ == "__main__":
    main()
