"""Deploy targets: one module per target, each a pure function of the rendered model.

| target    | what it writes                                        | module            |
|-----------|-------------------------------------------------------|-------------------|
| `compose` | one Compose file (`docker compose up`)                | targets/compose.py |
| `swarm`   | one stack file (`docker stack deploy -c FILE STACK`)  | targets/swarm.py  |
| `k8s`     | a directory: one manifest per object and a            | targets/k8s.py    |
|           | `kustomization.yaml` (`kubectl apply -k DIR`)         |                   |

Every key a target cannot express becomes a warning that names the service and the key; nothing
is dropped silently. `provide` lists what the deploy host or cluster must supply (secrets,
images in a registry, node configuration), never a value.
"""

from __future__ import annotations

from mlstack.targets.common import Conversion

TARGETS = ("compose", "swarm", "k8s")


__all__ = ["TARGETS", "Conversion", "convert"]


def convert(target: str, rendered, out_dir=None, output_format: str = "yaml") -> Conversion:
    """Dispatch to the target's module (imported only when used)."""
    if target == "compose":
        from mlstack.targets import compose as module
    elif target == "swarm":
        from mlstack.targets import swarm as module
    elif target == "k8s":
        from mlstack.targets import k8s as module
    else:
        raise ValueError(f"unknown target {target!r}")
    return module.convert(rendered, out_dir, output_format)
