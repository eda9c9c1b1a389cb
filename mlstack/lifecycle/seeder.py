"""Seeding orchestration: fill named volumes (model caches) from a directory, an archive, an image or the HF cache.

For `mlstack seed`, `up` (before the services start, unless --no-seed) and the seeded-volumes rows
of `status`. Per volume: settle earlier helpers; fingerprint the source; look into the volume; finish a
pending commit; decide (core/seeding.py); copy through the helper (engine/volumes.py).
"""

from __future__ import annotations

import logging
import os
import time
from functools import partial
from mlstack.records import field, record, replace
from datetime import datetime, timezone

from mlstack.core import seed_copy_plan, seed_decision, seed_marker, seeding
from mlstack.core.seed_decision import Decision
from mlstack.core.seed_marker import Marker
from mlstack.core.seeding import PlanError, SeedPlan
from mlstack.errors import SeedError, UsageError
from mlstack.lifecycle.running import Project, say
from mlstack.lifecycle.transfer_progress import TransferProgress, human_bytes
from mlstack.lifecycle.workspace import require_secrets

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any, Mapping
    from mlstack.core.stack import Stack

log = logging.getLogger("mlstack")


@record
class SeedOptions:
    stack_file: str | None = None
    profile: str = "dev"
    volumes: list[str] = field(default_factory=list)
    force: bool = False
    dry_run: bool = False
    checksum: bool = False
    method: str = "auto"
    helper_image: str | None = None


@record
class Outcome:
    volume: str
    volume_name: str
    source: str
    action: str                  # seeding's NOTHING, SEED, UPDATE, STALE (REFUSE raises)
    reason: str
    method: str = ""
    bytes: int = 0
    seconds: float = 0.0
    dry_run: bool = False

    def line(self) -> str:
        if self.dry_run:
            if self.action == seed_decision.REFUSE:
                return f"{self.volume}: would refuse: {self.volume_name} {self.reason} (--force copies into it anyway)"
            if self.action in (seed_decision.SEED, seed_decision.UPDATE):
                return f"{self.volume}: would {self.action}: {self.reason}"
            return f"{self.volume}: {self.action} ({self.reason})"
        if self.action in (seed_decision.SEED, seed_decision.UPDATE):
            rate = f", {human_bytes(self.bytes / self.seconds)}/s" if self.seconds > 0.05 and self.bytes else ""
            done = "seeded" if self.action == seed_decision.SEED else "updated"
            return (f"{self.volume}: {done} from {self.source}: {human_bytes(self.bytes)} in {self.seconds:.1f} s"
                    f"{rate} ({self.method}; {self.reason})")
        return f"{self.volume}: {self.action} ({self.reason})"


def seed_project(project: Project, options: SeedOptions) -> list[Outcome] | None:
    """`mlstack seed`: every selected volume (all declared ones without a selection); None when none is declared."""
    assert project.rendered is not None
    if not options.dry_run:
        require_secrets(project.rendered)
    document = project.rendered.document()
    plans = planned(project.rendered.stack, document, project.name, options.profile, options.volumes, project.env)
    if not plans:
        return None
    seeder = Seeder(project.rendered.stack, document, options, project.env)
    return [seeder.seed(plan) for plan in plans]


def before_start(project: Project, services: list[str], options: SeedOptions) -> None:
    """`up`: seed the declared volumes of `services` (about to start), before they start."""
    if project.rendered is None:
        return
    used = seeding.volumes_used_by(project.document, services)
    plans = [plan for plan in planned(project.rendered.stack, project.document, project.name, options.profile, [],
                                      project.env) if plan.volume in used]
    if not plans:
        return
    seeder = Seeder(project.rendered.stack, project.document, options, project.env)
    for plan in plans:
        say(seeder.seed(plan).line())


def planned(stack: Stack, document: dict, project: str, profile: str, selected: list[str],
            env: Mapping[str, str]) -> list[SeedPlan]:
    from mlstack.core.stack import environment

    declarations = stack.root.get("volumes") if stack.root is not None else None
    try:
        plans, notes = seeding.plan_seeds(declarations, document, project, environment(stack, profile, dict(env)),
                                          str(stack.directory))
    except PlanError as error:
        raise SeedError(str(error)) from None
    # an image a seed is copied from is mapped as the services' images are (docs/stack-definition.md#image-map)
    plans = [replace(plan, source=replace(plan.source, image=stack.images.apply(plan.source.image)))
             if plan.source.image else plan for plan in plans]
    for note in notes:
        if not selected:
            say(note)
    if not selected:
        return plans
    by_volume = {plan.volume: plan for plan in plans}
    unknown = [name for name in selected if name not in by_volume]
    if unknown:
        declared = ", ".join(sorted(by_volume)) or "none"
        raise UsageError(f"no seed declared for {', '.join(unknown)} in profile {profile}; declared: {declared} "
                         "(volumes.NAME.seed in mlstack.yaml)")
    return [by_volume[name] for name in selected]


