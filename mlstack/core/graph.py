"""The picture of a rendered stack: services, what they depend on, the volumes they mount, their ports.

Pure: `stack_graph` reads the rendered compose model (plain data) and the stack's seed declarations
and returns a `StackGraph`; `mermaid` and `dot` write it as text. Everything is sorted, so the same
render always gives the same picture (docs/graph.md). Drawing SVG or PNG from the dot text is
Graphviz's job (lifecycle/graphviz.py).
"""

from __future__ import annotations

import re
from mlstack.records import field, record
from typing import Any, Mapping

from mlstack.core.ports import port_text

# What depends_on's `condition` means, in the words an edge is labelled with.
CONDITIONS = {
    "service_started": "started",
    "service_healthy": "healthy",
    "service_completed_successfully": "completed",
}


@record(frozen=True)
class ServiceBox:
    name: str
    image: str                  # the image, or `build <context>` for one built here without a tag
    ports: tuple[str, ...]      # `127.0.0.1:8000->8000/tcp`, as `docker ps` writes them
    gpu: bool                   # a GPU reservation is in the file
    compose_profiles: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        lines = [self.name, self.image]
        lines += ["GPU reserved"] if self.gpu else []
        lines += [f"compose profile {', '.join(self.compose_profiles)}"] if self.compose_profiles else []
        return lines + list(self.ports)


@record(frozen=True)
class VolumeBox:
    name: str
    cache: bool                 # a model cache (a fragment's `x-mlstack.caches`)
    seed: str = ""              # where `mlstack seed` fills it from, as declared
    external: bool = False
    mounted: bool = True        # False: declared, but no service of this profile mounts it

    def lines(self) -> list[str]:
        lines = [self.name]
        lines += ["model cache"] if self.cache else []
        lines += [f"seeded from {self.seed}"] if self.seed else []
        lines += ["external"] if self.external else []
        lines += ["not mounted in this profile"] if not self.mounted else []
        return lines


@record(frozen=True)
class Edge:
    source: str                 # a service
    target: str                 # a service (depends_on) or a volume (mount)
    label: str
    kind: str                   # "depends" | "mount"


@record
class StackGraph:
    title: str
    services: list[ServiceBox] = field(default_factory=list)
    volumes: list[VolumeBox] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def stack_graph(document: Mapping[str, Any], seeds: Mapping[str, str], title: str = "") -> StackGraph:
    """The graph of a rendered compose model. `seeds`: volume -> its declared source."""
    services = document.get("services") or {}
    model_volumes = document.get("volumes") or {}
    caches = set(((document.get("x-mlstack") or {}).get("caches") or {}))
    graph = StackGraph(title or str(document.get("name") or "stack"))
    for name in sorted(services):
        body = services[name] or {}
        graph.services.append(ServiceBox(name, _image(body), _ports(body), _reserves_gpu(body),
                                         tuple(sorted(body.get("profiles") or ()))))
        graph.edges += _dependencies(name, body)
        graph.edges += _mounts(name, body, model_volumes)
    mounted = {edge.target for edge in graph.edges if edge.kind == "mount"}
    for name in sorted(model_volumes):
        spec = model_volumes[name] or {}
        graph.volumes.append(VolumeBox(name, name in caches, seeds.get(name, ""), bool(spec.get("external")),
                                       name in mounted))
    graph.edges.sort(key=lambda edge: (edge.kind, edge.source, edge.target, edge.label))
    return graph


def _image(body: Mapping[str, Any]) -> str:
    if body.get("image"):
        return str(body["image"])
    build = body.get("build")
    context = build.get("context", ".") if isinstance(build, Mapping) else build
    return f"build {context}" if build else "no image"


def _ports(body: Mapping[str, Any]) -> tuple[str, ...]:
    shown = []
    for entry in body.get("ports") or []:
        if not isinstance(entry, Mapping):
            continue  # the rendered model writes every port in the long form
        published = str(entry.get("published") or "")
        protocol = str(entry.get("protocol") or "tcp")
        if published:
            shown.append(port_text(str(entry.get("host_ip") or ""), published, entry.get("target", ""), protocol))
        else:
            shown.append(f"{entry.get('target', '')}/{protocol} (host port chosen by the engine)")
    return tuple(shown)


