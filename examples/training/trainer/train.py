"""One training job: fit a small classifier with PyTorch and log it to MLflow.

Runs in the trainer service (`mlstack up --compose-profile train trainer`). It talks to MLflow
over its REST API, so the image needs nothing beyond PyTorch. The base model is read from the
seeded Hugging Face cache; nothing is downloaded (HF_HUB_OFFLINE=1).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

TRACKING = os.environ.get("MLFLOW_TRACKING_URI", "http://mlflow:5000").rstrip("/")
EXPERIMENT = os.environ.get("MLFLOW_EXPERIMENT_NAME", "dev")
BASE_MODEL = os.environ.get("BASE_MODEL", "sentence-transformers/all-MiniLM-L6-v2")
HUB = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"


def mlflow(path: str, body: dict) -> dict:
    request = urllib.request.Request(f"{TRACKING}/api/2.0/mlflow/{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def experiment_id(name: str) -> str:
    try:
        return mlflow("experiments/create", {"name": name})["experiment_id"]
    except urllib.error.HTTPError:   # it exists already
        with urllib.request.urlopen(f"{TRACKING}/api/2.0/mlflow/experiments/get-by-name?experiment_name={name}") as found:
            return json.loads(found.read())["experiment"]["experiment_id"]


def base_model_snapshot() -> str:
    """The seeded snapshot of the base model (mlstack seed wrote refs/main next to it)."""
    cache = HUB / f"models--{BASE_MODEL.replace('/', '--')}"
    commit = (cache / "refs" / "main").read_text().strip()
    return str(cache / "snapshots" / commit)


def main() -> None:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    features = torch.randn(20_000, 384)
    labels = (features[:, :8].sum(dim=1) > 0).long()
    # num_workers > 0 passes every batch through /dev/shm: the fragment's shm_size is why this works.
    loader = DataLoader(TensorDataset(features, labels), batch_size=256, shuffle=True, num_workers=4)
    model = nn.Sequential(nn.Linear(384, 128), nn.ReLU(), nn.Linear(128, 2)).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    run = mlflow("runs/create", {"experiment_id": experiment_id(EXPERIMENT), "start_time": int(time.time() * 1000)})
    run_id = run["run"]["info"]["run_id"]
    for key, value in {"device": device, "base_model": BASE_MODEL, "snapshot": base_model_snapshot()}.items():
        mlflow("runs/log-parameter", {"run_id": run_id, "key": key, "value": value})
    for epoch in range(5):
        total = 0.0
        for batch, target in loader:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(batch.to(device)), target.to(device))
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        mlflow("runs/log-metric", {"run_id": run_id, "key": "loss", "value": total / len(features),
                                   "timestamp": int(time.time() * 1000), "step": epoch})
    mlflow("runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": int(time.time() * 1000)})
    print(f"run {run_id} finished on {device}")


if __name__ == "__main__":
    main()
