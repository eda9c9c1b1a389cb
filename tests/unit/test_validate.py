"""Semantic checks after the schema: (compose YAML, every diagnostic as the user reads it)."""

from __future__ import annotations

import textwrap

import pytest

from mlstack.core.canonical import canonical
from mlstack.core.load import parse_yaml
from mlstack.core.validate import check


def diagnostics(text: str, schema: str = "compose", profiles: tuple[str, ...] = ()) -> list[str]:
    """Parsed and brought to Compose's long form, as the pipeline has it when it validates."""
    root = parse_yaml(textwrap.dedent(text), "compose.yaml")
    if schema == "compose":
        root = canonical(root)
    return [str(diagnostic) for diagnostic in check(root, schema, profiles)]


CASES = [
    ("valid", """
        services:
          web:
            image: nginx:1.27
            depends_on: [db]
            links: ["db:database"]
            volumes_from: ["db:ro", "container:sidecar"]
            ports: ["8080:80", "127.0.0.1:8081:81"]
            volumes: ["data:/data", "./src:/src", "/anonymous"]
            networks: [default, backend]
            secrets: [token]
            configs: [{source: app, target: /app.conf}]
          db:
            build: ./db
            ports: ["127.0.0.1:5432:5432", "5432:5432/udp"]
          side:
            image: busybox:1.37
            network_mode: "service:web"
            depends_on:
              optional: {condition: service_started, required: false}
          optional:
            image: busybox:1.37
            profiles: [extras]
        volumes: {data: {}}
        networks: {backend: {}}
        secrets: {token: {file: ./token}}
        configs: {app: {content: x}}
     """, []),
    ("depends_on an unknown service", """
        services:
          web:
            image: nginx:1.27
            depends_on:
              - db
     """, ['compose.yaml:6:9: services.web.depends_on: unknown service "db"']),
    ("links, volumes_from and network_mode naming unknown services", """
        services:
          web:
            image: nginx:1.27
            links: ["cache:c"]
            volumes_from: ["ghost:ro"]
            network_mode: "service:vpn"
     """, ['compose.yaml:5:13: services.web.links[0]: unknown service "cache"',
           'compose.yaml:6:20: services.web.volumes_from[0]: unknown service "ghost"',
           'compose.yaml:7:19: services.web.network_mode: unknown service "vpn"']),
    ("depends_on a service no file defines, even when not required", """
        services:
          web:
            image: nginx:1.27
            depends_on:
              db: {condition: service_started, required: false}
     """, ['compose.yaml:6:11: services.web.depends_on: unknown service "db"']),
    ("a required dependency in a Compose profile that is not enabled", """
        services:
          web:
            image: nginx:1.27
            depends_on: [db]
          db:
            image: postgres:17
            profiles: [storage]
     """, ['compose.yaml:5:18: services.web.depends_on: service "db" does not run unless its Compose profile is '
           'enabled (--profile storage)']),
    ("links and volumes_from naming a service that does not run", """
        services:
          web:
            image: nginx:1.27
            links: [cache]
            volumes_from: ["cache:ro"]
          cache:
            image: redis:7
            profiles: [cache]
     """, ['compose.yaml:5:13: services.web.links[0]: service "cache" does not run unless its Compose profile is '
           'enabled (--profile cache)',
           'compose.yaml:6:20: services.web.volumes_from[0]: service "cache" does not run unless its Compose '
           'profile is enabled (--profile cache)']),
    ("what a service that does not run names is not checked", """
        services:
          tool:
            profiles: [tools]
            depends_on: [ghost]
     """, []),
    ("undeclared volume, network, secret and config", """
        services:
          web:
            image: nginx:1.27
            volumes: ["data:/data"]
            networks: {backend: {aliases: [www]}}
            secrets: [token]
            configs: [app]
            build: {context: ., secrets: [npmrc]}
     """, ['compose.yaml:5:15: services.web.volumes[0]: volume "data" is not declared in the top-level volumes',
           'compose.yaml:6:25: services.web.networks: network "backend" is not declared in the top-level networks',
           'compose.yaml:7:15: services.web.secrets[0]: secret "token" is not declared in the top-level secrets',
           'compose.yaml:8:15: services.web.configs[0]: config "app" is not declared in the top-level configs',
           'compose.yaml:9:35: services.web.build.secrets[0]: secret "npmrc" is not declared in the top-level secrets']),
    ("the same host port twice", """
        services:
          a:
            image: nginx:1.27
            ports: ["8080:80"]
          b:
            image: nginx:1.27
            ports: ["0.0.0.0:8080:81", "127.0.0.1:8080:82"]
     """, ["compose.yaml:8:13: services.b.ports[0]: host port 8080/tcp is already published by services.a.ports[0]",
           "compose.yaml:8:32: services.b.ports[1]: host port 8080/tcp is already published by services.a.ports[0]"]),
    ("host port ranges overlap", """
        services:
          a:
            image: nginx:1.27
            ports:
              - {target: 9000, published: "9000-9010"}
          b:
            image: nginx:1.27
            ports: ["127.0.0.1:9005-9006:5-6"]
     """, ["compose.yaml:9:13: services.b.ports[0]: host port 9005/tcp is already published by services.a.ports[0]",
           "compose.yaml:9:13: services.b.ports[1]: host port 9006/tcp is already published by services.a.ports[0]"]),
    ("different addresses or protocols do not collide", """
        services:
          a:
            image: nginx:1.27
            ports: ["127.0.0.1:8080:80", "53:53/udp"]
          b:
            image: nginx:1.27
            ports: ["127.0.0.2:8080:80", "53:53/tcp", "80"]
     """, []),
    ("a profiled service and one that always runs collide", """
        services:
          web:
            image: nginx:1.27
            ports: ["8080:80"]
          debug:
            image: nginx:1.27
            profiles: [debug]
            ports: ["8080:80"]
     """, ["compose.yaml:9:13: services.debug.ports[0]: host port 8080/tcp is already published by services.web.ports[0]"]),
    ("a device request with a count and device ids", """
        services:
          trainer:
            image: trainer
            gpus: [{count: 1, device_ids: ["0"]}]
            deploy:
              resources:
                reservations:
                  devices: [{capabilities: [gpu], count: all, device_ids: ["1"]}]
     """, ['compose.yaml:5:12: services.trainer.gpus[0]: "count" and "device_ids" are exclusive: ask for a number '
           'of devices or for these ones',
           'compose.yaml:9:21: services.trainer.deploy.resources.reservations.devices[0]: "count" and "device_ids" '
           'are exclusive: ask for a number of devices or for these ones']),
    ("a dependency cycle, reported once", """
        services:
          a:
            image: nginx:1.27
            depends_on: [b]
          b:
            image: nginx:1.27
            depends_on: [c]
          c:
            image: nginx:1.27
            depends_on: [a]
     """, ["compose.yaml:5:18: services.a.depends_on: dependency cycle: a -> b -> c -> a"]),
    ("a service depending on itself", """
        services:
          a:
            image: nginx:1.27
            depends_on: [a]
     """, ["compose.yaml:5:18: services.a.depends_on: dependency cycle: a -> a"]),
    ("neither image nor build", """
        services:
          web:
            command: [echo, hi]
     """, ['compose.yaml:4:5: services.web: neither "image" nor "build" is set']),
    ("schema and semantic problems together, by location", """
        services:
          web:
            imagee: nginx
            depends_on: [db]
     """, ['compose.yaml:4:5: services.web: neither "image" nor "build" is set',
           'compose.yaml:4:13: services.web: unknown key "imagee" (did you mean "image"?)',
           'compose.yaml:5:18: services.web.depends_on: unknown service "db"']),
]


