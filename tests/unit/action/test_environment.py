"""The environment of an action: built from the sandbox and fixed values only."""

from pathlib import Path

from rules.action.environment import action_environment, export_lines
from rules.core.machine import ARCH_TRIPLET, DEB_ARCH
from rules.workspace.layout import Sandbox

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
        "PATH": "/b/sandbox/p/tools:/b/sandbox/p/install/bin:/b/sandbox/p/stage/bin:/opt/py/bin"
        ":/usr/local/bin:/usr/bin:/bin",
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
        **dict.fromkeys(
            (
                "http_proxy",
                "https_proxy",
                "ftp_proxy",
                "all_proxy",
                "HTTP_PROXY",
                "HTTPS_PROXY",
                "FTP_PROXY",
                "ALL_PROXY",
            ),
            "http://127.0.0.1:9",
        ),
        "no_proxy": "",
        "NO_PROXY": "",
    }


def test_build_environment_is_exported_like_snapcraft():
    assert export_lines((("A", "1.0"), ("PATH", "$PATH:/opt/x"), ("Q", 'say "hi" `x` \\'))) == [
        'export A="1.0"',
        'export PATH="$PATH:/opt/x"',
        'export Q="say \\"hi\\" \\`x\\` \\\\"',
    ]
