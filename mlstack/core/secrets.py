"""Secrets as part of the stack definition: declared, wired in the profiles that require them, never read.

A secret is declared in a fragment's `x-mlstack.secrets` (the built-in ones: pg_password,
jupyter_token) or in mlstack.yaml's `secrets:` (which wins, key by key):

    secrets:
      pg_password:
        description: password of PostgreSQL's mlflow role
        environment: POSTGRES_PASSWORD        # where the deploy host reads it (or file: ./secrets/pg)
        required: [prod]                      # profiles (and those extending them) that need it
        services:                             # who reads it: the *_FILE variable the image understands
          postgres: POSTGRES_PASSWORD_FILE

In a profile that requires it, each reading service gets the Compose secret (a file under
/run/secrets/NAME), its `*_FILE` variable, and the plain variable (`*_FILE` less the suffix)
blanked; the secret's variable is taken out of interpolation, so no value can reach the model.
Elsewhere (dev) the plain variable is interpolated as before; the commands give it a generated
value kept in .mlstack/ (never in git) when nothing else sets it.
"""

from __future__ import annotations

from mlstack.records import field, record
from pathlib import Path as FsPath

from mlstack.core.model import Node, Origin
from mlstack.core.project import ComposeFile, ParsedFiles
from mlstack.report import Diagnostic

RUN_SECRETS = "/run/secrets"
KEYS = ("description", "environment", "file", "required", "services")


@record
class Secret:
    name: str
    description: str = ""
    variable: str | None = None          # deploy-time source: an environment variable ...
    file: str | None = None              # ... or a file (relative to the stack directory)
    required: tuple[str, ...] = ()       # profiles
    readers: dict[str, str] = field(default_factory=dict)   # service -> its *_FILE variable
    origin: Origin = Origin()

    def source_text(self) -> str:
        if self.file:
            return f"the file {self.file}"
        return f"the environment variable {self.variable}"

    def how_to_provide(self) -> str:
        if self.file:
            return f"create the file {self.file} (relative to the stack directory) holding the value"
        return f"export {self.variable}=... (or set secrets.{self.name}.file in mlstack.yaml)"

    def plain_variables(self) -> list[str]:
        """The variables the readers use without `_FILE`: dev interpolates them, required profiles blank them."""
        return sorted({variable.removesuffix("_FILE") for variable in self.readers.values() if variable.endswith("_FILE")})


def declared(stack, parsed_files: ParsedFiles | None = None) -> dict[str, Secret]:
    """Every secret of the stack: its fragments' declarations, then mlstack.yaml's, merged key by key.

    Read from the fragments as the render parses them (`parsed_files`): each file is parsed once."""
    found: dict[str, Secret] = {}
    parsed_files = parsed_files or ParsedFiles()
    for ref in stack.fragments:
        meta = parsed_files.meta(ComposeFile(ref.path, ref.display))
        _merge(found, meta.get("secrets") if meta is not None and meta.is_map else None)
    if stack.root is not None:
        _merge(found, stack.root.get("secrets"))
    for secret in found.values():
        if secret.variable is None and secret.file is None:
            secret.variable = secret.name.upper()
    return found


def _merge(found: dict[str, Secret], node: Node | None) -> None:
    if node is None or not node.is_map:
        return
    for name, body in node.value.items():
        if not body.is_map:
            continue
        secret = found.setdefault(name, Secret(name, origin=body.origin))
        data = body.to_data()
        if "description" in data:
            secret.description = str(data["description"])
        if "environment" in data:
            secret.variable, secret.file = str(data["environment"]), None
        if "file" in data:
            secret.file, secret.variable = str(data["file"]), None
        if "required" in data:
            secret.required = tuple(str(profile) for profile in data["required"] or [])
        secret.readers.update({str(service): str(variable) for service, variable in (data.get("services") or {}).items()})
        if "environment" in data or "file" in data or secret.origin.file == "":
            secret.origin = body.origin


def required_in(secrets: dict[str, Secret], stack, profile: str) -> list[Secret]:
    chain = set(stack.profile_chain(profile))
    return [secret for _, secret in sorted(secrets.items()) if chain & set(secret.required)]


def interpolation_env(env: dict[str, str], required: list[Secret]) -> dict[str, str]:
    """The environment the files are interpolated with: no required secret's value in it."""
    hidden = {secret.variable for secret in required if secret.variable}
    return {key: value for key, value in env.items() if key not in hidden}


