import dataclasses
import os
import stat
from pathlib import Path

import pytest
import yaml
from conftest import make_workspace

from rules.action import run as action
from rules.action.environment import action_environment, export_lines
from rules.build.builder import plan
from rules.core.errors import BuildError
from rules.core.machine import ARCH_TRIPLET, DEB_ARCH
from rules.workspace.layout import Sandbox
from rules.workspace.loader import load_workspace

EPOCH = 1591640328


def test_environment_is_built_from_nothing_but_the_sandbox_and_fixed_values(monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", "http://evil")
    monkeypatch.setenv("PYTHONPATH", "/evil")
    for name, value in {
        "LC_ALL": "fr_FR.UTF-8",
        "LANG": "fr_FR.UTF-8",
        "TZ": "Asia/Tokyo",
        "HOME": "/home/x",
    }.items():
        monkeypatch.setenv(name, value)
    sandbox = Sandbox(Path("/b/sandbox/p"))
    env = action_environment(sandbox, "p", EPOCH, Path("/opt/py/bin"))
    assert env == {
        "PATH": "/b/sandbox/p/tools:/b/sandbox/p/install/bin:/b/sandbox/p/stage/bin:/opt/py/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/b/sandbox/p/home",
        "TMPDIR": "/b/sandbox/p/tmp",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "PYTHONHASHSEED": "0",
        "SOURCE_DATE_EPOCH": str(EPOCH),
        "PIP_CONFIG_FILE": "/dev/null",
        "GIT_CEILING_DIRECTORIES": "/b/sandbox/p",
        **{
            f"{prefix}_{name}": value
            for prefix in ("CRAFT", "SNAPCRAFT")
            for name, value in {
                "PART_NAME": "p",
                "PART_SRC": "/b/sandbox/p/src",
                "PART_BUILD": "/b/sandbox/p/build",
                "PART_INSTALL": "/b/sandbox/p/install",
                "STAGE": "/b/sandbox/p/stage",
                "PRIME": "/b/sandbox/p/prime",
                "PROJECT_DIR": "/b/sandbox/p/project",
                "ARCH_TRIPLET": ARCH_TRIPLET,
                "ARCH_BUILD_FOR": DEB_ARCH,
                "ARCH_BUILD_ON": DEB_ARCH,
                "TARGET_ARCH": DEB_ARCH,
                "PARALLEL_BUILD_COUNT": "1",
            }.items()
        },
        # a build has no network: where a namespace cannot take it away, no proxy answers
        **dict.fromkeys(("http_proxy", "https_proxy", "ftp_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "ALL_PROXY"), "http://127.0.0.1:9"),
        "no_proxy": "",
        "NO_PROXY": "",
    }


def test_build_environment_is_exported_like_snapcraft():
    assert export_lines((("A", "1.0"), ("PATH", "$PATH:/opt/x"), ("Q", 'say "hi" `x` \\'))) == [
        'export A="1.0"',
        'export PATH="$PATH:/opt/x"',
        'export Q="say \\"hi\\" \\`x\\` \\\\"',
    ]


def test_plan_is_data_for_dump_nil_and_override_build(tmp_path):
    workspace = load_workspace(
        make_workspace(
            tmp_path,
            """\
        name: w
        source-date-epoch: 1591640328
        parts:
          files: {plugin: dump, source: files}
          custom:
            plugin: dump
            source: files
            build-environment: [{X: "1"}]
            override-build: |
              craftctl default
              touch "$CRAFT_PART_INSTALL/extra"
          empty: {plugin: nil}
        """,
            {"files/a": "a"},
        )
    )
    files, custom, empty = (plan(workspace, name) for name in ("files", "custom", "empty"))
    assert files.default_build == ('cp --archive --no-dereference . "$CRAFT_PART_INSTALL"',)
    assert files.script == files.default_build[0]
    assert files.source == tmp_path / "files" and files.epoch == EPOCH
    assert custom.default_build == files.default_build
    assert custom.script == 'craftctl default\ntouch "$CRAFT_PART_INSTALL/extra"\n'
    assert custom.build_environment == (("X", "1"),)
    assert empty.default_build == () and empty.script == "" and empty.source is None


def run_part(tmp_path, script, files=None, env_pairs=()):
    config = {
        "name": "w",
        "parts": {"p": {"plugin": "dump", "source": "src", "override-build": script}},
    }
    workspace = load_workspace(
        make_workspace(
            tmp_path / "ws", yaml.safe_dump(config), {"src/keep": "kept", **(files or {})}
        )
    )
    act = dataclasses.replace(plan(workspace, "p"), build_environment=env_pairs)
    sandbox = Sandbox(tmp_path / "sandbox")
    return action.run_action(act, sandbox, {}), sandbox


def test_action_sees_only_the_fixed_environment_and_umask_022(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", "http://evil")
    monkeypatch.setenv("LD_PRELOAD", "/evil.so")
    os.umask(0o077)
    try:
        result, sandbox = run_part(
            tmp_path,
            'env | sed "s|${CRAFT_PART_INSTALL%/install}|SANDBOX|g" > "$CRAFT_PART_INSTALL/env"\n'
            'umask > "$CRAFT_PART_INSTALL/umask"\n'
            'touch "$CRAFT_PART_INSTALL/made"',
            env_pairs=(("GREETING", "hi $TZ"),),
        )
    finally:
        os.umask(0o022)
    install = sandbox.install
    names = {line.split("=", 1)[0] for line in (install / "env").read_text().splitlines()}
    assert "PIP_INDEX_URL" not in names and "LD_PRELOAD" not in names
    assert "GREETING=hi UTC" in (install / "env").read_text()
    assert "HOME=SANDBOX/home" in (install / "env").read_text()
    assert (install / "umask").read_text().strip() == "0022"
    assert stat.S_IMODE(os.stat(install / "made").st_mode) == 0o644
    assert result.tree["made"].digest


def test_output_holding_the_sandbox_path_fails_naming_the_file(tmp_path):
    with pytest.raises(BuildError) as caught:
        run_part(
            tmp_path,
            'echo "$CRAFT_PART_INSTALL" > "$CRAFT_PART_INSTALL/where"\n'
            'echo fine > "$CRAFT_PART_INSTALL/ok"',
        )
    assert "where: holds the sandbox path" in caught.value.details
    assert "ok" not in caught.value.details.replace("holds", "")


def test_failing_script_reports_status_and_output_tail(tmp_path):
    with pytest.raises(BuildError) as caught:
        run_part(tmp_path, "for i in $(seq 1 30); do echo line$i; done\nexit 7")
    error = caught.value
    assert "exit status 7" in error.brief and "'p'" in error.brief
    assert "line30" in error.details and "line10" not in error.details
    assert "build.log" in error.resolution


def test_craftctl_default_runs_the_plugins_build_inside_override(tmp_path):
    result, _ = run_part(
        tmp_path,
        'craftctl default\necho more > "$CRAFT_PART_INSTALL/more"',
        files={"src/sub/x": "x", "src/link": "->sub/x"},
    )
    assert {"keep", "sub", "sub/x", "link", "more"} == set(result.tree)
    assert result.tree["link"].kind == "symlink" and result.tree["link"].target == "sub/x"


def test_python_plan_installs_offline_every_pulled_wheel_by_name(tmp_path):
    from pathlib import Path as P

    from rules.build.plugins import default_build
    from rules.build.plugins.context import BuildContext
    from rules.python.python_pull import Pulled, Wheel

    workspace = load_workspace(
        make_workspace(
            tmp_path,
            """\
        name: w
        parts:
          app: {plugin: python, source: app}
        """,
            {"app/pyproject.toml": "[project]\nname = 'app'\n"},
        )
    )
    pulled = Pulled(
        P("/pulled"),
        (
            Wheel("flask", "3.0.3", "flask-3.0.3-py3-none-any.whl", "a" * 64),
            Wheel("click", "8.1.7", "click-8.1.7-py3-none-any.whl", "b" * 64),
        ),
        (),
    )
    context = BuildContext(P("/usr/bin/python3.11"), ("/uv", "--no-config"), pulled, project=True)
    assert default_build(workspace.parts["app"], context) == (
        "unset PIP_FIND_LINKS PIP_INDEX_URL PIP_EXTRA_INDEX_URL UV_INDEX_URL UV_EXTRA_INDEX_URL UV_FIND_LINKS "
        "UV_INDEX UV_DEFAULT_INDEX",
        "mkdir -p ../inputs/wheels ../inputs/build-wheels",
        '/usr/bin/python3.11 -m venv --without-pip --clear "$CRAFT_PART_INSTALL"',
        "echo 'partsmith: building the project'",
        "/uv --no-config build --wheel -q --python /usr/bin/python3.11 --offline --no-index --find-links "
        "../inputs/build-wheels --out-dir ../dist .",
        "echo 'partsmith: installing 3 wheels'",
        '/uv --no-config pip install -q --python "$CRAFT_PART_INSTALL/bin/python" --offline --no-index '
        "--link-mode copy --find-links ../inputs/wheels flask==3.0.3 click==8.1.7 ../dist/*.whl",
    )


@pytest.mark.parametrize(
    "argv, jobs",
    [
        (["doit", "stage"], 1),
        (["doit", "-n", "2", "stage"], 2),
        (["doit", "-n4", "stage"], 4),
        (["doit", "--process=3", "stage"], 3),
        (["doit", "--process", "2"], 2),
        (["doit", "-n", "x"], 1),
    ],
)
def test_each_task_takes_its_share_of_the_cores_under_doit_n(argv, jobs):
    from rules.core.cores import cores_per_task, doit_jobs

    assert doit_jobs(argv) == jobs
    assert cores_per_task(argv) == max(1, len(os.sched_getaffinity(0)) // jobs)
