"""snapcraft.yaml files as they stand, in the shapes real projects have: built with
`doit stage workspace=snap/snapcraft.yaml`, offline (wheels from a folder named in
build-environment, sources from local git repositories and archives)."""

import ensurepip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from helpers.doit_runner import doit
from helpers.wheels import make_project, make_wheel, make_wheelhouse
from helpers.workspaces import snap_project

ENSUREPIP_WHEELS = Path(ensurepip.__file__).parent / "_bundled"


def wheelhouse(folder: Path) -> Path:
    """alpha -> beta -> gamma (two versions of beta and gamma, so constraints have a choice),
    delta, and pip, setuptools and wheel: what a snapcraft python part installs by default."""
    make_wheelhouse(folder)
    make_wheel(
        folder,
        "beta",
        "2.1",
        {"beta.py": "import gamma\n\ndef shout(word):\n    return gamma.upper(word) + '?'\n"},
        requires=["gamma"],
    )
    make_wheel(folder, "gamma", "3.1", {"gamma.py": "def upper(word):\n    return word.lower()\n"})
    make_wheel(folder, "wheel", "0.45.1", {"wheel/__init__.py": "__version__ = '0.45.1'\n"})
    for bundled in ENSUREPIP_WHEELS.glob("*.whl"):  # the real pip and setuptools python ships with
        (folder / bundled.name).write_bytes(bundled.read_bytes())
    return folder


