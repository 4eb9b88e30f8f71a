"""REAPI v2 remote execution over gRPC (Buildbarn, BuildBuddy, EngFlow, BuildGrid, NativeLink,
buildbox-casd): `PARTSMITH_REMOTE_EXECUTOR=grpc://host:port[/instance]` (or `grpcs://`), with
`PARTSMITH_REMOTE_EXECUTOR_HEADER` ("Name: value", e.g. a bearer token) sent with every call.

`Executor.run` sends what the server lacks of an action (FindMissingBlobs, then batched or
streamed writes), calls Execute and follows its operation stream (WaitExecution when the stream
breaks), and answers the ExecuteResponse. Outputs are read back by digest and checked, as every
blob a remote cache serves is.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from ..errors import Transient, Unavailable
from . import reapi_exec as rx
from .backend import Blob
from .grpc_backend import GrpcRemote
from .reapi import Named

EXECUTION = "/build.bazel.remote.execution.v2.Execution/"
EXECUTE_TIMEOUT = 3600.0  # seconds an action may take on the executor, queueing included
ATTEMPTS = 4  # Execute tries while the server says UNAVAILABLE or RESOURCE_EXHAUSTED


@dataclass
class Executor:
    remote: GrpcRemote

    @property
    def url(self) -> str:
        return self.remote.url

    def run(self, blobs: dict[Named, Blob], action: Named) -> rx.Outcome:
        """Execute `action` (its Action, Command, Directories and files among `blobs`)."""
        sizes = dict(blobs.keys())  # (sha256, size) pairs
        missing = self.remote.missing_blobs(sizes)
        self.remote.write_blobs({d: b for (d, _), b in blobs.items() if d in missing})
        for attempt in range(ATTEMPTS):
            try:
                return self._execute(action)
            except Transient as err:
                if attempt == ATTEMPTS - 1:
                    self.remote.give_up(str(err))
                time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")  # the loop returns or gives up

    def _execute(self, action: Named) -> rx.Outcome:
        request = rx.execute_request(self.remote.instance, action)
        name = ""
        stream = self.remote.operations(EXECUTION + "Execute", request, EXECUTE_TIMEOUT)
        for _ in range(ATTEMPTS):
            done = None
            try:
                for raw in stream:
                    operation = rx.decode_operation(raw)
                    name = operation.name or name
                    if operation.done:
                        done = operation
                        break
            except Transient:
                if not name:
                    raise
            except ValueError as err:
                self.remote.give_up(f"its Execute answer cannot be read: {err}")
            if done is not None:  # outside the try: a retryable status retries Execute
                return self._outcome(done)
            if not name:
                raise Transient("the Execute stream ended before the action was done")
            wait = rx.wait_execution_request(name)  # the stream broke: follow the same operation
            stream = self.remote.operations(EXECUTION + "WaitExecution", wait, EXECUTE_TIMEOUT)
        raise Transient("the operation's stream kept breaking")

    def _outcome(self, operation: rx.Operation) -> rx.Outcome:
        """The ExecuteResponse of a finished operation; RESOURCE_EXHAUSTED and UNAVAILABLE are
        worth another Execute, any other failure puts the executor down for the run."""
        error = operation.error or (0, "")
        try:
            outcome = rx.decode_execute_response(operation.response or b"")
        except ValueError as err:
            self.remote.give_up(f"its ExecuteResponse cannot be read: {err}")
        code, message = error if error[0] else outcome.status
        if code in (8, 14):
            raise Transient(f"the executor answered status {code}: {message}")
        if code != 0:
            self.remote.give_up(f"the executor answered status {code}: {message}")
        if operation.response is None:
            self.remote.give_up("its operation finished without a response")
        return outcome

    def read(self, digests: set[Named]) -> dict[str, bytes]:
        """The blobs' bytes, each checked against its digest; Unavailable if one is missing."""
        served = self.remote.read_blobs(dict(digests))
        found = {}
        for digest, size in digests:
            data = served.get(digest)
            if data is None or len(data) != size or hashlib.sha256(data).hexdigest() != digest:
                raise Unavailable(f"the executor's CAS did not give blob {digest[:12]} intact")
            found[digest] = data
        return found