class Seeder:
    """Seeds volumes of one rendered stack through one engine connection."""

    def __init__(self, stack: Stack, document: dict[str, Any], options: SeedOptions, env: Mapping[str, str]):
        from mlstack.engine.docker_facts import Engine
        from mlstack.engine.volumes import Volumes

        self.options = options
        self.document = document
        self.settings = (stack.root.get("seeding").to_data() if stack.root is not None and stack.root.get("seeding")
                         is not None else {})
        if self.settings.get("helper_image"):   # the stack's images are mapped; --helper-image is taken as given
            self.settings["helper_image"] = stack.images.apply(str(self.settings["helper_image"]))
        self.engine = Engine(env)
        self.volumes = Volumes(self.engine)
        self._helpers: dict[str, str] = {}

    def seed(self, plan: SeedPlan) -> Outcome:
        from mlstack.engine import sources
        from mlstack.engine.helper_job import HelperJob
        from mlstack.engine.seed_timing import SeedTimer

        options = self.options
        timer = SeedTimer()
        self.volumes.settle(plan, say)
        timer.lap("settle")
        helper = partial(self.helper, plan)          # picked only when a container is needed
        observed = self.volumes.observe(plan, helper)
        if observed.pending and not options.dry_run:
            self.volumes.run(HelperJob(plan, helper(), _new_id()))       # finish the interrupted one first
            observed = self.volumes.observe(plan, helper)
        if observed.exists and observed.marker is None and observed.foreign is None and not options.dry_run:
            output = self.volumes.run(HelperJob(plan, helper(), _new_id(), copy="check"))
            observed.foreign = [line[len("foreign "):] for line in output.splitlines() if line.startswith("foreign ")]
        timer.lap("look")
        if observed.marker is None and not options.dry_run:
            self.volumes.prepare_to_copy()           # a copy (or a refusal) follows, whatever the source holds
        resolved = sources.resolve(plan, self.volumes.image_id)
        timer.lap("fingerprint")
        differing = self._differing(resolved, observed, helper) if options.checksum else None
        decision = seed_decision.decide(plan, observed, resolved.fingerprint, options.force, differing)
        timer.lap("decide")
        outcome = Outcome(plan.volume, plan.volume_name, plan.source.declared, decision.action, decision.reason,
                          dry_run=options.dry_run)
        if decision.action == seed_decision.REFUSE and not options.dry_run:
            raise SeedError(f"volume {plan.volume_name} ({plan.where}) {decision.reason}; mlstack seeds only empty "
                            "volumes or volumes it seeded itself: rerun with --force to copy into it anyway "
                            "(nothing in it is deleted)")
        if options.dry_run or decision.action not in (seed_decision.SEED, seed_decision.UPDATE):
            return outcome
        try:
            outcome.method = seed_decision.choose_method(options.method if options.method != "auto" else
                                                   self.settings.get("method", "auto"), self.volumes.local, plan.source)
        except PlanError as error:
            raise SeedError(str(error)) from None
        self._copy(plan, resolved, decision, observed, outcome, helper(), timer)
        return outcome

    def _copy(self, plan, resolved, decision: Decision, observed, outcome: Outcome, helper: str, timer) -> None:
        from mlstack.engine.helper_job import HelperJob

        seed_id = _new_id()
        files = resolved.fingerprint.files
        full = decision.copy is None
        old = observed.marker.files if observed.marker else {}
        if plan.source.kind in (seeding.DIRECTORY, seeding.HF_MODEL):
            copy = ("tree" if full else "list") if outcome.method == "bind" else "streamed"
            probe = seed_marker.probe(files, resolved.subpath) if full else ""
            total = resolved.fingerprint.total_bytes if full else sum(
                files[path][0] for path in decision.copy or [] if isinstance(files[path][0], int))
        else:
            copy = "archive" if outcome.method == "bind" else "streamed"
            probe, total = "", resolved.fingerprint.total_bytes
        marker = Marker(plan.volume_name, plan.source.declared, resolved.fingerprint.identity, resolved.fingerprint.digest,
                        files, resolved.fingerprint.total_bytes, plan.owner_text, plan.mode, resolved.subpath,
                        datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), seed_id)
        copy_plan = None
        if copy == "tree":   # one cp, or several at once (docs/seeding.md, "How the copy runs")
            copy_plan = seed_copy_plan.plan_copy(files, resolved.shape, resolved.subpath, resolved.follow_links)
            log.debug("seed copy: %s", copy_plan.describe())
            copy = "parallel" if copy_plan.parallel else copy
        job = HelperJob(plan, helper, seed_id, copy=copy, method=outcome.method, resolved=resolved,
                        files=decision.copy, remove=seed_marker.removal_lines(old, decision.remove), marker=marker,
                        force=self.options.force, probe=probe, copy_plan=copy_plan)
        started = time.monotonic()
        self.volumes.ensure(plan)
        timer.lap("volume")
        progress = TransferProgress(f"seeding {plan.volume}", total or None)
        try:
            self.volumes.run(job, progress, timer)
        finally:
            progress.close()
        timer.lap("done")
        outcome.seconds = time.monotonic() - started
        outcome.bytes = max(total, job.streamed)

    def _differing(self, resolved, observed, helper) -> list[str] | None:
        """--checksum: files whose content in the volume is not the source's (or that are missing)."""
        from mlstack.engine import sources

        if observed.marker is None:
            return None
        wanted = sources.sha256_files(resolved)
        found = self.volumes.sha256_in_volume(resolved.plan, helper(), list(wanted))
        return sorted(path for path, digest in wanted.items() if found.get(path) != digest)

    def helper(self, plan: SeedPlan) -> str:
        """The image the helper runs: --helper-image, else seeding.helper_image, else one the stack uses,
        else a local busybox/alpine/debian/ubuntu. Never pulled."""
        explicit = self.options.helper_image or self.settings.get("helper_image")
        key = explicit or plan.service
        if key in self._helpers:
            return self._helpers[key]
        if explicit:
            if self.volumes.image_id(explicit) is None:
                raise SeedError(f"helper image {explicit} is not on the engine; mlstack never pulls implicitly: "
                                f"`docker pull {explicit}` first, or name a local image with --helper-image")
            chosen = explicit
        else:
            chosen = next((image for image in seed_decision.helper_candidates(plan, self.document)
                           if self.volumes.image_id(image) is not None), None) \
                or seed_decision.fallback_helper(self.volumes.local_images())
            if chosen is None:
                raise SeedError("no image to run the seeding helper is on the engine, and mlstack never pulls "
                                "implicitly: run `mlstack pull` (the stack's images) or `docker pull busybox`, or "
                                "name a local image with sh, cp, tar, chown, mv and find with --helper-image")
        self._helpers[key] = chosen
        return chosen


