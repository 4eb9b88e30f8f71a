"""A build step runs without network: a failure that is not about the network gets no hint.
(The steps that reach a server on 127.0.0.1 are in integration/test_offline.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.action import network_cut as offline
from rules.action import step as action
from rules.workspace.layout import Sandbox

EPOCH = 1591640328


def _step(tmp_path: Path, network: bool) -> action.Step:
    sandbox = Sandbox(tmp_path / "sandbox")
    action.prepare_sandbox(sandbox)
    sandbox.build.mkdir()
    return action.Step(sandbox, "p", EPOCH, (), Path("/usr/bin"), network=network)


def test_a_failure_that_is_not_about_the_network_gets_no_hint(tmp_path):
    step = _step(tmp_path, network=False)
    with pytest.raises(action.ActionError) as failed:
        step.run("echo 'no such file' >&2; exit 3")
    assert offline.HINT not in failed.value.resolution
