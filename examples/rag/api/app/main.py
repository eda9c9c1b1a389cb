"""The RAG API: embed text with a local sentence-transformers model, store and search it in Qdrant.

Endpoints
  GET  /health             liveness: the process serves (touches nothing else)
  GET  /ready              readiness: Qdrant answers /readyz and the model's files are in place
  POST /documents          {"id": 1, "text": "..."}: embed the text and upsert it
  GET  /search?q=...&k=5   the k stored texts nearest to q

Configuration (environment)
  QDRANT_URL             default http://qdrant:6333
  QDRANT_COLLECTION      default documents
  EMBEDDING_MODEL_PATH   default /models/all-MiniLM-L6-v2 (seeded by mlstack, never downloaded)
  EMBEDDING_BATCH_SIZE   default 32
"""

from __future__ import annotations

import functools
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel

QDRANT_URL = os.environ.get("QDRANT_URL", "http://qdrant:6333").rstrip("/")
COLLECTION = os.environ.get("QDRANT_COLLECTION", "documents")
MODEL_PATH = Path(os.environ.get("EMBEDDING_MODEL_PATH", "/models/all-MiniLM-L6-v2"))
BATCH_SIZE = int(os.environ.get("EMBEDDING_BATCH_SIZE", "32"))
# What sentence-transformers needs to load the model without the network.
MODEL_FILES = ("config.json", "modules.json", "tokenizer.json", "model.safetensors")

# Qdrant is on the compose network: never go through an HTTP(S)_PROXY from the environment.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))

app = FastAPI(title="RAG API")


class Document(BaseModel):
    id: int
    text: str


def qdrant(method: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{QDRANT_URL}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with _HTTP.open(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def missing_model_files() -> list[str]:
    return [name for name in MODEL_FILES if not (MODEL_PATH / name).is_file()]


@functools.lru_cache(maxsize=1)
def model():
    from sentence_transformers import SentenceTransformer   # heavy (torch): loaded on first use

    return SentenceTransformer(str(MODEL_PATH), device="cpu")


def embed(texts: list[str]) -> list[list[float]]:
    return model().encode(texts, batch_size=BATCH_SIZE, normalize_embeddings=True).tolist()


def ensure_collection(size: int) -> None:
    try:
        qdrant("GET", f"/collections/{COLLECTION}")
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise
        qdrant("PUT", f"/collections/{COLLECTION}", {"vectors": {"size": size, "distance": "Cosine"}})


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


@app.get("/ready")
def ready():
    problems = {}
    try:
        with _HTTP.open(f"{QDRANT_URL}/readyz", timeout=3):
            pass
    except OSError as error:
        problems["qdrant"] = str(error)
    if missing := missing_model_files():
        problems["model"] = f"missing in {MODEL_PATH}: {', '.join(missing)} (run `mlstack seed`)"
    if problems:
        return JSONResponse({"status": "not ready", "problems": problems}, status_code=503)
    return {"status": "ready", "model": str(MODEL_PATH), "collection": COLLECTION}


@app.post("/documents")
def add(document: Document) -> dict:
    (vector,) = embed([document.text])
    ensure_collection(len(vector))
    qdrant("PUT", f"/collections/{COLLECTION}/points?wait=true",
           {"points": [{"id": document.id, "vector": vector, "payload": {"text": document.text}}]})
    return {"id": document.id}


@app.get("/search")
def search(q: str, k: int = 5) -> list[dict]:
    (vector,) = embed([q])
    try:
        found = qdrant("POST", f"/collections/{COLLECTION}/points/search",
                       {"vector": vector, "limit": k, "with_payload": True})
    except urllib.error.HTTPError as error:
        raise HTTPException(status_code=404 if error.code == 404 else 502, detail=f"qdrant: {error}") from error
    return [{"id": hit["id"], "score": hit["score"], "text": hit["payload"]["text"]} for hit in found["result"]]
