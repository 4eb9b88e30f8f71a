"""A part's build script run by a remote executor instead of this machine (REAPI v2 Execute).

The sealed action is sent as it is: the Command runs the same tools/<step>.sh the sealed sandbox
would, with the same environment (every path at /partsmith), and the input root is the sandbox
folder itself (the source copy, the pulled wheels, the `after` parts' stage, craftctl and the
pinned uv). The worker gives the operating system and the interpreter: a first script checks
that the interpreter is the one the key records, and a worker with another stops the build
naming the difference. What comes back (the install folder, what `craftctl set` said, stdout and
stderr into the log) is written into the sandbox, and every step after the script runs here as
for a local build, so a part built remotely has the Tree a local build gives.
"""

from __future__ import annotations

import functools
import shlex
from dataclasses import dataclass

from rules.action import (
    ActionError,
    Step,
    execute,
    interpreter,
    interpreter_facts,
    sealed,
    step_environment,
    write_script,
)
from rules.cache import RemoteError, executor_from_environment
from rules.cache.remote import reapi_exec  # loaded only by a run with an executor
from rules.cache.remote.execution import Executor
from rules.workspace import Workspace

from .input_root import sandbox_root
from .outputs import stream_text, write_outputs

_WARNED: set[str] = set()  # executors this process has said are failing
OUTPUTS = ("install", "tools/values")  # relative to the working folder, /partsmith
# what the sandbox holds for the steps that run here after the script: they name this machine's
# partsmith (its Python, its rules folder), so they stay out of the action
LOCAL_ONLY = frozenset({"build.log", "tools/craftctl-stage.py", "tools/default-stage.sh"})
LOCAL_ONLY |= {"tools/default-prime.sh"}
DIFFERS = "partsmith: the worker's toolchain differs"
FACTS = (
    "import platform, sys, sysconfig; print(platform.python_implementation(), "
    "platform.python_version(), sys.abiflags, sysconfig.get_platform(), "
    "sysconfig.get_config_var('SOABI'))"
)
CHECK = """facts=$({python} -c "{facts}" 2>&1) || facts="no interpreter at {python}"
if [ "$facts" != {expected} ]; then
  echo "{differs}: {python} is '$facts', the key records '"{expected}"'" >&2; exit 97
fi
exec /bin/bash --noprofile --norc {script}
"""


@dataclass(frozen=True)
class Toolchain:
    interpreter: str
    # "CPython 3.11.7  linux-x86_64 cpython-311-x86_64-linux-gnu": implementation, version,
    # abiflags, platform and SOABI, as the key records them and CHECK prints them
    facts: str


@dataclass
class RemoteRunner:
    executor: Executor
    toolchain: Toolchain
    platform: tuple[tuple[str, str], ...] = ()

    def __call__(self, step: Step, script: str) -> int:
        """The step's script run remotely; an executor that cannot be reached costs a warning
        (once per run) and the script runs here."""
        try:
            return self._remote(step, script)
        except RemoteError as err:
            remote = self.executor.remote
            if (remote.announce or not remote.down) and self.executor.url not in _WARNED:
                _WARNED.add(self.executor.url)
                print(
                    f"partsmith: warning: the remote executor {self.executor.url} failed ({err}): "
                    "building here",
                    flush=True,
                )
            return execute(step, script)

    def _remote(self, step: Step, script: str) -> int:
        sandbox = step.sandbox
        path = write_script(step, script)
        check = sandbox.tools / "remote-check.sh"
        check.write_text(
            CHECK.format(
                python=shlex.quote(self.toolchain.interpreter),
                expected=shlex.quote(self.toolchain.facts),
                differs=DIFFERS,
                facts=FACTS,
                script=f"/partsmith/tools/{path.name}",
            )
        )
        root = sandbox_root(sandbox.root, LOCAL_ONLY)
        command = reapi_exec.Command(
            ("/bin/bash", "--noprofile", "--norc", "/partsmith/tools/remote-check.sh"),
            tuple(sorted(step_environment(step).items())),
            "partsmith",
            OUTPUTS,
            self.platform,
        )
        command_digest = root.add(reapi_exec.encode_command(command))
        action = root.add(reapi_exec.encode_action(command_digest, root.digest, self.platform))
        outcome = self.executor.run(root.blobs, action)
        return self._received(step, outcome)

    def _received(self, step: Step, outcome: reapi_exec.Outcome) -> int:
        sandbox = step.sandbox
        stderr = stream_text(self.executor, outcome.stderr)
        with open(sandbox.log, "ab") as log:
            log.write(stream_text(self.executor, outcome.stdout) + stderr)
        if outcome.exit_code == 97 and DIFFERS.encode() in stderr:
            line = next(x for x in stderr.decode(errors="replace").splitlines() if DIFFERS in x)
            raise ActionError(
                f"part {step.part!r}: {line.removeprefix('partsmith: ')}",
                resolution="Give the worker the interpreter the key records, or name a "
                "platform whose workers have it (execution-platform in the workspace file).",
            )
        write_outputs(self.executor, dict(outcome.directories), sandbox.root, OUTPUTS)
        return outcome.exit_code


@functools.cache
def _executor() -> Executor | None:
    """One client per process, so that a server found down stays down for the run."""
    return executor_from_environment()


def remote_runner(workspace: Workspace) -> RemoteRunner | None:
    """The runner of the workspace's builds, when PARTSMITH_REMOTE_EXECUTOR names an executor
    and the run is sealed (an unsealed step sees host paths, which no worker has)."""
    executor = _executor()
    if executor is None or not sealed():
        return None
    python = str(interpreter(workspace))
    facts = interpreter_facts(python)
    named = ("implementation", "version", "abi", "platform", "soabi")
    toolchain = Toolchain(python, " ".join(str(facts[name]) for name in named))
    return RemoteRunner(executor, toolchain, workspace.execution_platform)
