"""PyTorch side of the tower anchor: the same tower, batches and initial embeddings as ours, one epoch timed.

Reads the work directory written by bench/anchors/tower.ts (meta.json plus raw little-endian arrays) and prints
one JSON line: {"seconds", "samples", "torch", "threads", "finalLoss"}.
"""
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn


def main() -> None:
    work = sys.argv[1]
    meta = json.load(open(os.path.join(work, "meta.json")))
    torch.set_num_threads(meta["threads"])
    torch.manual_seed(1)
    read = lambda name, dtype: np.fromfile(os.path.join(work, name), dtype=dtype)  # noqa: E731
    users = torch.from_numpy(read("users.u32", np.uint32).astype(np.int64))
    items = torch.from_numpy(read("items.u32", np.uint32).astype(np.int64))
    labels = torch.from_numpy(read("labels.f32", np.float32))
    dim = meta["dim"]
    user_table = torch.from_numpy(read("user-vectors.f32", np.float32).reshape(-1, dim).copy())
    item_table = torch.from_numpy(read("item-vectors.f32", np.float32).reshape(-1, dim).copy())

    class Tower(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.users = nn.Embedding.from_pretrained(user_table, freeze=False)
            self.items = nn.Embedding.from_pretrained(item_table, freeze=False)
            layers: list[nn.Module] = []
            width = 2 * dim
            for hidden in meta["hidden"]:
                layers.append(nn.Linear(width, hidden))
                if meta["batchNorm"]:
                    layers.append(nn.BatchNorm1d(hidden))
                layers.append(nn.ReLU())
                if meta["dropout"] > 0:
                    layers.append(nn.Dropout(meta["dropout"]))
                width = hidden
            layers.append(nn.Linear(width, 1))
            self.mlp = nn.Sequential(*layers)

        def forward(self, u: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
            return self.mlp(torch.cat([self.users(u), self.items(i)], dim=1)).squeeze(1)

    model = Tower()
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=meta["learningRate"], eps=1e-7)
    bce = nn.BCEWithLogitsLoss()
    batch = meta["batchSize"]
    n = users.shape[0]
    last = 0.0
    started = time.perf_counter()
    for at in range(0, n - 1, batch):
        end = min(n, at + batch)
        if end - at < 2:
            break
        logits = model(users[at:end], items[at:end])
        y = labels[at:end]
        loss = bce(logits, y) if meta["loss"] == "bce" else torch.mean((torch.sigmoid(logits) - y) ** 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        last = loss.item()  # ours returns every step's loss too
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "samples": n, "torch": torch.__version__, "threads": torch.get_num_threads(), "finalLoss": last}))


if __name__ == "__main__":
    main()
