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
