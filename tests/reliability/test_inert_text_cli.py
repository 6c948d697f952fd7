"""Issue 9 items 2 (terminal escape injection) and issue 10 (cell width), on the command line.

Every command runs as a real subprocess on a real pseudo-terminal (what a person sees), over a real repo whose
params, metrics, names, notes, labels, queue entry and stage log carry the hostile corpus; some experiments arrived
through ``exptui pull``. What the terminal receives must hold no escape, control or bidi character from data (the
only sequences allowed are SGR colours a stage printed itself, in logs), and the data must still be there, visibly.
Piped ``--json``/``--csv``/``queue logs`` stay faithful data.
"""
from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.conftest import BIN, TEST_GIT_ENV, scoped_env
from tests.reliability.corpus import terminal_hazards
from tests.reliability.hostile_text_repo import (
    NOTE,
    PULLED_NAMES,
    HostileRepo,
    build_hostile_repo,
    copy_repo,
    exptui,
)

SGR = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> HostileRepo:
    env = {**TEST_GIT_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    with scoped_env(env):
        return build_hostile_repo(tmp_path_factory.mktemp("inert-cli"))


@pytest.fixture
def repo(built: HostileRepo, tmp_path: Path) -> Path:
    return copy_repo(built, tmp_path)


def on_tty(repo: Path, *args: str, cols: int = 200, rows: int = 50) -> tuple[int, str]:
    """Run ``exptui -C repo ARGS`` with stdin/stdout/stderr on a fresh pseudo-terminal of a fixed size; return the
    exit code and every byte the terminal received (bytes that are not UTF-8 kept as surrogates, so they show up)."""
    master, slave = pty.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST                  # no \n -> \r\n translation: see exactly what was written
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = {**os.environ, "COLUMNS": str(cols), "LINES": str(rows)}     # what get_terminal_size reads first
    proc = subprocess.Popen([sys.executable, "-m", "exptui", "-C", str(repo), *args], stdin=slave, stdout=slave,
                            stderr=slave, close_fds=True, start_new_session=True, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:                          # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    code = proc.wait(timeout=120)
    os.close(master)
    return code, b"".join(chunks).decode("utf-8", "surrogateescape")


def assert_inert(output: str, what: str) -> None:
    """No escape sequence but SGR colour, no control but line feeds, no bidi/format character, no raw 8-bit byte."""
    hazards = terminal_hazards(SGR.sub("", output), multiline=True)
    assert hazards == [], f"{what}: {sorted(set(hazards))!r} reached the terminal:\n{output[:3000]!r}"
    assert "Traceback" not in output, f"{what}:\n{output}"


READ_ONLY_COMMANDS: list[tuple[str, ...]] = [
    ("show",),
    ("show", "--md"),
    ("show", "--csv"),
    ("show", "--json"),
    ("show", "--only-changed", "--sort-by", "acc:desc"),
    ("show", "-A", "--keep", ".*", "--drop", "train.v.*"),
    ("show", "--filter", "acc > 0.41"),
    ("diff", "plain"),
    ("diff", "plain", "--md"),
    ("diff", "plain", "--json"),
    ("diff", PULLED_NAMES[0], "plain"),
    ("diff", PULLED_NAMES[1], "--md", "--all"),
    ("queue", "status"),
    ("queue", "status", "--json"),
    ("label", "plain"),
    ("status",),
    ("dag",),
    ("doctor",),
    ("params", "diff", "HEAD", "plain"),
    ("params", "diff", PULLED_NAMES[0], "plain", "--md", "--all"),
    ("metrics", "diff", "HEAD", "plain"),
    ("metrics", "diff", PULLED_NAMES[1], "plain", "--md"),
    ("repro", "--dry"),
]


@pytest.mark.parametrize("args", READ_ONLY_COMMANDS, ids=lambda a: " ".join(a))
def test_read_only_commands_show_data_inert(repo: Path, args: tuple[str, ...]) -> None:
    code, out = on_tty(repo, *args)
    assert code == 0, out
    assert_inert(out, " ".join(args))


def test_table_shows_the_hostile_text_visibly(repo: Path) -> None:
    """Inert is not silent: the controls are there to see, as control pictures and escapes."""
    _, out = on_tty(repo, "show", "--keep", ".*", cols=9000)
    assert "␛]0;PWNED␇" in out                     # a param value and a metric key
    assert "csi\\x9b2J" in out                      # a pulled experiment's name (8-bit CSI)
    assert "rtl\\u202egnp.exe" in out               # a pulled name with a right-to-left override
    assert "p[/]" in out and "[@click=app.quit]CLICK[/]" in out
    _, md = on_tty(repo, "show", "--md")
    assert "␛]0;PWNED␇" in md and "\\|" not in md.split("\n")[0][:2]


def test_queue_logs_on_a_terminal_keep_colour_and_nothing_else(repo: Path, built: HostileRepo) -> None:
    code, out = on_tty(repo, "queue", "logs", built.queue_name)
    assert code == 0, out
    assert_inert(out, "queue logs")
    assert "\x1b[32mgreen is only colour\x1b[0m" in out        # SGR from the stage itself stays colour
    assert "log: ␛]0;PWNED␇" in out and "log: ␛[2J" in out
    assert "progress 1\nprogress 2\n" in out                   # \r redraws become lines, \r\n one line break


def test_piped_outputs_stay_faithful_data(repo: Path, built: HostileRepo) -> None:
    rows = json.loads(exptui(repo, "show", "--json").stdout)
    plain = next(r for r in rows if r["name"] == "plain")
    assert plain["note"] == NOTE
    assert plain["params"]["params.yaml"]["train.tag"] == "\x1b]0;PWNED\x07[@click=app.quit]CLICK[/]"
    assert {r["name"] for r in rows} >= set(PULLED_NAMES)
    raw_json = subprocess.run([sys.executable, "-m", "exptui", "-C", str(repo), "show", "--json"],
                              capture_output=True).stdout
    assert b"\x1b" not in raw_json and b"\xc2\x9b" not in raw_json and "\u202e".encode() not in raw_json
    table = list(csv.reader(io.StringIO(exptui(repo, "show", "--csv").stdout)))
    header = table[0]
    assert "t\x1b]0;PWNED\x07" in header                       # a piped CSV is the data, byte for byte
    assert any(row[0] == "csi\x9b2J" for row in table[1:])
    log = subprocess.run([sys.executable, "-m", "exptui", "-C", str(repo), "queue", "logs", built.queue_name],
                         capture_output=True).stdout
    assert b"log: \x1b]0;PWNED\x07" in log                      # `queue logs > file` keeps the real bytes


def test_stage_output_of_run_and_repro_is_inert_on_a_terminal(repo: Path) -> None:
    code, out = on_tty(repo, "run", "-n", "live", "-S", "train.lr=0.4")
    assert code == 0, out
    assert_inert(out, "run")
    assert "log: ␛[?1049l" in out and "\x1b[32mgreen" in out
    code, out = on_tty(repo, "repro", "-f")
    assert code == 0, out
    assert_inert(out, "repro")


def test_messages_and_errors_quoting_data_are_inert(repo: Path) -> None:
    for args in (
        ("note", PULLED_NAMES[0], NOTE),
        ("star", PULLED_NAMES[1]),
        ("label", PULLED_NAMES[0], "+\x1b]0;x\x07"),
        ("apply", "nope\x1b[2J\u202e"),
        ("diff", "nope\x1b]0;PWNED\x07"),
        ("queue", "logs", "no\x1b[?1049l"),
        ("show", "--filter", "acc > '\x1b[2J'"),
        ("show", "--filter", "nosuch\x1b]0;PWNED\x07 > 1"),
        ("show", "--sort-by", "\x9b2J"),
        ("run", "-S", "train.tag=\x1b]0;PWNED\x07"),
        ("run", "-n", "bad\x1b[2J"),
        ("remove", PULLED_NAMES[1], PULLED_NAMES[0]),
    ):
        code, out = on_tty(repo, *args)
        assert_inert(out, " ".join(args))
        assert out.strip(), args


def test_workspace_errors_quoting_data_are_inert(repo: Path) -> None:
    (repo / "metrics.json").write_text('{"acc": 1, "k\x1b]0;PWNED\x07": [}')   # unreadable: a warning names it
    code, out = on_tty(repo, "show")
    assert code == 0
    assert_inert(out, "show with a broken workspace metrics file")
    (repo / "params.yaml").write_text("train: {lr: 0.1, \"x\\e[2J\": 1}\n\x1b]0;bad\x07: [\n")
    code, out = on_tty(repo, "status")
    assert_inert(out, "status with broken params")


# ------------------------------------------------------------------------------------------- cell width (issue 10)

def test_wide_characters_keep_every_column_in_its_cell_column(repo: Path) -> None:
    """学習率-実験 in names, param keys and metric keys: on every line, each column starts at the cell the rule
    line says (two blank cells before it), whatever the names' script."""
    code, out = on_tty(repo, "show", "--keep", "acc|学習率-実験|train.lr", "--drop", ".*", cols=200)
    assert code == 0, out
    lines = [line for line in out.splitlines() if line.strip()]
    header, rule, body = lines[0], lines[1], lines[2:]
    starts = [m.start() for m in re.finditer(r"─+", rule)]            # the rule is single-cell: index = cell
    assert len(starts) >= 4 and any("学習率-実験" in line for line in body) and "学習率-実験" in header
    for line in [header, *body]:
        assert_gap_before(line, starts[1:])


def cells_of(line: str) -> dict[int, str]:
    """Cell column -> the character drawn there (a wide character takes two cells, so its second has no entry)."""
    out: dict[int, str] = {}
    col = 0
    for ch in line:
        out[col] = ch
        col += cell_len(ch)
    return out


def assert_gap_before(line: str, starts: list[int]) -> None:
    """Two blank cells right before each column start (a line may end earlier: trailing blanks are trimmed)."""
    cells = cells_of(line)
    for start in starts:
        if start - 2 >= cell_len(line):
            continue
        assert cells.get(start - 1) == " " and cells.get(start - 2) == " ", \
            f"the column at cell {start} does not start there: {line!r}"


def test_wide_characters_line_up_in_diff_and_queue_status(repo: Path) -> None:
    code, out = on_tty(repo, "diff", "学習率-実験", "plain", "--all")
    assert code == 0, out
    lines = [line for line in out.splitlines() if line.strip()]
    header = lines[0]
    key, change = cell_len(header[: header.index("Key")]), cell_len(header[: header.index("Change")])
    assert any("学習率-実験" in line for line in lines[1:])
    for line in lines[1:]:
        assert_gap_before(line, [key, change])
    _, status = on_tty(repo, "queue", "status")
    rows = [line for line in status.splitlines()[1:] if line.strip()]
    column = cell_len(rows[0][: rows[0].index("STATUS")])
    for line in rows[1:]:
        assert cell_len(line[: line.index("success")]) == column, status


def test_dag_boxes_fit_wide_and_hostile_stage_names(git_repo: Path) -> None:
    """Stage names come from dvc.yaml: shown inert, and every box is as wide as its border in terminal cells."""
    (git_repo / ".dvc").mkdir()
    (git_repo / ".dvc" / "config").write_text("")
    (git_repo / "dvc.yaml").write_text(
        'stages:\n  学習率-実験:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n'
        '  "b\\e[2J\\u202e":\n    cmd: cat a.txt > b.txt\n    deps: [a.txt]\n    outs: [b.txt]\n', encoding="utf-8")
    code, out = on_tty(git_repo, "dag")
    assert code == 0, out
    assert_inert(out, "dag")
    assert "b␛[2J\\u202e" in out and "学習率-実験" in out
    border = None
    for line in out.splitlines():
        if line.startswith("+"):
            border = cell_len(line)
        elif line.startswith("|"):
            assert cell_len(line) == border, out
