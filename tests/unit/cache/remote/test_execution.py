"""The remote executor's client against a scripted server (no process, no socket): retries,
a broken stream followed with WaitExecution, blobs checked by digest."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pytest
from helpers.reapi_pb import classes

from rules.cache import Unavailable
from rules.cache.remote.execution import EXECUTION, Executor

pb = classes()


def operation(name: str, done: bool, status: int = 0, exit_code: int = 0) -> bytes:
    message = pb["Operation"](name=name, done=done)
    if done:
        response = pb["ExecuteResponse"](result=pb["ActionResult"](exit_code=exit_code))
        response.status.code = status
        message.response.value = response.SerializeToString()
    return message.SerializeToString()


@dataclass
class ScriptedRemote:
    """GrpcRemote's interface, answering each streaming call with the next scripted stream."""

    streams: list[list[bytes | Exception]]
    blobs: dict[str, bytes] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    url: str = "grpc://scripted"
    instance: str = ""
    down: bool = False
    announce: bool = False

    def operations(self, method: str, request: bytes, timeout: float):
        self.calls.append(method.removeprefix(EXECUTION))
        for item in self.streams.pop(0):
            if isinstance(item, Exception):
                raise item
            yield item

    def missing_blobs(self, sizes):
        return set()

    def write_blobs(self, blobs):
        pass

    def read_blobs(self, sizes):
        return {digest: self.blobs[digest] for digest in sizes if digest in self.blobs}

    def give_up(self, reason: str):
        self.down = True
        raise Unavailable(reason)


def run(remote: ScriptedRemote):
    return Executor(remote).run({}, ("a" * 64, 1))  # type: ignore[arg-type]


def test_a_busy_executor_is_asked_again(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    remote = ScriptedRemote([[operation("op1", True, status=8)], [operation("op2", True)]])
    assert run(remote).exit_code == 0
    assert remote.calls == ["Execute", "Execute"]


def test_a_broken_stream_is_followed_with_wait_execution(monkeypatch):
    from rules.cache import Transient

    monkeypatch.setattr("time.sleep", lambda seconds: None)
    broken = [operation("op1", False), Transient("gRPC UNAVAILABLE")]
    remote = ScriptedRemote([broken, [operation("op1", True, exit_code=3)]])
    assert run(remote).exit_code == 3
    assert remote.calls == ["Execute", "WaitExecution"]


def test_a_failed_status_puts_the_executor_down_without_retrying():
    remote = ScriptedRemote([[operation("op1", True, status=9)]])
    with pytest.raises(Unavailable, match="status 9"):
        run(remote)
    assert remote.down and remote.calls == ["Execute"]


def test_blobs_are_checked_against_their_digest():
    good, bad = b"good", b"evil"
    digest = hashlib.sha256(good).hexdigest()
    remote = ScriptedRemote([], blobs={digest: good})
    assert Executor(remote).read({(digest, 4)}) == {digest: good}  # type: ignore[arg-type]
    remote.blobs[digest] = bad
    with pytest.raises(Unavailable, match="intact"):
        Executor(remote).read({(digest, 4)})  # type: ignore[arg-type]
