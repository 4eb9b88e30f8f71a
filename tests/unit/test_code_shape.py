"""The shape the code keeps (README, "Developing"): small modules, small functions, few parameters.
A failure names what grew; split it by what it does rather than raising the limit."""

from __future__ import annotations

import ast
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "rules"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 40
MAX_PARAMETERS = 7


def _modules() -> list[Path]:
    return sorted(RULES.rglob("*.py"))


def _functions(path: Path) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = ast.parse(path.read_text())
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = function.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return [name for name in names if name not in ("self", "cls")]


def test_the_package_is_where_this_test_looks():
    assert (RULES / "__init__.py").is_file() and len(_modules()) > 50


def test_no_module_is_over_400_lines():
    long = {
        str(p.relative_to(RULES)): n
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_is_over_40_lines_or_7_parameters():
    found = []
    for path in _modules():
        for function in _functions(path):
            where = f"{path.relative_to(RULES)}:{function.lineno} {function.name}"
            lines = function.end_lineno - function.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                found.append(f"{where}: {lines} lines")
            if len(_parameters(function)) > MAX_PARAMETERS:
                found.append(f"{where}: {len(_parameters(function))} parameters")
    assert found == []


def test_the_checks_see_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(45))
    source = tmp_path / "m.py"
    source.write_text(f"def grown(a, b, c, d, e, f, g, h):\n{body}\n")
    (function,) = _functions(source)
    assert function.end_lineno - function.lineno + 1 > MAX_FUNCTION_LINES
    assert len(_parameters(function)) == 8
