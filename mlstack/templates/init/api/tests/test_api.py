"""The API's contract: liveness, readiness after the model loads, inference off the event loop.

Run from api/: `pip install -r requirements-dev.txt && python -m pytest`.
"""

from __future__ import annotations

import json
import threading

import pytest
from fastapi.testclient import TestClient

from app import main
from app import model as model_module

FEATURES = {"amount": 100.0, "hour": 3.0, "merchant_risk": 0.9}


@pytest.fixture
def client():
    with TestClient(main.app) as started:
        assert started.app.state.model_state.loaded.wait(10)
        yield started


def test_health_answers(client):
    assert client.get("/health").json() == {"status": "ok"}


def test_ready_once_the_model_is_loaded(client):
    answer = client.get("/ready")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready", "model": "stand-in-linear", "version": "0.1.0", "device": "cpu"}


def test_predict_scores_the_features_with_the_stand_in_model(client):
    answer = client.post("/predict", json={"features": FEATURES})
    assert answer.status_code == 200
    # bias -1.5 + 0.004*100 - 0.05*3 + 2.5*0.9 = 1.0 -> sigmoid(1.0)
    assert answer.json() == {"probability": pytest.approx(0.7310585786), "label": True}


def test_predict_names_missing_features(client):
    answer = client.post("/predict", json={"features": {"amount": 1.0}})
    assert answer.status_code == 422
    assert answer.json() == {"detail": "missing feature(s): hour, merchant_risk"}


def test_not_ready_while_the_model_loads_but_alive(monkeypatch):
    release = threading.Event()
    real_load = model_module.load_model

    def slow_load(path, device="cpu"):
        release.wait(10)
        return real_load(path, device)

    monkeypatch.setattr(model_module, "load_model", slow_load)
    with TestClient(main.app) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/ready").json() == {"status": "not ready", "reason": "model loading"}
        assert client.post("/predict", json={"features": FEATURES}).status_code == 503
        release.set()
        assert client.app.state.model_state.loaded.wait(10)
        assert client.get("/ready").status_code == 200


def test_a_model_that_cannot_load_keeps_the_api_unready(tmp_path, monkeypatch):
    broken = tmp_path / "model.json"
    broken.write_text(json.dumps({"name": "x", "version": "1", "features": ["a", "b"], "weights": [1.0], "bias": 0}))
    monkeypatch.setenv("MODEL_PATH", str(broken))
    with TestClient(main.app) as client:
        assert client.app.state.model_state.loaded.wait(10)
        answer = client.get("/ready")
        assert answer.status_code == 503
        assert answer.json() == {"status": "not ready", "reason": f"ValueError: {broken}: 2 features but 1 weights"}


def test_inference_runs_in_the_thread_pool_not_on_the_event_loop(client, monkeypatch):
    threads = []
    real_predict = model_module.Model.predict

    def recording_predict(self, features):
        threads.append(threading.current_thread().name)
        return real_predict(self, features)

    monkeypatch.setattr(model_module.Model, "predict", recording_predict)
    assert client.post("/predict", json={"features": FEATURES}).status_code == 200
    assert threads and threads[0].startswith("inference")
