"""exptui agrees with the real `dvc` on a corpus nobody here wrote (issue 12: the corpus runner).

`tests/interop/corpus/` holds the pipeline-definition files of public DVC repositories and dvc.yaml cases
translated from DVC's `tests/func/parsing`; `corpus_runner.py` compares, per case, the resolved stages, the dag,
`status` against the vendored dvc.lock, the lock entries and `params show` (see its docstring). Every facet of
every case must match, except the reasoned `KNOWN_DIFFERENCES` below, which must still differ (so a fix is noticed
and the entry removed). `python tests/interop/corpus_runner.py` prints the table.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.corpus_runner import CORPUS, FACETS, cases, run_case

pytestmark = pytest.mark.dvc

#: (case, facet) -> why exptui answers differently on purpose (docs/compatibility.md lists the same)
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize("case", cases())
def test_corpus_case_matches_dvc(case: str, tmp_path: Path) -> None:
    result = run_case(case, tmp_path)
    problems = []
    for facet in FACETS:
        theirs, ours = result.facets[facet]
        reason = KNOWN_DIFFERENCES.get((case, facet))
        if reason is not None:
            if result.matches(facet):
                problems.append(f"{facet}: now matches dvc; remove it from KNOWN_DIFFERENCES ({reason})")
        elif not result.matches(facet):
            problems.append(f"{facet}:\n  dvc:    {theirs!r}\n  exptui: {ours!r}")
    assert not problems, f"{case} ({CORPUS / case / 'SOURCE'}):\n" + "\n".join(problems)


def test_the_corpus_is_what_the_docs_say() -> None:
    """~20 public repositories and DVC's parsing cases, each with a SOURCE naming repository, commit and license;
    only small pipeline-definition files (never data, models or code)."""
    names = cases()
    public = [n for n in names if not n.startswith("dvc-parsing__")]
    assert len(public) >= 20 and len(names) - len(public) >= 40
    allowed = ("dvc.yaml", "dvc.lock", ".dvcignore", ".dvc", ".yaml", ".yml", ".json", ".toml", "config", "SOURCE")
    for name in names:
        source = (CORPUS / name / "SOURCE").read_text()
        for field in ("repository: https://github.com/", "commit: ", "license: "):
            assert field in source, f"{name}/SOURCE lacks '{field}'"
        for path in (CORPUS / name).rglob("*"):
            if path.is_file():
                assert path.name.endswith(allowed), f"{path}: not a pipeline-definition file"
                assert path.stat().st_size <= 64 * 1024, f"{path}: too large for a definition file"
    assert all((k[0] in names and k[1] in FACETS) for k in KNOWN_DIFFERENCES)