def run(root: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    result = doit(*args, "workspace=snap/snapcraft.yaml", cwd=root, env=env)
    return result


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def site(stage: Path) -> Path:
    return next((stage / "lib").glob("python3*/site-packages"))


def run_staged(stage: Path, command: str) -> str:
    """A staged console script, run as the snap runs it: the stage's bin first on PATH."""
    result = subprocess.run(
        [command],
        capture_output=True,
        text=True,
        env={"PATH": f"{stage / 'bin'}:/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def git(repo: Path, *args: str) -> str:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(repo.parent),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True
    ).stdout


# -- a certbot-style DNS plugin (core20 spellings, as certbot's own snaps) -----------------------

CERTBOT = """\
name: certbot-dns-demo
base: core20
summary: Demo DNS Authenticator plugin for Certbot
description: A plugin, packaged as certbot's DNS plugins are.
confinement: strict
grade: stable
adopt-info: certbot-dns-demo
apps:
  certbot-dns-demo:
    command: bin/certbot-dns-demo
plugs:
  certbot-metadata:
    interface: content
parts:
  certbot-dns-demo:
    plugin: python
    source: .
    requirements: [requirements.txt]
    constraints: [$SNAPCRAFT_PART_SRC/snap-constraints.txt]
    override-pull: |
        snapcraftctl pull
        snapcraftctl set-version "$(cat $SNAPCRAFT_PART_SRC/VERSION)"
    build-environment:
      - SNAP_BUILD: "True"
      - PIP_NO_INDEX: "1"
      - PIP_FIND_LINKS: "{wheels}"
      - PIP_CONSTRAINT: "$SNAPCRAFT_PART_SRC/pip-constraints.txt"
    build-packages: [coreutils]
  certbot-metadata:
    plugin: dump
    source: .
    stage: [VERSION, certbot-shared]
    override-pull: |
        craftctl default
        mkdir -p $CRAFT_PART_SRC/certbot-shared
        echo "demo $(cat VERSION)" > $CRAFT_PART_SRC/certbot-shared/ident
        craftctl set version="$(cat VERSION)-meta"
"""


@pytest.fixture
def certbot(tmp_path):
    root = tmp_path / "certbot-dns-demo"
    make_project(
        root,
        "certbot-dns-demo",
        requires=["alpha"],
        scripts={"certbot-dns-demo": "plugin:main"},
        modules={"plugin.py": "import alpha, beta\n\ndef main():\n    print(beta.shout('dns'))\n"},
    )
    (root / "VERSION").write_text("1.22.0\n")
    (root / "requirements.txt").write_text("delta\n")
    (root / "pip-constraints.txt").write_text(
        "beta==2.0\n"
    )  # reaches pip through build-environment
    (root / "snap-constraints.txt").write_text("gamma==3.0\n")  # the part's constraints key
    snap_project(root, CERTBOT.format(wheels=wheelhouse(tmp_path / "wheels")))
    return root


def test_certbot_style_plugin_builds_as_it_stands(certbot):
    hostile = {
        **os.environ,
        "PIP_CONSTRAINT": str(certbot / "nothing-here.txt"),
        "PIP_INDEX_URL": "http://127.0.0.1:9/",
    }
    out = ok(run(certbot, "stage", env=hostile))
    assert out.count("not used for building") == 1
    assert "not used for building: apps, confinement, description, grade, plugs, summary" in out
    assert (
        "build:certbot-dns-demo: built" in out and ", version 1.22.0" in out
    )  # snapcraftctl set-version
    assert "build:certbot-metadata: built" in out and "version 1.22.0-meta" in out

    build = certbot / "build"  # the build root is in the project folder, above snap/
    assert (build / "parts").is_dir() and not (certbot / "snap" / "build").exists()
    stage = build / "stage"
    packages = site(stage)
    versions = {p.name for p in packages.glob("*.dist-info")}
    assert {
        "beta-2.0.dist-info",
        "gamma-3.0.dist-info",
        "delta-0.1.dist-info",
    } <= versions  # both constraints applied
    assert {p.split("-")[0] for p in versions} >= {
        "pip",
        "setuptools",
        "wheel",
        "alpha",
        "certbot_dns_demo",
    }
    assert run_staged(stage, "certbot-dns-demo") == "DNS!\n"
    assert (
        stage / "certbot-shared" / "ident"
    ).read_text() == "demo 1.22.0\n"  # made by override-pull
    assert (stage / "VERSION").is_file() and not (stage / "setup.py").exists()

    record = json.loads((build / "parts/certbot-dns-demo/record.json").read_text())["record"]
    assert list(record["build-packages"]) == ["coreutils"] and record["build-packages"]["coreutils"]

    assert "version 1.22.0 (adopt-info certbot-dns-demo)" in out  # in the summary line
    again = ok(run(certbot, "stage"))
    assert (
        "parts 0 built, 0 restored, 2 up to date; 1" in again
        and "version 1.22.0 (adopt-info" in again
    )


def test_a_changed_version_file_rebuilds_and_says_the_new_version(certbot):
    ok(run(certbot, "stage"))
    (certbot / "VERSION").write_text("1.23.0\n")
    out = ok(run(certbot, "stage"))
    assert "version 1.23.0-meta" in out
    assert (certbot / "build/stage/certbot-shared/ident").read_text() == "demo 1.23.0\n"
    ok(run(certbot, "clean", "build:certbot-metadata"))
    restored = ok(run(certbot, "stage"))
    assert (
        "build:certbot-metadata: restored" in restored and "version 1.23.0-meta" in restored
    )  # kept with the result


# -- a CLI tool from a local git repository, pinned with source-tag -----------------------------

CLI = """\
name: greeter
base: core22
version: git
summary: a CLI tool
description: from a git repository
grade: devel
confinement: classic
adopt-info: greeter
parts:
  greeter:
    plugin: python
    source: {repo}
    source-type: git
    source-tag: v1.0
    source-depth: 1
    python-packages: []
    build-environment:
      - PIP_NO_INDEX: "1"
      - PIP_FIND_LINKS: "{wheels}"
    override-pull: |
      craftctl default
      craftctl set version="$(git describe --tags)"
"""


def commit_tool(repo: Path, message: str, tag: str | None = None) -> str:
    make_project(
        repo,
        "greeter",
        requires=["delta"],
        scripts={"greeter": "greeter:main"},
        modules={
            "greeter.py": f"import delta\n\ndef main():\n    print({message!r}, delta.NAME)\n"
        },
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    if tag:
        git(repo, "tag", "-f", "-a", tag, "-m", tag)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def cli(tmp_path):
    repo = tmp_path / "greeter.git"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit_tool(repo, "hello v1", tag="v1.0")
    commit_tool(repo, "unreleased work")  # after the tag: never built while the tag stays
    root = tmp_path / "app"
    snap_project(root, CLI.format(repo=repo, wheels=wheelhouse(tmp_path / "wheels")))
    return root, repo


def greet(stage: Path) -> str:
    return run_staged(stage, "greeter")


def test_git_source_pinned_by_tag_is_fetched_in_pull_and_rebuilt_when_the_tag_moves(cli):
    root, repo = cli
    out = ok(run(root, "stage"))
    assert "pull:greeter: fetched git source" in out and "version v1.0" in out
    assert greet(root / "build/stage") == "hello v1 delta\n"

    unchanged = ok(run(root, "stage"))
    assert "-- pull:greeter" in unchanged and "parts 0 built, 0 restored, 1 up to date" in unchanged

    commit_tool(repo, "hello v1 fixed", tag="v1.0")  # the tag moves
    moved = ok(run(root, "stage"))
    assert "pull:greeter: fetched git source" in moved and "build:greeter: built" in moved
    assert greet(root / "build/stage") == "hello v1 fixed delta\n"


def test_a_fetched_git_source_is_keyed_by_its_commit_not_its_clone(cli, tmp_path):
    root, _ = cli
    ok(run(root, "stage"))
    first = json.loads((root / "build/parts/greeter/result.json").read_text())["key"]
    (root / "build").rename(
        tmp_path / "old-build"
    )  # a fresh clone of the same commit: another .git
    out = ok(run(root, "stage"))  # a git source is not kept in the store: cloned again
    assert "pull:greeter: fetched git source" in out and "build:greeter: restored" in out
    assert json.loads((root / "build/parts/greeter/result.json").read_text())["key"] == first


def test_source_commit_pins_without_asking_the_repository(cli):
    root, repo = cli
    pinned = git(repo, "rev-parse", "v1.0^{commit}").strip()
    path = root / "snap/snapcraft.yaml"
    path.write_text(
        path.read_text().replace(
            "source-tag: v1.0\n    source-depth: 1", f"source-commit: {pinned}"
        )
    )
    ok(run(root, "stage"))
    assert greet(root / "build/stage") == "hello v1 delta\n"
    assert json.loads((root / "build/parts/greeter/src.json").read_text())["resolved"] == pinned


def test_a_missing_tag_is_a_short_error(cli):
    root, _ = cli
    path = root / "snap/snapcraft.yaml"
    path.write_text(path.read_text().replace("v1.0", "v9.9"))
    result = run(root, "stage")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "part 'greeter'" in result.stdout and "has no tag 'v9.9'" in result.stdout


# -- tarballs with source-checksum ----------------------------------------------------------------


def make_tarball(path: Path, files: dict[str, str]) -> str:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(
                f"tool-1.0/{name}"
            )  # one top-level folder, stripped as craft-parts does
            data = text.encode()
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_tarball_checked_against_its_checksum(tmp_path):
    root = tmp_path / "proj"
    digest = make_tarball(tmp_path / "tool-1.0.tar.gz", {"share/tool/data.txt": "data\n"})
    snap = snap_project(
        root,
        f"""\
        name: tarred
        base: core22
        parts:
          tool:
            plugin: dump
            source: {tmp_path / "tool-1.0.tar.gz"}
            source-checksum: sha256/{digest}
        """,
    )
    ok(run(root, "stage"))
    assert (root / "build/stage/share/tool/data.txt").read_text() == "data\n"

    snap.write_text(snap.read_text().replace(digest, "0" * 64))
    result = run(root, "stage")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "source-checksum mismatch" in result.stdout and digest in result.stdout
    assert (
        root / "build/stage/share/tool/data.txt"
    ).read_text() == "data\n"  # the stage stays as it was


# -- two python parts that share dependencies ------------------------------------------------------

TWO_PARTS = """\
name: two-parts
base: core22
summary: an app with two python parts
parts:
  server:
    plugin: python
    source: server
    python-packages: [alpha]
    build-environment: &offline
      - PIP_NO_INDEX: "1"
      - PIP_FIND_LINKS: "{wheels}"
  client:
    plugin: python
    source: client
    python-packages: [alpha, delta]
    build-environment: *offline
{workaround}"""

WORKAROUND = """\
    stage:
      - -pyvenv.cfg
      - -bin/activate*
      - -**/RECORD
      - -**/__pycache__
"""


@pytest.mark.parametrize("workaround", ["", WORKAROUND], ids=["plain", "old-workaround"])
def test_two_python_parts_sharing_dependencies_stage_without_conflicts(tmp_path, workaround):
    root = tmp_path / "app"
    wheels = wheelhouse(tmp_path / "wheels")
    for name in ("server", "client"):
        make_project(
            root / name,
            name,
            requires=["alpha"],
            scripts={name: f"{name}_main:main"},
            modules={f"{name}_main.py": f"import alpha\n\ndef main():\n    print('{name}')\n"},
        )
    snap_project(root, TWO_PARTS.format(wheels=wheels, workaround=workaround))
    out = ok(run(root, "stage"))
    assert "stage failed" not in out
    stage = root / "build/stage"
    for name in ("server", "client"):
        assert run_staged(stage, name) == f"{name}\n"
    # the shared dependencies are byte-identical in both parts (each part's own RECORD is there)
    server = json.loads((root / "build/parts/server/tree.json").read_text())
    client = json.loads((root / "build/parts/client/tree.json").read_text())
    shared = [p for p in server if p in client and server[p]["kind"] == "file"]
    assert len(shared) > 20 and all(server[p] == client[p] for p in shared)
    assert (
        site(stage) / "alpha-1.0.dist-info/RECORD"
    ).is_file()  # kept: staged by the part without the lines


# -- override-stage, override-prime ---------------------------------------------------------------


def test_override_stage_and_prime_change_what_the_part_stages_and_primes(tmp_path):
    root = tmp_path / "proj"
    for rel, text in {
        "files/share/doc/README": "doc\n",
        "files/bin/tool": "#!/bin/sh\n",
        "files/etc/conf": "x\n",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    snap_project(
        root,
        """\
        name: steps
        base: core22
        parts:
          tool:
            plugin: dump
            source: files
            stage: [-etc]
            override-stage: |
              craftctl default
              rm -rf share/doc
              echo staged > "$CRAFT_STAGE/marker"
            override-prime: |
              craftctl default
              rm marker
              echo primed > primed-marker
          after-tool:
            plugin: nil
            after: [tool]
            override-build: |
              cat "$CRAFT_STAGE/marker" > "$CRAFT_PART_INSTALL/saw"
        """,
    )
    ok(run(root, "prime"))
    stage, prime = root / "build/stage", root / "build/prime"
    assert sorted(p.name for p in stage.iterdir()) == ["bin", "marker", "saw", "share"]
    assert not (stage / "share/doc").exists() and (stage / "saw").read_text() == "staged\n"
    assert (prime / "primed-marker").read_text() == "primed\n" and not (prime / "marker").exists()
    assert (prime / "bin/tool").is_file()


def test_override_prime_sees_the_pulled_source_in_craft_part_src(tmp_path):
    """As httpie's snapcraft.yaml: override-prime copies files from the part's source; for a
    part with override-pull, that is the source the pull left."""
    root = tmp_path / "proj"
    (root / "extras/man").mkdir(parents=True)
    (root / "extras/man/tool.1").write_text(".TH TOOL 1\n")
    snap_project(
        root,
        """\
        name: extras
        base: core22
        parts:
          docs:
            plugin: nil
            source: extras
            override-prime: |
              craftctl default
              mkdir -p share/man/man1
              cp "$SNAPCRAFT_PART_SRC/man/tool.1" share/man/man1/
          pulled:
            plugin: nil
            source: extras
            override-pull: |
              craftctl default
              echo made-by-pull > marker
            override-prime: |
              cp "$CRAFT_PART_SRC/marker" "$CRAFT_PRIME/marker"
        """,
    )
    ok(run(root, "prime"))
    prime = root / "build/prime"
    assert (prime / "share/man/man1/tool.1").read_text() == ".TH TOOL 1\n"
    assert (prime / "marker").read_text() == "made-by-pull\n"


# -- stage-packages from the host's apt -----------------------------------------------------------


@pytest.mark.network
@pytest.mark.skipif(not Path("/usr/bin/apt-get").exists(), reason="needs Debian's apt")
def test_stage_packages_are_downloaded_in_pull_and_unpacked_into_the_part(tmp_path):
    root = tmp_path / "proj"
    snap_project(
        root,
        """\
        name: greeting
        base: core22
        parts:
          hello:
            plugin: nil
            stage-packages: [hello]
            stage: [usr/bin/hello]
        """,
    )
    out = ok(run(root, "stage"))
    assert "downloaded 1 stage-packages (hello=" in out
    hello = root / "build/stage/usr/bin/hello"
    assert subprocess.run([str(hello)], capture_output=True, text=True).stdout == "Hello, world!\n"
    debs = json.loads((root / "build/parts/hello/debs/debs.json").read_text())["debs"]
    record = json.loads((root / "build/parts/hello/record.json").read_text())["record"]
    assert record["stage-packages"] == [["hello", debs[0]["version"], debs[0]["sha256"]]]
    assert "parts 0 built, 0 restored, 1 up to date" in ok(run(root, "stage"))

    shutil.rmtree(root / "build")  # the .deb is in the store: apt is not asked to download it again
    again = ok(run(root, "stage"))
    assert "downloaded 1 stage-packages (hello=" in again and "1 of them from the store" in again
    assert "parts 0 built, 1 restored" in again


def test_a_stage_package_changed_after_pull_is_refused(tmp_path):
    """Offline: a .deb made here stands in for a downloaded one; the build checks its sha256."""
    root = tmp_path / "proj"
    snap_project(
        root, "name: x\nbase: core22\nparts:\n  p:\n    plugin: nil\n    stage-packages: [tiny]\n"
    )
    package = tmp_path / "pkg"
    (package / "DEBIAN").mkdir(parents=True)
    (package / "DEBIAN/control").write_text(
        "Package: tiny\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@e>\nDescription: t\n"
    )
    (package / "usr/share/tiny").mkdir(parents=True)
    (package / "usr/share/tiny/file").write_text("tiny\n")
    debs = root / "build/parts/p/debs"
    debs.mkdir(parents=True)
    subprocess.run(
        ["dpkg-deb", "--build", "--root-owner-group", str(package), str(debs / "tiny_1.0_all.deb")],
        check=True,
        capture_output=True,
    )
    digest = hashlib.sha256((debs / "tiny_1.0_all.deb").read_bytes()).hexdigest()
    (debs / "debs.json").write_text(
        json.dumps(
            {
                "debs": [
                    {"name": "tiny", "version": "1.0", "file": "tiny_1.0_all.deb", "sha256": digest}
                ]
            }
        )
    )
    out = ok(run(root, "stage"))  # pull is current: what debs.json records is there
    assert "-- pull:p" in out
    assert (root / "build/stage/usr/share/tiny/file").read_text() == "tiny\n"
    with open(debs / "tiny_1.0_all.deb", "ab") as deb:
        deb.write(b"tampered")
    result = run(
        root, "stage"
    )  # no longer what pull recorded: pulled again, and the host has no `tiny`
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "part 'p': stage-packages could not be downloaded: tiny" in result.stdout
    assert (
        root / "build/stage/usr/share/tiny/file"
    ).read_text() == "tiny\n"  # the stage stays as it was


# -- refused before anything runs ----------------------------------------------------------------


def test_a_go_part_is_refused_before_anything_runs(tmp_path):
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    snap_project(
        root,
        """\
        name: mixed
        base: core22
        parts:
          lib:
            plugin: go
            source: src
          app:
            plugin: dump
            source: src
        """,
    )
    result = run(root, "stage")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert (
        "snapcraft.yaml:5: parts.lib.plugin: "
        "plugin 'go' is a snapcraft plugin partsmith does not support" in result.stderr
    )
    assert "python, dump, nil" in result.stderr
    assert not (root / "build").exists()


def test_snapcraft_keys_partsmith_lacks_are_named_not_ignored(tmp_path):
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    snap_project(
        root,
        """\
        name: mixed
        base: core22
        parts:
          app:
            plugin: dump
            source: src
            stage-snaps: [go]
            source-tag: v1
            requirements: [a.txt]
        """,
    )
    result = run(root, "stage")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "parts.app.stage-snaps: not supported by partsmith" in result.stderr
    assert "parts.app.source-tag: only valid for a git or tar source" in result.stderr
    assert "parts.app.requirements: only valid for plugin: python, not dump" in result.stderr


def test_craftctl_values_pass_between_steps_and_mistakes_name_the_step(tmp_path):
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    path = snap_project(
        root,
        """\
        name: x
        base: core22
        parts:
          a:
            plugin: nil
            source: src
            override-pull: |
              craftctl set version=2.0 grade=stable
            override-build: |
              echo "$(craftctl get version) $(craftctl get grade) $CRAFT_STEP_NAME \
${SNAPCRAFT_PART_INSTALL##*/}" > "$CRAFT_PART_INSTALL/said"
        """,
    )
    ok(run(root, "stage"))
    said = (root / "build/stage/said").read_text().split()
    assert said == ["2.0", "stable", "BUILD", "install"]
    path.write_text(path.read_text().replace("grade=stable", "colour=blue"))
    result = run(root, "stage")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "part 'a': override-pull script failed with exit status 2" in result.stdout
    assert "craftctl set: expected version=VALUE or grade=VALUE, got 'colour=blue'" in result.stdout
    assert (root / "build/stage/said").is_file()  # the stage stays as it was


def test_an_empty_craftctl_value_warns_naming_the_part_and_step_and_keeps_the_log(tmp_path):
    """`git describe` in a source without .git prints its error and gives nothing: the step
    succeeds, but says so, and its log (with git's error) outlives the sandbox."""
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    snap_project(
        root,
        """\
        name: x
        base: core22
        adopt-info: a
        parts:
          a:
            plugin: nil
            source: src
            override-pull: |
              craftctl default
              craftctl set version="$(git describe --tags)"
          b:
            plugin: nil
            override-build: |
              craftctl set grade=
        """,
    )
    out = ok(run(root, "stage"))
    kept = root / "build/sandbox/a.override-pull.pull.log"
    assert (
        f"partsmith: warning: part 'a': override-pull: `craftctl set version=` with an empty value "
        f"(did the command that gives it fail? its log is kept in {kept})"
    ) in out
    assert (
        "partsmith: warning: part 'b': override-build: `craftctl set grade=` with an empty value"
        in out
    )
    log = kept.read_text()
    assert "fatal: not a git repository" in log and "craftctl set: version is empty" in log
    assert (root / "build/sandbox/b.build.log").is_file()


# -- what the review of the first version found -------------------------------------------------


def test_builds_never_see_git_and_a_clone_elsewhere_restores(tmp_path):
    """`source: .` in a git checkout, override-pull asking git for the version: the dump ships no
    .git, and the same commit cloned at another path restores instead of building."""
    project = tmp_path / "one" / "app"
    (project / "share").mkdir(parents=True)
    (project / "share/data.txt").write_text("data\n")
    snap_project(
        project,
        """\
        name: app
        base: core22
        adopt-info: app
        parts:
          app:
            plugin: dump
            source: .
            stage: [share]
            override-pull: |
              craftctl default
              craftctl set version="$(git describe --tags --always)"
          whole:
            plugin: dump
            source: .
            organize: {'*': whole/}
        """,
    )
    (project / ".gitignore").write_text("build/\n")
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "one")
    git(project, "tag", "v3.1")
    out = ok(run(project, "stage"))
    assert "version v3.1 (adopt-info app)" in out
    staged = [
        p.relative_to(project / "build/stage").as_posix()
        for p in (project / "build/stage").rglob("*")
    ]
    assert not [p for p in staged if ".git/" in p or p.endswith(".git")]
    assert "whole/.gitignore" in staged and "whole/snap/snapcraft.yaml" in staged

    clone = tmp_path / "two" / "deeper" / "app"
    subprocess.run(
        ["git", "clone", "-q", str(project), str(clone)], check=True, capture_output=True
    )
    again = ok(run(clone, "stage"))
    assert "parts 0 built, 2 restored" in again and "version v3.1" in again


def test_a_changed_local_archive_without_checksum_is_fetched_again(tmp_path):
    root = tmp_path / "proj"
    archive = tmp_path / "vendor.tar.gz"
    make_tarball(
        archive, {"vendor/one.txt": "one\n"}
    )  # tool-1.0/vendor/...: the top folder holds a folder
    snap_project(
        root, f"name: v\nbase: core22\nparts:\n  vendor:\n    plugin: dump\n    source: {archive}\n"
    )
    ok(run(root, "stage"))
    assert (root / "build/stage/vendor/one.txt").read_text() == "one\n"
    make_tarball(archive, {"vendor/two.txt": "two\n"})
    out = ok(run(root, "stage"))
    assert "pull:vendor: fetched tar source" in out
    assert sorted(p.name for p in (root / "build/stage/vendor").iterdir()) == ["two.txt"]


def test_an_archive_whose_top_folder_holds_one_of_its_name(tmp_path):
    root = tmp_path / "proj"
    archive = tmp_path / "pkg.tar.gz"
    make_tarball(archive, {"tool-1.0/__init__.py": "x = 1\n"})  # tool-1.0/tool-1.0/__init__.py
    snap_project(
        root, f"name: v\nbase: core22\nparts:\n  pkg:\n    plugin: dump\n    source: {archive}\n"
    )
    ok(run(root, "stage"))
    assert (root / "build/stage/tool-1.0/__init__.py").read_text() == "x = 1\n"


def test_a_pulled_source_changed_by_hand_is_pulled_again(cli):
    root, _ = cli
    ok(run(root, "stage"))
    (root / "build/parts/greeter/src/greeter.py").unlink()
    out = ok(run(root, "stage"))
    assert "pull:greeter: fetched git source" in out
    assert greet(root / "build/stage") == "hello v1 delta\n"


def test_files_named_by_pip_variables_are_pull_inputs_and_override_pull_writes_constraints(certbot):
    yaml_path = certbot / "snap/snapcraft.yaml"
    (certbot / "snap-constraints.txt").unlink()  # written by override-pull, as certbot's snaps do
    yaml_path.write_text(
        yaml_path.read_text().replace(
            "        snapcraftctl pull\n",
            "        snapcraftctl pull\n"
            "        echo gamma==3.0 > $SNAPCRAFT_PART_SRC/snap-constraints.txt\n",
            1,
        )
    )
    ok(run(certbot, "stage"))
    packages = {p.name for p in site(certbot / "build/stage").glob("*.dist-info")}
    assert {"beta-2.0.dist-info", "gamma-3.0.dist-info"} <= packages
    (certbot / "pip-constraints.txt").write_text("beta==2.1\n")  # named by PIP_CONSTRAINT only
    out = ok(run(certbot, "stage"))
    assert "pull:certbot-dns-demo:" in out and "beta==2.1" in out
    assert (site(certbot / "build/stage") / "beta-2.1.dist-info").is_dir()


def test_override_prime_can_ask_what_the_build_set(tmp_path):
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    snap_project(
        root,
        """\
        name: x
        base: core22
        parts:
          a:
            plugin: nil
            override-build: craftctl set version=5.0
            override-prime: echo "$(craftctl get version)" > version
        """,
    )
    ok(run(root, "prime"))
    assert (root / "build/prime/version").read_text() == "5.0\n"


def test_explain_names_a_moved_tag(cli):
    root, repo = cli
    ok(run(root, "stage"))
    commit_tool(repo, "hello v1 fixed", tag="v1.0")
    out = ok(run(root, "explain:greeter"))
    assert "pull:greeter runs first: what it fetches (source, wheels) changed" in out
    ok(run(root, "pull:greeter"))
    out = ok(run(root, "explain:greeter"))
    assert "pulled-source:" in out and "source files changed: greeter.py" in out


def test_a_failed_pull_keeps_the_pulled_source_it_would_have_replaced(cli):
    root, _ = cli
    ok(run(root, "stage"))
    path = root / "snap/snapcraft.yaml"
    good = path.read_text()
    path.write_text(good.replace("craftctl default\n", "craftctl default\n      exit 3\n"))
    result = run(root, "stage")
    assert (
        result.returncode != 0 and "override-pull script failed with exit status 3" in result.stdout
    )
    assert (root / "build/parts/greeter/src.json").is_file() and greet(
        root / "build/stage"
    ) == "hello v1 delta\n"
    path.write_text(good)
    out = ok(run(root, "stage"))
    assert "-- pull:greeter" in out and "parts 0 built, 0 restored, 1 up to date" in out


def test_build_snaps_resolve_to_partsmiths_uv_or_a_host_tool_said_once_and_keyed(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    path = snap_project(
        root,
        """\
        name: snaps
        base: core24
        parts:
          app:
            plugin: nil
            build-snaps: [astral-uv, bash/latest/stable]
            override-build: |
              uv --version | cut -d' ' -f1-2 > "$CRAFT_PART_INSTALL/uv.txt"
        """,
    )
    first = run(root, "stage")
    assert first.returncode == 0, first.stdout + first.stderr
    said = "build-snaps: astral-uv -> partsmith's pinned uv (0.13.9); bash/latest/stable -> "
    assert said + "the host's bash (GNU bash" in first.stdout
    assert (root / "build/stage/uv.txt").read_text() == "uv 0.13.9\n"
    record = json.loads((root / "build/parts/app/record.json").read_text())["record"]
    assert record["build-snaps"]["astral-uv"] == "uv 0.13.9"
    again = run(root, "stage")
    assert "build-snaps" not in again.stdout  # said once
    path.write_text(path.read_text().replace("bash/latest/stable", "no-such-tool-here"))
    missing = run(root, "stage")
    assert missing.returncode == 1 and "Traceback" not in missing.stdout + missing.stderr
    assert (
        "part 'app': build-snaps: 'no-such-tool-here' cannot run inside a build (snapd does not), "
        "and this machine has no command 'no-such-tool-here'" in missing.stdout
    )
    assert "Install no-such-tool-here on the host" in missing.stdout


def test_source_type_file_pulls_one_checked_file(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "data.bin").write_bytes(b"payload\n")
    digest = hashlib.sha256(b"payload\n").hexdigest()
    path = snap_project(
        root,
        f"""\
        name: onefile
        base: core24
        parts:
          f:
            plugin: dump
            source: data.bin
            source-type: file
            source-checksum: sha256/{digest}
        """,
    )
    ok(run(root, "stage"))
    assert (root / "build/stage/data.bin").read_bytes() == b"payload\n"
    path.write_text(path.read_text().replace(digest, "0" * 64))
    refused = run(root, "stage")
    assert refused.returncode == 1 and "Traceback" not in refused.stdout + refused.stderr
    assert f"part 'f': source-checksum mismatch: expected sha256 {'0' * 64}, got {digest}" in (
        refused.stdout
    )


def test_git_submodules_are_pulled_unless_source_submodules_says_otherwise(tmp_path):
    sub, top = tmp_path / "sub", tmp_path / "top"
    for repo in (sub, top):
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
    (sub / "inner.txt").write_text("from the submodule\n")
    git(sub, "add", ".")
    git(sub, "commit", "-q", "-m", "sub")
    (top / "outer.txt").write_text("from the superproject\n")
    git(top, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "vendor/sub")
    git(top, "add", ".")
    git(top, "commit", "-q", "-m", "top")
    root = tmp_path / "proj"
    root.mkdir()
    path = snap_project(
        root,
        f"""\
        name: subs
        base: core24
        parts:
          all:
            plugin: dump
            source: {top}
            source-type: git
        """,
    )
    ok(run(root, "stage"))
    stage = root / "build/stage"
    assert (stage / "vendor/sub/inner.txt").read_text() == "from the submodule\n"
    path.write_text(path.read_text() + "    source-submodules: []\n")
    ok(run(root, "stage"))
    assert (stage / "outer.txt").is_file() and not (stage / "vendor/sub/inner.txt").exists()


SCM_BACKEND = '''
"""Takes its version from git, as setuptools-scm does (git describe, the tag without its v)."""
import base64, hashlib, os, subprocess, zipfile

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    described = subprocess.run(["git", "describe", "--tags"], capture_output=True, text=True,
                               check=True).stdout.strip()
    version = described.lstrip("v").split("-")[0]
    dist = f"scmproj-{version}.dist-info"
    files = {"scmproj.py": b"", f"{dist}/METADATA": f"Metadata-Version: 2.1\\nName: scmproj\\n"
             f"Version: {version}\\n".encode(), f"{dist}/WHEEL": b"Wheel-Version: 1.0\\n"
             b"Generator: t\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
    name, rows = f"scmproj-{version}-py3-none-any.whl", []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
            sha = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            rows.append(f"{path},sha256={sha},{len(data)}")
        rows.append(f"{dist}/RECORD,,")
        archive.writestr(f"{dist}/RECORD", "\\n".join(rows) + "\\n")
    return name
'''


def test_versions_from_git_reach_the_build_and_its_key_without_the_checkout_s_git(tmp_path):
    """A tag v9.8.7 on the commit: a setuptools-scm-style project stages scmproj-9.8.7 and
    `git describe --tags` in a script says v9.8.7; an unchanged commit is up to date, a new
    commit rebuilds and describes one commit past the tag."""
    root = tmp_path / "proj"
    write_files = {
        "src/pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "scm_backend"\n'
        'backend-path = ["."]\n\n[project]\nname = "scmproj"\ndynamic = ["version"]\n\n'
        "[tool.setuptools_scm]\n",
        "src/scm_backend.py": SCM_BACKEND,
        ".gitignore": "build/\n",
    }
    for rel, text in write_files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    snap_project(
        root,
        """\
        name: scm
        base: core24
        adopt-info: said
        parts:
          app:
            plugin: python
            source: src
            python-packages: []
          said:
            plugin: nil
            source: src
            override-build: |
              craftctl set version="$(git describe --tags)"
          shipped:
            plugin: dump
            source: src
            stage: [-pyproject.toml, -scm_backend.py]
            override-build: |
              git describe --tags > "$CRAFT_PART_INSTALL/shipped.txt"
              craftctl default
          pulled:
            plugin: nil
            source: src
            override-pull: craftctl default
            override-build: |
              said=$(git describe --tags 2>/dev/null || echo none)
              echo "$said" > "$CRAFT_PART_INSTALL/pulled.txt"
        """,
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "one")
    git(root, "tag", "v9.8.7")
    first = ok(run(root, "stage"))
    assert (site(root / "build/stage") / "scmproj-9.8.7.dist-info").is_dir()
    assert "version v9.8.7 (adopt-info said)" in first
    record = json.loads((root / "build/parts/app/record.json").read_text())["record"]
    assert record["git"] == {
        "commit": git(root, "rev-parse", "HEAD").strip(),
        "describe": "v9.8.7-0",
    }
    stage = root / "build/stage"
    assert (stage / "shipped.txt").read_text() == "v9.8.7\n" and not (stage / ".git").exists()
    # a pulled source lies in the build root, inside the project's repository: not its version
    assert (stage / "pulled.txt").read_text() == "none\n"
    assert "git" not in json.loads((root / "build/parts/pulled/record.json").read_text())["record"]
    assert "build:app: built" not in ok(run(root, "stage"))
    (root / "notes.txt").write_text("a new commit\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "two")
    assert 'git: {"commit": ' in ok(run(root, "explain:app"))  # explain names the field
    again = ok(run(root, "stage"))
    assert "build:said: built" in again and "version v9.8.7-1-g" in again
