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

# DVC's own DeprecationWarnings (pygtrie steps) on every index load: not ours to fix
pytestmark = [pytest.mark.dvc, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

#: (case, facet) -> why exptui answers differently on purpose (docs/compatibility.md lists the same)
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    ("synth__dvc2-lock-crlf-dep-raw-md5", "status"):
        "a hand-made DVC 2 lock holding the raw md5 of a CRLF text file (DVC 2 itself always wrote the md5 of the "
        "dos2unix text): exptui takes a raw-md5 match as unchanged without reading the file again (the stat cache "
        "keeps raw md5s only); DVC re-hashes it dos2unix and calls it modified",
    ("synth__error-checkpoint-in-lock", "params"):
        "a DVC 2 `checkpoint` key in dvc.lock: DVC's exp show row is an error; exptui refuses it wherever it loads "
        "the workspace pipeline (dag, status, repro, run: one line naming the lock and the stage), but `exptui "
        "show` reads no dvc.lock and still lists the commit's params",
}


@pytest.mark.parametrize("case", cases())
def test_corpus_case_matches_dvc(case: str, tmp_path: Path) -> None:
    result = run_case(case, tmp_path)
    problems = []
    for facet in result.facets:  # `repro` only for the cases marked runnable
        theirs, ours = result.facets[facet]
        reason = KNOWN_DIFFERENCES.get((case, facet))
        if reason is not None:
            if result.matches(facet):
                problems.append(f"{facet}: now matches dvc; remove it from KNOWN_DIFFERENCES ({reason})")
        elif not result.matches(facet):
            problems.append(f"{facet}:\n  dvc:    {theirs!r}\n  exptui: {ours!r}")
    assert not problems, f"{case} ({CORPUS / case / 'SOURCE'}):\n" + "\n".join(problems)


def test_the_corpus_is_what_the_docs_say() -> None:
    """~20 public repositories and DVC's parsing cases, each with a SOURCE naming repository, commit and license,
    holding only small pipeline-definition files (never data, models or code); the synthesized edge cases of
    issue 12 (`synth__*`) may add a few bytes of text data."""
    names = cases()
    synth = [n for n in names if n.startswith("synth__")]
    parsing = [n for n in names if n.startswith("dvc-parsing__")]
    public = [n for n in names if n not in synth and n not in parsing]
    assert len(public) >= 20 and len(parsing) >= 40 and len(synth) >= 15
    allowed = ("dvc.yaml", "dvc.lock", ".dvcignore", ".dvc", ".yaml", ".yml", ".json", ".toml", "config", "SOURCE")
    for name in names:
        source = (CORPUS / name / "SOURCE").read_text()
        fields = ("origin: issue 12", "license: ") if name in synth else (
            "repository: https://github.com/", "commit: ", "license: ")
        for field in fields:
            assert field in source, f"{name}/SOURCE lacks '{field}'"
        for path in (CORPUS / name).rglob("*"):
            if path.is_file() and name in synth:
                assert path.stat().st_size <= 4096, f"{path}: synthesized cases hold a few bytes of data"
            elif path.is_file():
                assert path.name.endswith(allowed), f"{path}: not a pipeline-definition file"
                assert path.stat().st_size <= 64 * 1024, f"{path}: too large for a definition file"
    assert all((k[0] in names and k[1] in FACETS) for k in KNOWN_DIFFERENCES)
