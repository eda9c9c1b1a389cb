"""`render --target k8s`: the mapping table as cases; every object valid for a named Kubernetes release."""

import shutil
import subprocess

import pytest
import yaml

from mlstack.errors import StackError
from mlstack.targets import convert
from mlstack.targets.k8s import KUBERNETES_VERSION
from mlstack.targets.k8s_pod import quantity_cpu, quantity_memory
from mlstack.targets.k8s_probes import probe_handler
from tests.unit.targets_helpers import rendered, warned


def objects(conversion) -> dict[str, dict]:
    return {name: yaml.safe_load(text) for name, text in conversion.files.items()}


@pytest.fixture(scope="module")
def prod(tmp_path_factory):
    conversion = convert("k8s", rendered(tmp_path_factory.mktemp("k8s")))
    return conversion, objects(conversion)


def container(found: dict, file: str) -> dict:
    return found[file]["spec"]["template"]["spec"]["containers"][0]


def test_one_file_per_object_and_a_kustomization_listing_them(prod):
    conversion, found = prod
    assert sorted(conversion.files) == [
        "deployment-api.yaml", "deployment-jupyter.yaml", "deployment-mlflow.yaml", "kustomization.yaml",
        "persistentvolumeclaim-hf-cache.yaml", "persistentvolumeclaim-jupyter-work.yaml",
        "persistentvolumeclaim-mlflow-artifacts.yaml", "service-api.yaml", "service-jupyter.yaml", "service-mlflow.yaml",
        "service-postgres.yaml", "service-qdrant.yaml", "service-redis.yaml", "statefulset-postgres.yaml",
        "statefulset-qdrant.yaml", "statefulset-redis.yaml"]
    kustomization = found["kustomization.yaml"]
    assert kustomization["resources"] == sorted(name for name in conversion.files if name != "kustomization.yaml")
    for name, item in found.items():
        if name != "kustomization.yaml":
            assert name == f"{item['kind'].lower()}-{item['metadata']['name']}.yaml"


