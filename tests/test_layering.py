"""The folder layout is the architecture: enforce its import rules."""
import subprocess
import sys


def _modules_after(import_stmt: str) -> set[str]:
    code = f"import sys; {import_stmt}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


def test_dvc_compat_never_imports_exptui() -> None:
    mods = _modules_after("import dvc_compat, dvc_compat.model, dvc_compat.errors")
    assert not any(m == "exptui" or m.startswith("exptui.") for m in mods)


def test_cli_startup_stays_light() -> None:
    mods = _modules_after("import exptui.cli")
    for heavy in ("textual", "pandas", "sklearn", "lightgbm", "git"):
        assert heavy not in mods, f"{heavy} imported at CLI startup"


# --------------------------------------------------------------------------- import-linter contracts

import ast
import os
import shutil
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {c["id"]: c for c in config["contracts"]}


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` as .ci/run runs it (the pyproject.toml of its working directory), on the packages found
    first on PYTHONPATH: those in `where`."""
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=where,
                          env={**os.environ, "PYTHONPATH": str(where)}, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("layers")
    for package in ("exptui", "dvc_compat"):
        shutil.copytree(ROOT / package, where / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", where / "pyproject.toml")
    return where


def test_the_contracts_hold() -> None:
    proc = _lint(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Contracts: {len(_contracts())} kept, 0 broken." in proc.stdout


@pytest.mark.parametrize(("contract", "module", "forbidden"), [
    ("dvc-compat-pure", "dvc_compat/errors.py", "import exptui.records"),
    ("textual-only-in-tui", "exptui/query/format.py", "import textual.widgets"),
    ("textual-only-in-tui", "exptui/project.py", "from textual.app import App"),
    ("frontends-through-facades", "exptui/tui/widgets/filter_bar.py", "import exptui.store.index"),
    ("frontends-through-facades", "exptui/cli/exp_cmds.py", "from exptui.pipeline import dag"),
])
def test_each_contract_fails_when_a_forbidden_import_is_inserted(package_copy: Path, contract: str, module: str,
                                                                  forbidden: str) -> None:
    target = package_copy / module
    original = target.read_text(encoding="utf-8")
    target.write_text(original + f"\n{forbidden}  # inserted by the test\n", encoding="utf-8")
    try:
        proc = _lint(package_copy)
    finally:
        target.write_text(original, encoding="utf-8")
    assert proc.returncode != 0, proc.stdout
    assert f"{_contracts()[contract]['name']} BROKEN" in " ".join(proc.stdout.split())
    assert "Contracts: 2 kept, 1 broken." in proc.stdout


def test_the_textual_contract_covers_every_top_level_module() -> None:
    listed = set(_contracts()["textual-only-in-tui"]["source_modules"])
    actual = {"dvc_compat"} | {f"exptui.{p.stem}" for p in (ROOT / "exptui").iterdir()
                               if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    assert listed == actual - {"exptui.tui"}


# --------------------------------------------------------------------------- format literals live in dvc_compat

_FORMAT_LITERALS = ("refs/exps", "files/md5", ".dvc/cache")
_FORMAT_PAIRS = {(".dvc", "cache"), ("files", "md5")}


def format_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of DVC format knowledge spelled out in code: `refs/exps` refs and DVC cache paths, as a string
    (docstrings aside) or as a `/` join of two literals (`root / ".dvc" / "cache"`)."""
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if any(literal in node.value for literal in _FORMAT_LITERALS):
                found.append((node.lineno, node.value))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and isinstance(node.right, ast.Constant):
            left = node.left.right if isinstance(node.left, ast.BinOp) else node.left
            if isinstance(left, ast.Constant) and (left.value, node.right.value) in _FORMAT_PAIRS:
                found.append((node.lineno, f"{left.value}/{node.right.value}"))
    return found


def test_format_literals_finder_finds_them() -> None:
    code = ('"""refs/exps in a docstring is prose."""\nREF = "refs/exps/celery/stash"\n'
            'p = root / ".dvc" / "cache" / "files" / "md5"\nq = f"{root}/.dvc/cache"\n')
    assert sorted(line for line, _ in format_literals(code)) == [2, 3, 3, 4]


def test_refs_exps_and_dvc_cache_paths_are_spelled_only_in_dvc_compat() -> None:
    offenders = [f"{path.relative_to(ROOT)}:{line}: {text!r}"
                 for path in sorted((ROOT / "exptui").rglob("*.py"))
                 for line, text in format_literals(path.read_text(encoding="utf-8"))]
    assert offenders == []
