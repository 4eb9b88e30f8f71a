"""A pulled source made by override-pull: its record (which walks every file of the local source)
is made once per pull, before the script runs."""

import shutil

from helpers.workspaces import make_workspace

from rules.pull import pulled_source
from rules.workspace.loader import load_workspace

WORKSPACE = """\
name: w
source-date-epoch: 1591640328
parts:
  p:
    plugin: dump
    source: files
    override-pull: |
      craftctl default
      echo patched >> a
"""


def test_the_record_is_made_once_and_before_the_script(tmp_path, monkeypatch):
    workspace = load_workspace(make_workspace(tmp_path, WORKSPACE, {"files/a": "a\n"}))
    made, events = pulled_source._record, []

    def record(workspace, name):
        events.append("record")
        return made(workspace, name)

    def script(workspace, name, source, dest, keep_open):
        events.append("script")
        shutil.copytree(source, dest)
        (dest / "a").write_text("a\npatched\n")
        return {}

    monkeypatch.setattr(pulled_source, "_record", record)
    monkeypatch.setattr(pulled_source, "pulled_by_script", script)
    assert pulled_source.pull_source(workspace, "p") == "ran override-pull"
    assert events == ["record", "script"]
    events.clear()
    assert pulled_source.source_is_current(workspace, "p") and events == ["record"]
    events.clear()
    assert pulled_source.pull_source(workspace, "p") == "source up to date"
    assert events == ["record"]

    (tmp_path / "files/a").write_text("b\n")  # the local source changed: pulled again, keyed anew
    events.clear()
    assert not pulled_source.source_is_current(workspace, "p")
    assert pulled_source.pull_source(workspace, "p") == "ran override-pull"
    assert events == ["record", "record", "script"]
    assert pulled_source.source_is_current(workspace, "p")