@pytest.mark.parametrize("text, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_check(text, expected):
    assert diagnostics(text) == expected


VARIANTS = """
    services:
      model-cpu:
        image: model:cpu
        profiles: [cpu]
        ports: ["9000:9000"]
      model-cuda:
        profiles: [cuda]
        ports: ["9000:9000"]
"""

PROFILE_CASES = [
    ("none enabled: the variants never run together, and neither runs", (), []),
    ("cpu enabled: the cuda variant is not checked", ("cpu",), []),
    ("cuda enabled: it needs an image", ("cuda",), ['compose.yaml:8:5: services.model-cuda: neither "image" nor "build" is set']),
    ("both enabled: they collide", ("cpu", "cuda"), [
        'compose.yaml:8:5: services.model-cuda: neither "image" nor "build" is set',
        "compose.yaml:9:13: services.model-cuda.ports[0]: host port 9000/tcp is already published by "
        "services.model-cpu.ports[0]"]),
]


@pytest.mark.parametrize("profiles, expected", [case[1:] for case in PROFILE_CASES], ids=[case[0] for case in PROFILE_CASES])
def test_check_with_compose_profiles_enabled(profiles, expected):
    assert diagnostics(VARIANTS, profiles=profiles) == expected


def test_stack_definition_gets_the_schema_only():
    assert diagnostics("""
        name: demo
        fragments: [jupyter]
        profiles:
          dev: {overrides: [dev], gpu: maybe}
     """, "mlstack") == ['compose.yaml:5:32: profiles.dev.gpu: "maybe" is not one of: auto, required, off']