def _reserves_gpu(body: Mapping[str, Any]) -> bool:
    devices = (((body.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get("devices") or []
    return any("gpu" in (device.get("capabilities") or []) or device.get("driver") == "nvidia"
               for device in devices if isinstance(device, Mapping))


def _dependencies(name: str, body: Mapping[str, Any]) -> list[Edge]:
    depends = body.get("depends_on") or {}
    if isinstance(depends, list):   # the short form: started
        depends = {other: {} for other in depends}
    edges = []
    for other, spec in depends.items():
        spec = spec or {}
        condition = str(spec.get("condition") or "service_started")
        label = CONDITIONS.get(condition, condition)
        if spec.get("required") is False:
            label += ", optional"
        if spec.get("restart"):
            label += ", restarts with it"
        edges.append(Edge(name, str(other), label, "depends"))
    return edges


def _mounts(name: str, body: Mapping[str, Any], model_volumes: Mapping[str, Any]) -> list[Edge]:
    edges = []
    for mount in body.get("volumes") or []:
        if not isinstance(mount, Mapping) or mount.get("type") != "volume" or mount.get("source") not in model_volumes:
            continue  # bind mounts and anonymous volumes are not shared state
        label = str(mount.get("target", "")) + (" (read-only)" if mount.get("read_only") else "")
        edges.append(Edge(name, str(mount["source"]), label, "mount"))
    return edges


# --- writers ---------------------------------------------------------------------------------

def _node_id(kind: str, name: str) -> str:
    return f"{kind}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"


def _mermaid_text(text: str) -> str:
    """Inside a quoted Mermaid label: quotes and the characters Mermaid reads as markup, as entities."""
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def mermaid(graph: StackGraph) -> str:
    """A Mermaid `flowchart LR`: services as boxes, volumes as cylinders, dependencies as arrows
    labelled with their condition, mounts as dotted arrows labelled with the mount path."""
    lines = ["flowchart LR", f"  %% {_mermaid_text(graph.title)}: rendered by mlstack graph"]
    for service in graph.services:
        label = "<br/>".join(_mermaid_text(line) for line in service.lines())
        lines.append(f'  {_node_id("service", service.name)}["{label}"]')
    for volume in graph.volumes:
        label = "<br/>".join(_mermaid_text(line) for line in volume.lines())
        lines.append(f'  {_node_id("volume", volume.name)}[("{label}")]')
    for edge in graph.edges:
        arrow = "-->" if edge.kind == "depends" else "-.->"
        target = _node_id("service" if edge.kind == "depends" else "volume", edge.target)
        lines.append(f'  {_node_id("service", edge.source)} {arrow}|"{_mermaid_text(edge.label)}"| {target}')
    caches = [_node_id("volume", v.name) for v in graph.volumes if v.cache]
    gpus = [_node_id("service", s.name) for s in graph.services if s.gpu]
    if caches:
        lines += ["  classDef cache fill:#fef3c7,stroke:#b45309", f"  class {','.join(caches)} cache"]
    if gpus:
        lines += ["  classDef gpu fill:#dcfce7,stroke:#15803d", f"  class {','.join(gpus)} gpu"]
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    """A quoted dot label: its escapes are `\\"` and `\\\\` (and `\\n`, the line break between lines)."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot(graph: StackGraph) -> str:
    """Graphviz dot: the same picture as `mermaid`, for `dot -Tsvg` and friends."""
    # The title is a label (a graph's name is not label text: its backslashes would stay doubled)
    lines = ["digraph stack {", "  rankdir=LR;", f'  label="{_dot_text(graph.title)}";', "  labelloc=t;",
             '  node [fontname="Helvetica", fontsize=11];', '  edge [fontname="Helvetica", fontsize=9];']
    for service in graph.services:
        style = ', style=filled, fillcolor="#dcfce7"' if service.gpu else ""
        label = "\\n".join(_dot_text(line) for line in service.lines())
        lines.append(f'  "{_node_id("service", service.name)}" [shape=box, label="{label}"{style}];')
    for volume in graph.volumes:
        style = ', style=filled, fillcolor="#fef3c7"' if volume.cache else ""
        label = "\\n".join(_dot_text(line) for line in volume.lines())
        lines.append(f'  "{_node_id("volume", volume.name)}" [shape=cylinder, label="{label}"{style}];')
    for edge in graph.edges:
        target = _node_id("service" if edge.kind == "depends" else "volume", edge.target)
        style = "" if edge.kind == "depends" else ", style=dashed"
        lines.append(f'  "{_node_id("service", edge.source)}" -> "{target}" [label="{_dot_text(edge.label)}"{style}];')
    return "\n".join(lines + ["}"]) + "\n"


WRITERS = {"mermaid": mermaid, "dot": dot}