def hidden_references(root: Node, required: list[Secret]) -> list[Diagnostic]:
    """Values that still interpolate a required secret's variable: it is never interpolated in this
    profile, so the value was rendered without it (a blank, or the default). Said, never silent."""
    hidden = {secret.variable: secret for secret in required if secret.variable}
    found = []
    for path, node in root.walk():
        for variable, _ in node.origin.variables:
            secret = hidden.get(variable)
            if secret is None or path[:1] == ("secrets",):
                continue
            reader = f"add this service to secrets.{secret.name}.services with the *_FILE variable its image reads"
            found.append(Diagnostic.at(
                node, path, f"${{{variable}}} is the source of secret {secret.name!r}, which this profile never "
                f"interpolates (the value was rendered without it): read /run/secrets/{secret.name} instead; {reader}",
                "secret", "warning"))
    return found


def wire(root: Node, required: list[Secret]) -> None:
    """Each reading service present gets the secret file, its *_FILE variable and the plain variable blanked."""
    services = root.get("services")
    present = services.value if services is not None and services.is_map else {}
    used = []
    for secret in required:
        origin = secret.origin.with_rule("derived")
        for service_name, file_variable in sorted(secret.readers.items()):
            service = present.get(service_name)
            if service is None or not service.is_map:
                continue
            used.append(secret)
            listed = service.value.setdefault("secrets", Node([], origin))
            sources = [entry.text() if entry.is_scalar else (entry.get("source").text() if entry.get("source") else "")
                       for entry in listed.value]
            if secret.name not in sources:
                listed.value.append(Node({"source": Node(secret.name, origin)}, origin))
            environment = service.value.setdefault("environment", Node({}, origin))
            if environment.is_map:
                environment.value[file_variable] = Node(f"{RUN_SECRETS}/{secret.name}", origin)
                plain = file_variable.removesuffix("_FILE")
                if plain != file_variable and plain in environment.value:
                    environment.value[plain] = Node("", origin)
    if not used:
        return
    top = root.value.setdefault("secrets", Node({}, Origin(rule="derived")))
    for secret in used:
        origin = secret.origin.with_rule("derived")
        source = ("file", secret.file) if secret.file else ("environment", secret.variable)
        top.value[secret.name] = Node({source[0]: Node(source[1], origin)}, origin)


def missing(root: Node, env: dict[str, str], directory: FsPath) -> list[Diagnostic]:
    """Every secret the rendered model's services read that the deploy host does not provide now, and how to.

    Covers every top-level Compose secret of the model, declared in mlstack or written by hand."""
    secrets = root.get("secrets")
    problems = []
    for name, body in sorted(secrets.value.items()) if secrets is not None and secrets.is_map else []:
        readers = _readers(root, name)
        if not body.is_map or body.get("external") is not None or not readers:
            continue   # a secret no service reads (a built-in profile's, for a service not in this stack) is not needed
        who = f" (read by {', '.join(readers)})" if readers else ""
        variable, path = body.get("environment"), body.get("file")
        where = variable or path or body
        origin = where.origin
        if variable is not None and not env.get(variable.text()):
            message = (f"secret {name!r}{who} is read from ${variable.text()}, which is not set: "
                       f"export {variable.text()}=... (or set secrets.{name}.file in mlstack.yaml)")
        elif path is not None and not (directory / path.text()).is_file():
            message = f"secret {name!r}{who} is read from the file {path.text()}, which does not exist: create it"
        else:
            continue
        problems.append(Diagnostic.at(origin, f"secrets.{name}", message, "secret"))
    return problems


def _readers(root: Node, name: str) -> list[str]:
    services = root.get("services")
    found = []
    for service_name, service in (services.value.items() if services is not None and services.is_map else []):
        listed = service.get("secrets") if service.is_map else None
        for entry in (listed.value if listed is not None and listed.is_seq else []):
            source = entry.text() if entry.is_scalar else (entry.get("source").text() if entry.get("source") else "")
            if source == name:
                found.append(service_name)
    return sorted(found)


def dev_variables(secrets: dict[str, Secret], stack, profile: str, env: dict[str, str]) -> list[str]:
    """Variables a profile that does not require the secrets interpolates, and nothing sets: mlstack generates them."""
    required = {secret.name for secret in required_in(secrets, stack, profile)}
    wanted = {secret.variable for name, secret in secrets.items() if name not in required and secret.variable}
    return sorted(variable for variable in wanted if not env.get(variable))

