"""Compose command lines as data (exact argument lists) and run(), the one subprocess function."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

import pytest

from mlstack.engine import compose
from mlstack.errors import EngineError

PLUGIN = compose.Target(("docker", "compose"), "/s/.mlstack/dev/compose.yaml", "team-dev")
BINARY = compose.Target(("/venv/bin/docker-compose",), "/s/.mlstack/dev/compose.yaml", "team-dev", ("gpu", "tools"))
BASE = ["docker", "compose", "-f", "/s/.mlstack/dev/compose.yaml", "-p", "team-dev"]
BINARY_BASE = ["/venv/bin/docker-compose", "-f", "/s/.mlstack/dev/compose.yaml", "-p", "team-dev",
               "--profile", "gpu", "--profile", "tools"]

CASES = [
    (compose.up(PLUGIN), BASE + ["up", "--detach"]),
    (compose.up(PLUGIN, ["mlflow", "jupyter"], build=True), BASE + ["up", "--detach", "--build", "mlflow", "jupyter"]),
    (compose.up(BINARY), BINARY_BASE + ["up", "--detach"]),
    (compose.down(PLUGIN), BASE + ["down", "--remove-orphans"]),
    (compose.down(PLUGIN, volumes=True), BASE + ["down", "--remove-orphans", "--volumes"]),
    (compose.ps(PLUGIN), BASE + ["ps", "--all", "--format", "json"]),
    (compose.logs(PLUGIN), BASE + ["logs"]),
    (compose.logs(PLUGIN, ["redis"], follow=True, tail=30, color=False),
     BASE + ["logs", "--follow", "--tail", "30", "--no-color", "redis"]),
    (compose.exec_(PLUGIN, "jupyter", ["python3", "-c", "print(1)"]), BASE + ["exec", "jupyter", "python3", "-c", "print(1)"]),
    (compose.exec_(PLUGIN, "postgres", ["psql"], tty=False), BASE + ["exec", "--no-TTY", "postgres", "psql"]),
    (compose.restart(PLUGIN, ["api"]), BASE + ["restart", "api"]),
    (compose.pull(PLUGIN), BASE + ["pull", "--ignore-buildable"]),
    (compose.build(PLUGIN, ["api"], pull=True), BASE + ["build", "--pull", "api"]),
    (compose.version(("docker", "compose")), ["docker", "compose", "version", "--short"]),
]


@pytest.mark.parametrize("built, expected", CASES, ids=[" ".join(case[1][6:8]) for case in CASES])
def test_command_lines(built, expected):
    assert built == expected


def test_a_shell_string_is_one_argument_never_split():
    assert compose.exec_(PLUGIN, "api", ["sh", "-c", "echo $HOME; rm -rf /"])[-3:] == ["sh", "-c", "echo $HOME; rm -rf /"]


def test_run_captures_output():
    done = compose.run([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"])
    assert (done.returncode, done.stdout, done.stderr) == (0, "out\n", "err\n")


def test_a_failure_carries_command_code_and_output():
    command = [sys.executable, "-c", "import sys; print('partial'); sys.exit('boom')"]
    with pytest.raises(EngineError) as caught:
        compose.run(command)
    error = caught.value
    assert (error.command, error.returncode, error.stdout, error.stderr) == (command, 1, "partial\n", "boom\n")
    assert error.message == f"{os.path.basename(sys.executable)} {command[2]} failed (exit 1):\n  boom"
    assert error.hint == "run with MLSTACK_DEBUG=1 to see every command mlstack runs"


def test_the_failure_message_names_compose_and_its_verb():
    done = compose.Completed(BASE + ["up", "--detach", "mlflow"], 1, "", "Error: port is already allocated\n")
    assert compose.failure(done, {}).message == "docker compose up failed (exit 1):\n  Error: port is already allocated"
    done = compose.Completed(BINARY_BASE + ["down", "--volumes"], 2, "", "")
    assert compose.failure(done, {}).message == "docker-compose down failed (exit 2)"


def test_check_false_returns_the_code():
    assert compose.run([sys.executable, "-c", "raise SystemExit(7)"], check=False).returncode == 7


def test_a_missing_program_is_an_engine_error():
    with pytest.raises(EngineError) as caught:
        compose.run(["/nonexistent/docker-compose", "version"])
    assert caught.value.message == "cannot run /nonexistent/docker-compose: No such file or directory"


def test_timeout_stops_the_child():
    started = time.monotonic()
    with pytest.raises(EngineError) as caught:
        compose.run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert time.monotonic() - started < 10
    assert caught.value.message.endswith("did not finish within 0.5 s")


def test_debug_logs_every_command(caplog):
    with caplog.at_level(logging.DEBUG, logger="mlstack"):
        compose.run([sys.executable, "-c", "pass"])
    assert caplog.messages[0] == f"run: {sys.executable} -c pass"
    assert caplog.messages[1].startswith("exit 0: ")


def test_ctrl_c_terminates_the_child_and_propagates(monkeypatch, tmp_path):
    """SIGINT reaches only mlstack here (as with `kill -INT`): the child is terminated after the grace."""
    monkeypatch.setattr(compose, "INTERRUPT_GRACE_S", 0.2)
    marker = tmp_path / "pid"
    script = f"import os, time; open({str(marker)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        compose.run([sys.executable, "-c", script])
    child = int(marker.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def test_an_unreachable_engine_reads_the_same_as_the_api_check():
    """Recorded from docker-compose 5.6.1 with DOCKER_HOST on a missing socket."""
    stderr = ("failed to connect to the docker API at unix:///tmp/nonexistent.sock; check if the path is correct and if "
              "the daemon is running: dial unix /tmp/nonexistent.sock: connect: no such file or directory\n")
    error = compose.failure(compose.Completed(BASE + ["ps"], 1, "", stderr), {"DOCKER_HOST": "unix:///tmp/nonexistent.sock"})
    assert error.message.startswith("cannot reach the Docker engine at unix:///tmp/nonexistent.sock (from DOCKER_HOST): "
                                    "no such file or directory. ")
    assert (error.returncode, error.stderr) == (1, stderr)
