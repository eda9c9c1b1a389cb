"""A stand-in `docker compose` for CLI tests without an engine (MLSTACK_COMPOSE="python3 THIS").

`version --short` answers a version mlstack accepts; `ps` prints the recording named by
MLSTACK_FAKE_PS (a `compose ps --format json` output); anything else fails, so a test that
reaches further than it meant to says so.
"""

import os
import sys

arguments = sys.argv[1:]
if arguments[:2] == ["version", "--short"]:
    print("2.29.7")
elif "ps" in arguments:
    with open(os.environ["MLSTACK_FAKE_PS"], encoding="utf-8") as recording:
        sys.stdout.write(recording.read())
else:
    sys.exit(f"fake compose: not faked: {' '.join(arguments)}")
