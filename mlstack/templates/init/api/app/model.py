"""The model: loaded once, used by many requests at a time.

The stand-in is a logistic regression stored as JSON (model/model.json). Replace `load_model` and
`Model.predict` with your own (a pickled scikit-learn pipeline, a Hugging Face model, ...): keep
loading in `load_model` (it runs once, at start-up) and keep `predict` free of shared mutable state
(it runs in several threads at once).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Model:
    name: str
    version: str
    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    device: str = "cpu"

    def predict(self, features: dict[str, float]) -> dict[str, object]:
        """Blocking, CPU-bound work: the API runs it in its inference thread pool, never on the event loop."""
        missing = [name for name in self.features if name not in features]
        if missing:
            raise ValueError(f"missing feature(s): {', '.join(missing)}")
        score = self.bias + sum(weight * float(features[name]) for name, weight in zip(self.features, self.weights))
        probability = 1.0 / (1.0 + math.exp(-score))
        return {"probability": probability, "label": probability >= self.threshold}


def load_model(path: str | Path, device: str = "cpu") -> Model:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if len(data["features"]) != len(data["weights"]):
        raise ValueError(f"{path}: {len(data['features'])} features but {len(data['weights'])} weights")
    return Model(name=data["name"], version=data["version"], features=tuple(data["features"]),
                 weights=tuple(float(w) for w in data["weights"]), bias=float(data["bias"]),
                 threshold=float(data.get("threshold", 0.5)), device=device)