def test_gpu_reservation_becomes_an_nvidia_gpu_limit(prod):
    conversion, found = prod
    assert container(found, "deployment-jupyter.yaml")["resources"] == {
        "limits": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": 1}}
    assert "the NVIDIA device plugin (GPU nodes advertise nvidia.com/gpu)" in conversion.provide


def test_shm_size_becomes_a_memory_empty_dir_on_dev_shm(prod):
    _, found = prod
    for file, size in (("deployment-jupyter.yaml", "8Gi"), ("statefulset-postgres.yaml", "256Mi")):
        pod = found[file]["spec"]["template"]["spec"]
        assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": size}} in pod["volumes"]
        assert {"name": "dshm", "mountPath": "/dev/shm"} in pod["containers"][0]["volumeMounts"]


def test_healthchecks_become_probes_http_where_the_command_is_a_plain_get(prod):
    _, found = prod
    mlflow = container(found, "deployment-mlflow.yaml")
    assert mlflow["readinessProbe"] == {"httpGet": {"path": "/health", "port": 5000}, "periodSeconds": 10,
                                        "timeoutSeconds": 5, "failureThreshold": 6}
    assert mlflow["livenessProbe"] == mlflow["readinessProbe"]
    assert mlflow["startupProbe"] == {"httpGet": {"path": "/health", "port": 5000}, "periodSeconds": 10,
                                      "timeoutSeconds": 5, "failureThreshold": 12}
    redis = found["statefulset-redis.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert redis["readinessProbe"]["exec"] == {"command": ["sh", "-c", "redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG"]}


@pytest.mark.parametrize("test, expected", [
    (["CMD", "curl", "-fsS", "http://localhost:8080/healthz"], {"httpGet": {"path": "/healthz", "port": 8080}}),
    (["CMD", "wget", "-q", "--spider", "http://127.0.0.1/"], {"httpGet": {"path": "/", "port": 80}}),
    (["CMD", "curl", "http://localhost:8080/"], {"exec": {"command": ["curl", "http://localhost:8080/"]}}),  # no -f: 500 passes
    (["CMD", "curl", "-fsS", "http://example.com/"], {"exec": {"command": ["curl", "-fsS", "http://example.com/"]}}),
    ("pg_isready -U $$USER", {"exec": {"command": ["sh", "-c", "pg_isready -U $$$$USER"]}}),
    (["NONE"], None),
])
def test_probe_handlers(test, expected):
    assert probe_handler(test) == expected


@pytest.mark.parametrize("value, expected", [("1g", "1Gi"), ("512mb", "512Mi"), ("1.5g", "1536Mi"), (1000, "1000"), ("2GiB", "2Gi")])
def test_memory_quantities(value, expected):
    assert quantity_memory(value) == expected


@pytest.mark.parametrize("value, expected", [("1.0", "1"), ("0.5", "500m"), (2, "2"), ("0.25", "250m")])
def test_cpu_quantities(value, expected):
    assert quantity_cpu(value) == expected


def test_depends_on_healthy_becomes_init_containers_in_dependency_order(prod):
    _, found = prod
    init = found["deployment-api.yaml"]["spec"]["template"]["spec"]["initContainers"]
    assert [(c["name"], c["command"][2]) for c in init] == [
        ("wait-for-mlflow", "until nc -z -w 2 mlflow 5000; do echo waiting for mlflow:5000; sleep 2; done"),
        ("wait-for-qdrant", "until nc -z -w 2 qdrant 6333; do echo waiting for qdrant:6333; sleep 2; done"),
        ("wait-for-redis", "until nc -z -w 2 redis 6379; do echo waiting for redis:6379; sleep 2; done")]
    mlflow_init = found["deployment-mlflow.yaml"]["spec"]["template"]["spec"]["initContainers"]
    assert [c["name"] for c in mlflow_init] == ["wait-for-postgres"]
    # the dependency's Service exists and routes on that port, so the wait ends when it is ready
    assert found["service-postgres.yaml"]["spec"]["ports"][0]["port"] == 5432


def test_state_volumes_make_statefulsets_caches_are_shared_claims(prod):
    conversion, found = prod
    postgres = found["statefulset-postgres.yaml"]["spec"]
    assert postgres["serviceName"] == "postgres"
    assert [t["metadata"]["name"] for t in postgres["volumeClaimTemplates"]] == ["pgdata"]
    assert found["persistentvolumeclaim-hf-cache.yaml"]["spec"]["accessModes"] == ["ReadWriteMany"]
    assert found["persistentvolumeclaim-mlflow-artifacts.yaml"]["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert found["deployment-mlflow.yaml"]["spec"]["strategy"] == {"type": "Recreate"}
    assert any("ReadWriteMany" in line and "hf-cache" in line for line in conversion.provide)


def test_secrets_are_referenced_never_inlined(prod):
    conversion, found = prod
    pod = found["statefulset-postgres.yaml"]["spec"]["template"]["spec"]
    assert {"name": "secret-pg-password", "secret": {"secretName": "pg-password",
                                                     "items": [{"key": "pg_password", "path": "pg_password"}]}} in pod["volumes"]
    assert {"name": "secret-pg-password", "mountPath": "/run/secrets/pg_password", "subPath": "pg_password",
            "readOnly": True} in pod["containers"][0]["volumeMounts"]
    assert not [item for item in found.values() if item.get("kind") == "Secret"]
    everything = "".join(conversion.files.values())
    assert "canary-pg-3f9a" not in everything and "canary-jt-77c1" not in everything


def test_labels_and_selectors(prod):
    _, found = prod
    api = found["deployment-api.yaml"]
    assert api["metadata"]["labels"] == {"app.kubernetes.io/name": "api", "app.kubernetes.io/instance": "mlstack-prod",
                                         "app.kubernetes.io/part-of": "mlstack", "app.kubernetes.io/managed-by": "mlstack"}
    assert found["service-api.yaml"]["spec"]["selector"] == api["spec"]["selector"]["matchLabels"]
    assert api["spec"]["replicas"] == 2


def test_what_cannot_be_expressed_is_a_warning_naming_service_and_key(prod):
    conversion, _ = prod
    assert warned(conversion, "services.jupyter.post_start[0]") == [
        "k8s: runs as 'root'; Kubernetes runs hooks as the container's user (named volumes get the pod's fsGroup "
        "instead); dropped"]
    assert warned(conversion, "services.api.logging") == [
        "k8s: the cluster's log collection replaces Docker logging drivers; dropped"]
    assert warned(conversion, "services.jupyter.ports[0]") == [
        "k8s: published port 8888: the Service is ClusterIP (reachable in the cluster by name); expose it with an "
        "Ingress, a LoadBalancer Service or kubectl port-forward"]


def test_dollars_are_escaped_for_kubernetes_expansion(prod):
    _, found = prod
    script = container(found, "deployment-mlflow.yaml")["args"][2]
    assert 'PGPASSWORD="$$(cat "$$PGPASSWORD_FILE")"' in script


def test_a_seeded_volume_gets_a_job(tmp_path):
    stack = ("name: t\nvolumes:\n  hf-cache:\n    seed: {image: 'registry.example.com/models:1', path: /models, subpath: hub}\n"
             "  pgdata:\n    seed: {from: ./dump}\n")
    conversion = convert("k8s", rendered(tmp_path, stack=stack))
    job = yaml.safe_load(conversion.files["job-seed-hf-cache.yaml"])
    spec = job["spec"]["template"]["spec"]
    assert spec["containers"][0]["image"] == "registry.example.com/models:1"
    assert spec["containers"][0]["command"][2] == (
        "if [ -e /seed/hub/.mlstack-seeded ]; then echo already seeded; exit 0; fi; mkdir -p /seed/hub && "
        "cp -a /models/. /seed/hub/ && chown -R 1000:100 /seed/hub && touch /seed/hub/.mlstack-seeded")
    assert spec["volumes"] == [{"name": "hf-cache", "persistentVolumeClaim": {"claimName": "hf-cache"}}]
    assert warned(conversion, "volumes.pgdata") == [
        "k8s: seed from './dump' reads the render machine's files: copy them into the claim pgdata yourself, or seed "
        "from an image; no Job written"]


def test_a_service_without_an_image_is_a_clear_error(tmp_path):
    files = {"app.yaml": "services:\n  app:\n    build: {context: .}\n"}
    with pytest.raises(StackError, match="service 'app' has no image: Kubernetes nodes pull images"):
        convert("k8s", rendered(tmp_path, "dev", stack="name: t\nfragments: [./app.yaml]\n", files=files, env={}))


@pytest.mark.parametrize("profile", ["dev", "prod"])
def test_every_object_is_valid_for_the_named_kubernetes_release(tmp_path, profile):
    import kubernetes_validate

    conversion = convert("k8s", rendered(tmp_path, profile))
    for name, text in conversion.files.items():
        if name != "kustomization.yaml":
            kubernetes_validate.validate(yaml.safe_load(text), KUBERNETES_VERSION, strict=True)


def test_an_invalid_object_is_caught_by_the_validator():
    import kubernetes_validate

    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
                                      "spec": {"ports": [{"port": "http"}]}}, KUBERNETES_VERSION, strict=True)


def test_kustomization_resources_are_exactly_the_objects_written(tmp_path):
    """The offline equivalent of `kubectl kustomize`: every listed file exists, holds one object, names are unique."""
    conversion = convert("k8s", rendered(tmp_path))
    resources = yaml.safe_load(conversion.files["kustomization.yaml"])["resources"]
    assert set(resources) == set(conversion.files) - {"kustomization.yaml"}
    identities = [(o["apiVersion"], o["kind"], o["metadata"]["name"])
                  for o in (yaml.safe_load(conversion.files[name]) for name in resources)]
    assert len(identities) == len(set(identities))


@pytest.mark.kubectl
def test_kubectl_kustomize_accepts_the_directory(tmp_path):
    out = tmp_path / "k8s"
    for name, text in convert("k8s", rendered(tmp_path)).files.items():
        (out / name).parent.mkdir(exist_ok=True)
        (out / name).write_text(text)
    done = subprocess.run([shutil.which("kubectl"), "kustomize", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    kinds = sorted(item["kind"] for item in yaml.safe_load_all(done.stdout))
    assert kinds == ["Deployment"] * 3 + ["PersistentVolumeClaim"] * 3 + ["Service"] * 6 + ["StatefulSet"] * 3
