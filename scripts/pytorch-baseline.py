#!/usr/bin/env python3
"""PyTorch CPU training speed for murmur's mlp and cnn models (batch 32, Adam), to compare with
`murmur bench train`. Needs Debian's python3-torch: run it with /usr/bin/python3.
Prints one JSON line per model and thread count: median samples/s over timed repetitions."""
import json
import statistics
import sys
import time

import torch
from torch import nn

def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))

def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 10))

def measure(build, threads, batch=32, steps=200, repetitions=5):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    def step():
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    for _ in range(50):
        step()
    rates = []
    for _ in range(repetitions):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(steps * batch / (time.perf_counter() - start))
    return statistics.median(rates)

if __name__ == '__main__':
    for name, build in (('mlp', mlp), ('cnn', cnn)):
        for threads in (1, 2):
            print(json.dumps({'model': name, 'backend': f'pytorch-{torch.__version__}-threads-{threads}', 'batchSize': 32, 'samplesPerSecond': measure(build, threads)}))
            sys.stdout.flush()