def status_rows(stack_file: str | None, profile: str, project: Project) -> list[dict[str, Any]]:
    """`status`: per seeded volume, its source, size, when it was seeded, and whether it is up to date."""
    from mlstack.lifecycle.workspace import open_stack

    stack = open_stack(stack_file, project.env)
    declarations = stack.root.get("volumes") if stack.root is not None else None
    if declarations is None or not any(body.get("seed") is not None for body in declarations.value.values()):
        return []
    plans = planned(stack, project.document, project.name, profile, [], project.env)
    if not plans:
        return []
    from mlstack.engine import sources

    seeder = Seeder(stack, project.document, SeedOptions(stack_file, profile), project.env)
    rows = []
    for plan in plans:
        row = {"volume": plan.volume, "source": plan.source.declared, "size": "", "seeded_at": "", "state": ""}
        try:
            observed = seeder.volumes.observe(plan, partial(seeder.helper, plan))
            marker = observed.marker
            if marker is None:
                row["state"] = "not seeded"
            else:
                fingerprint = sources.resolve(plan, seeder.volumes.image_id).fingerprint
                row.update(size=human_bytes(marker.total_bytes), seeded_at=marker.seeded_at,
                           state="up to date" if marker.digest == fingerprint.digest else "stale")
            if observed.pending:
                row["state"] += " (interrupted: next seed completes it)"
        except SeedError as error:
            row["state"] = f"unknown: {error.message}"
        rows.append(row)
    return rows


def _new_id() -> str:
    return os.urandom(6).hex()   # as uuid4().hex[:12] was, without uuid (and platform) at import
