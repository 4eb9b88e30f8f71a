"""What `doit verify` says about a file that differs: the constant, the member."""

import hashlib
import importlib.util
import io
import marshal
import tarfile
import zipfile

from rules.release.file_diff import describe
from rules.tree.tree import Entry


def pyc(tmp_path, name, source):
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    code = compile(source, "/lib/module.py", "exec")
    header = importlib.util.MAGIC_NUMBER + (3).to_bytes(4, "little") + b"\0" * 8
    out = tmp_path / f"{name}.pyc"
    out.write_bytes(header + marshal.dumps(code))
    return out


def entry(path):
    data = path.read_bytes()
    return Entry("file", hashlib.sha256(data).hexdigest(), len(data))


def test_a_pyc_difference_names_the_constant(tmp_path):
    a = pyc(tmp_path, "a", "def f():\n    return 'built at 10:00'\n")
    b = pyc(tmp_path, "b", "def f():\n    return 'built at 10:01'\n")
    lines = describe("x.pyc", entry(a), entry(b), a, b)
    assert any(
        "<module>.f: constant 'built at 10:00' vs 'built at 10:01'" in line for line in lines
    )


def test_an_archive_difference_names_the_member(tmp_path):
    for name, text in (("a.whl", "one"), ("b.whl", "two")):
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            archive.writestr("pkg/same.py", "same")
            archive.writestr("pkg/stamp.txt", text)
    lines = describe(
        "x.whl",
        entry(tmp_path / "a.whl"),
        entry(tmp_path / "b.whl"),
        tmp_path / "a.whl",
        tmp_path / "b.whl",
    )
    assert any("member differs: pkg/stamp.txt" in line for line in lines)
    assert not any("pkg/same.py" in line for line in lines)


def test_a_tar_difference_names_the_member_whose_bytes_differ(tmp_path):
    for name, text in (("a.tar", b"12345"), ("b.tar", b"54321")):
        with tarfile.open(tmp_path / name, "w") as tar:
            info = tarfile.TarInfo("f")
            info.size = 5
            tar.addfile(info, io.BytesIO(text))
    lines = describe(
        "x.tar",
        entry(tmp_path / "a.tar"),
        entry(tmp_path / "b.tar"),
        tmp_path / "a.tar",
        tmp_path / "b.tar",
    )
    assert any(line.strip().startswith("member differs: f (content") for line in lines)
