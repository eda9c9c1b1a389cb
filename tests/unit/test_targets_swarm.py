"""`render --target swarm`: what becomes what, and that nothing is dropped without a warning."""

import pytest
import yaml

from mlstack.errors import StackError
from mlstack.targets import convert
from mlstack.targets.swarm import GPU_NODE_CONSTRAINT, GPU_RESOURCE_KIND
from tests.unit.targets_helpers import rendered, warned


@pytest.fixture(scope="module")
def prod(tmp_path_factory):
    model = rendered(tmp_path_factory.mktemp("swarm"))
    conversion = convert("swarm", model)
    return conversion, yaml.safe_load(conversion.files["stack.yaml"])


def test_gpu_reservation_becomes_a_generic_resource_and_a_placement_constraint(prod):
    conversion, stack = prod
    deploy = stack["services"]["jupyter"]["deploy"]
    assert deploy["resources"]["reservations"] == {
        "generic_resources": [{"discrete_resource_spec": {"kind": GPU_RESOURCE_KIND, "value": 1}}]}
    assert deploy["placement"]["constraints"] == [GPU_NODE_CONSTRAINT]
    assert warned(conversion, "services.jupyter.deploy.resources.reservations.devices") == [
        "swarm: count: all has no swarm equivalent: reserves 1 NVIDIA-GPU; set count to reserve more"]
    assert any("node-generic-resources" in line for line in conversion.provide)


def test_shm_size_becomes_a_tmpfs_on_dev_shm_of_the_same_size(prod):
    _, stack = prod
    assert "shm_size" not in stack["services"]["jupyter"]
    assert {"type": "tmpfs", "target": "/dev/shm", "tmpfs": {"size": 8 * 1024 ** 3}} in stack["services"]["jupyter"]["volumes"]
    assert {"type": "tmpfs", "target": "/dev/shm", "tmpfs": {"size": 256 * 1024 ** 2}} in stack["services"]["postgres"]["volumes"]


def test_healthchecks_limits_replicas_and_restart_policies_carry_over(prod):
    _, stack = prod
    api = stack["services"]["api"]
    assert api["deploy"]["replicas"] == 2
    assert api["deploy"]["resources"]["limits"] == {"cpus": "1.0", "memory": "1g"}
    assert api["deploy"]["restart_policy"] == {"condition": "any"}
    assert api["healthcheck"]["retries"] == 6 and api["healthcheck"]["interval"] == "10s"
    assert "restart" not in api and "depends_on" not in api and "build" not in api


def test_depends_on_conditions_are_reported_never_dropped_silently(prod):
    conversion, _ = prod
    assert warned(conversion, "services.api.depends_on") == [
        "swarm: services start in any order (depends_on is ignored): mlflow (service_healthy), qdrant (service_healthy), "
        "redis (service_healthy); api must retry until they answer"]


def test_every_dropped_service_key_is_a_warning(prod):
    conversion, stack = prod
    assert warned(conversion, "services.jupyter.post_start") == [
        "swarm: no lifecycle hooks in swarm; do this in the image's entrypoint; dropped"]
    assert warned(conversion, "services.mlflow.pull_policy") == ["swarm: each node pulls when it schedules a task; dropped"]
    assert warned(conversion, "services.mlflow.build") == [
        "swarm: images are not built on deploy: push mlstack/mlflow:v2.17.2 to a registry every node can pull from"]
    converted = {"restart": "deploy.restart_policy", "shm_size": "a tmpfs volume"}
    for name, service in stack["services"].items():
        for key in set(prod_model_keys(name)) - set(service) - set(converted):
            assert warned(conversion, f"services.{name}.{key}"), (name, key)


_MODEL_KEYS: dict = {}


def prod_model_keys(name: str) -> list[str]:
    if not _MODEL_KEYS:
        import tempfile
        from pathlib import Path

        model = rendered(Path(tempfile.mkdtemp()))
        _MODEL_KEYS.update({service: list(body) for service, body in model.document()["services"].items()})
    return _MODEL_KEYS[name]


def test_secrets_become_external_swarm_secrets_and_no_value_is_written(prod):
    conversion, stack = prod
    assert stack["secrets"]["pg_password"] == {"external": True, "name": "mlstack-prod_pg_password"}
    assert any('docker secret create mlstack-prod_pg_password -' in line for line in conversion.provide)
    text = conversion.files["stack.yaml"]
    assert "canary-pg-3f9a" not in text and "canary-jt-77c1" not in text


def test_published_ports_lose_host_ip_and_ranges_with_a_warning(prod):
    conversion, stack = prod
    assert stack["services"]["api"]["ports"] == [{"mode": "ingress", "protocol": "tcp", "published": 8000, "target": 8000}]
    assert warned(conversion, "services.api.ports[0]")[-1] == (
        "swarm: published range 8000-8001: the routing mesh serves every replica on one port; published 8000")
    assert "host_ip" not in stack["services"]["mlflow"]["ports"][0]


def test_dnsrr_publishes_in_host_mode(tmp_path):
    files = {"dnsrr.yaml": "services:\n  api:\n    deploy:\n      endpoint_mode: dnsrr\n"}
    model = rendered(tmp_path, stack="name: t\nprofiles:\n  prod:\n    overrides: [prod, ./dnsrr.yaml]\n", files=files)
    stack = yaml.safe_load(convert("swarm", model).files["stack.yaml"])
    assert stack["services"]["api"]["ports"][0]["mode"] == "host"
    assert stack["services"]["api"]["deploy"]["endpoint_mode"] == "dnsrr"


def test_a_built_service_without_an_image_is_a_clear_error(tmp_path):
    files = {"app.yaml": "services:\n  app:\n    build: {context: .}\n"}
    model = rendered(tmp_path, "dev", stack="name: t\nfragments: [./app.yaml]\n", files=files, env={})
    with pytest.raises(StackError) as raised:
        convert("swarm", model)
    assert raised.value.message == ("service 'app' is built from source and has no image: swarm nodes pull images, "
                                    "so set services.app.image to a reference in a registry every node can pull from")
    assert str(raised.value.diagnostics[0]).startswith("app.yaml:3:12: services.app.build: ")


def test_unknown_keys_are_warned_with_their_location(tmp_path):
    files = {"app.yaml": "services:\n  app:\n    image: busybox\n    container_name: fixed\n    cgroup: host\n"}
    model = rendered(tmp_path, "dev", stack="name: t\nfragments: [./app.yaml]\n", files=files, env={})
    conversion = convert("swarm", model)
    assert [str(d) for d in conversion.warnings] == [
        "app.yaml:5:13: services.app.cgroup: warning: swarm: not supported by docker stack deploy; dropped",
        "app.yaml:4:21: services.app.container_name: warning: swarm: task containers are named by the service; dropped",
    ]
