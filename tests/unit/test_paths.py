"""Which values are paths, and how they are rebased: (compose YAML, path, rebased from a/ to b/)."""

from __future__ import annotations

import textwrap
from pathlib import Path as FsPath

import pytest

from mlstack.core.canonical import canonical
from mlstack.core.load import parse_yaml
from mlstack.core.model import parse_path
from mlstack.core.paths import rebase_at

SERVICE = r"""
    services:
      app:
        image: app
        build:
          context: ./ctx
          ssh: ["key=./keys/id", "home=~/.ssh/id", 'win=C:\keys\id', default]
        volumes:
          - ./src:/src
          - C:\data:/win
          - type: bind
            source: \\server\share
            target: /unc
          - data:/data
        develop:
          watch:
            - {path: 'C:\src', action: sync, target: /app}
    volumes:
      data:
        driver: local
        driver_opts: {type: none, o: bind, device: ./data}
      other:
        driver_opts: {type: none, o: bind, device: ./kept}
      nfs:
        driver: local
        driver_opts: {type: nfs, o: "addr=10.0.0.1", device: ":/export"}
    secrets:
      token: {file: C:/secrets/token}
"""

CASES = [
    ("build context", "services.app.build.context", "../a/ctx"),
    ("an ssh key, written id=path", "services.app.build.ssh.key", "../a/keys/id"),
    ("an ssh key in the home directory", "services.app.build.ssh.home", "~/.ssh/id"),
    ("an ssh key on a Windows drive", "services.app.build.ssh.win", "C:\\keys\\id"),
    ("a bind mount", "services.app.volumes[0].source", "../a/src"),
    ("a bind mount on a Windows drive", "services.app.volumes[1].source", "C:\\data"),
    ("a bind mount on a Windows share", "services.app.volumes[2].source", "\\\\server\\share"),
    ("a named volume is no path", "services.app.volumes[3].source", "data"),
    ("a watched Windows path is joined, as Compose joins it", "services.app.develop.watch[0].path", "../a/C:\\src"),
    ("a local bind volume's device", "volumes.data.driver_opts.device", "../a/data"),
    ("a device without driver: local is no path", "volumes.other.driver_opts.device", "./kept"),
    ("a device of another mount type is no path", "volumes.nfs.driver_opts.device", ":/export"),
    ("a secret on a Windows drive", "secrets.token.file", "C:/secrets/token"),
]


@pytest.mark.parametrize(("where", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_rebase_at(where: str, expected: str) -> None:
    root = canonical(parse_yaml(textwrap.dedent(SERVICE), "compose.yaml"))
    path = parse_path(where)
    node = root.find(path)
    assert rebase_at(root, path, node.value, FsPath("/p/a"), FsPath("/p/b")) == expected
