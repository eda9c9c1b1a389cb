"""The plan carried out on a rendered profile: what `up`, `pull`, `build` and `explain` write, and `off` at render."""

from __future__ import annotations

from gpu_fixtures import host, image

from mlstack.lifecycle.preflight import gpu_plan
from mlstack.core.gpu_host import HostGpu
from mlstack.core.pipeline import apply_gpu, build, provenance
from mlstack.core.stack import load_stack

DEVICES = "services.jupyter.deploy.resources.reservations.devices"


class FakeEngine:
    """The two facts `gpu_plan` asks the engine for."""

    def __init__(self, facts: HostGpu, images: dict):
        self.facts, self.images, self.asked = facts, images, []

    def host_gpu(self) -> HostGpu:
        return self.facts

    def image(self, reference: str):
        self.asked.append(reference)
        return self.images.get(reference)


def rendered(tmp_path, gpu=None):
    (tmp_path / "mlstack.yaml").write_text("name: team\nfragments: [jupyter, mlflow, postgres]\n", encoding="utf-8")
    return build(load_stack(tmp_path / "mlstack.yaml", tmp_path), "dev", {}, gpu)


def jupyter_image(model) -> str:
    return model.root.find(("services", "jupyter", "image")).text()


def test_auto_on_a_laptop_removes_the_reservation_and_records_it(tmp_path):
    model = rendered(tmp_path)
    engine = FakeEngine(HostGpu(), {})
    lines = apply_gpu(model, gpu_plan(model, engine))
    assert engine.asked == [jupyter_image(model)]          # only the GPU service's image is inspected
    assert model.root.find(("services", "jupyter", "deploy", "resources", "reservations")) is None
    assert lines == model.notes[-1:] and lines[0].startswith("gpu: jupyter: GPU removed: the Docker engine has no "
                                                             "NVIDIA runtime and no CDI GPU devices; ")
    assert [(where, value, origin.rule) for where, value, origin in provenance(model, ("services", "jupyter", "deploy"))
            if value == "<removed>"] == [(DEVICES, "<removed>", "gpu-removed")]
    assert "# gpu: jupyter: GPU removed:" in model.text()


def test_required_and_refused_leaves_the_model_as_it_is(tmp_path):
    model = rendered(tmp_path, "required")
    plan = gpu_plan(model, FakeEngine(HostGpu(), {}))
    apply_gpu(model, plan)
    assert [d.service for d in plan.fatal] == ["jupyter"]
    assert model.root.find(("services", "jupyter", "deploy", "resources", "reservations", "devices")) is not None


def test_kept_on_a_535_host(tmp_path):
    model = rendered(tmp_path, "required")
    engine = FakeEngine(host("geforce-rtx4090-535"), {jupyter_image(model): image("pytorch-notebook-cuda12")})
    plan = gpu_plan(model, engine)
    apply_gpu(model, plan)
    assert [(d.service, d.keep, d.fatal) for d in plan.decisions] == [("jupyter", True, False)]
    assert model.root.find(("services", "jupyter", "deploy", "resources", "reservations", "devices")) is not None


def test_off_is_decided_at_render_without_the_engine(tmp_path):
    model = rendered(tmp_path, "off")
    assert model.notes == ["gpu: jupyter: GPU removed: GPU policy is off; it runs on the CPU (policy off)"]
    assert model.root.find(("services", "jupyter", "deploy", "resources", "reservations")) is None
    assert gpu_plan(model, None).decisions == []            # nothing left to decide, nothing asked
