"""`mlstack init [DIR]`: a new project's mlstack.yaml, .env.example, dev .env, .gitignore and api/.

The answers come from the CLI (its prompts or its options); this module checks them, plans the
files (core.init_plan), refuses before writing anything when a file is in the way, writes, and
generates the dev secrets the chosen services read (lifecycle.dev_secrets, as `up` would).
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Mapping

from mlstack.core.init_plan import (DEFAULT_SERVICES, GPU_CHOICES, Answers, check_gpu, check_name, default_name,
                                    parse_services, plan, with_requirements)
from mlstack.lifecycle import init_project
from mlstack.report import Result


def choices() -> dict[str, str]:
    """The services `init` offers: name -> one-line description (for the prompt)."""
    return {name: fragment.description for name, fragment in init_project.builtin_fragments().items()}


def defaults(directory: str) -> dict[str, str]:
    """What Enter (or --yes) answers: the directory's name, the default services, the default GPU policy."""
    return {"name": default_name(FsPath(directory).absolute().name), "services": ",".join(DEFAULT_SERVICES),
            "gpu": GPU_CHOICES[0]}


def checked(question: str, answer: str) -> str:
    """One answer checked as `run` will check it (a prompt asks again instead of failing)."""
    checks = {"name": check_name, "gpu": check_gpu,
              "services": lambda text: ",".join(parse_services(text, init_project.builtin_fragments()))}
    return checks[question](answer.strip())


def run(directory: str, name: str, services: str, gpu: str, force: bool, *, env: Mapping[str, str]) -> Result:
    target = FsPath(directory).absolute()
    catalog = init_project.builtin_fragments()
    answers = Answers(check_name(name), parse_services(services, catalog), check_gpu(gpu))
    requires = {fragment_name: fragment.requires for fragment_name, fragment in catalog.items()}
    fragments, _ = with_requirements(answers.services, requires)
    files = plan(answers, requires, init_project.stack_variables(fragments, catalog),
                 init_project.api_template() if "api" in fragments else {}, init_project.existing_gitignore(target))
    init_project.check_target(target, files, force)
    written = init_project.write(target, files)
    secrets = init_project.dev_secrets(target, env)
    lines = [f"mlstack: wrote {len(written)} file(s) in {directory}: " + ", ".join(_top_level(written))]
    lines += [f"mlstack: added {added} (required by {by})" for added, by in files.added]
    if secrets:
        lines.append(f"mlstack: generated dev values for {', '.join(secrets)} in .mlstack/dev-secrets.env (0600)")
    where = "" if target == FsPath.cwd().absolute() else f"cd {directory} && "
    next_steps = f"next: {where}mlstack validate && mlstack up --profile dev"
    return Result(text=next_steps, notes=lines,
                  data={"directory": str(target), "files": written, "fragments": files.fragments,
                        "added": [{"fragment": a, "required_by": b} for a, b in files.added], "dev_secrets": secrets})


def _top_level(paths: list[str]) -> list[str]:
    return list(dict.fromkeys(path.split("/")[0] + ("/" if "/" in path else "") for path in paths))
