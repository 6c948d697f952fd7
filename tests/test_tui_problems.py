"""Problems shown where the user is looking: the workspace error banner, the queue view's Info column, status-line
messages that expire. Real app over a real demo repo (the fixtures of test_tui_screens), driven with Pilot."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from exptui.tui.screens.main import MainScreen
from exptui.tui.widgets.problem_banner import ProblemBanner, workspace_problems
from tests.test_tui_screens import async_test, demo_template, make_app, repo, wait_for  # noqa: F401

SIZE = (80, 24)


def banner_text(app: Any) -> str:
    banner = app.main.query_one(ProblemBanner)
    return str(banner.render()) if banner.display else ""


@async_test
async def test_a_broken_params_yaml_shows_a_banner_with_file_and_line_until_fixed(repo: Path) -> None:  # noqa: F811
    params = repo / "params.yaml"
    good = params.read_text()
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        assert banner_text(app) == ""
        # a tab in the indentation: YAML refuses it; the text also carries markup, which must stay text
        params.write_text(good + "train:\n\t[bold]bad: 1\n")
        await wait_for(pilot, lambda: "params.yaml:" in banner_text(app))
        text = banner_text(app)
        line = text.split("params.yaml:", 1)[1].split(":", 1)[0]
        assert line.isdigit(), text              # the line number is there
        assert "Fix the file" in text
        params.write_text(good)
        await wait_for(pilot, lambda: banner_text(app) == "")


@async_test
async def test_a_broken_dvc_yaml_is_named_in_the_banner_and_the_empty_hint(tmp_path: Path,  # noqa: F811
                                                                           repo: Path) -> None:  # noqa: F811
    dvc_yaml = repo / "dvc.yaml"
    good = dvc_yaml.read_text()
    dvc_yaml.write_text(good.replace("stages:", "stages:\n  broken:\n    cmd: [unclosed", 1))
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "dvc.yaml:" in banner_text(app))
        assert banner_text(app).splitlines()[0].startswith("✗ dvc.yaml:")   # dvc.yaml first: nothing runs without it
        dvc_yaml.write_text(good)
        await wait_for(pilot, lambda: banner_text(app) == "")


def test_workspace_problems_skip_metrics_not_written_yet_and_put_dvc_yaml_first() -> None:
    errors = {"metrics.json": "file not found", "params.yaml": "params.yaml:3: bad", "dvc.yaml": "dvc.yaml:1: worse",
              "extra.toml": "cannot parse"}
    assert workspace_problems(errors) == ["dvc.yaml:1: worse", "extra.toml: cannot parse", "params.yaml:3: bad"]


@async_test
async def test_status_line_messages_expire(repo: Path) -> None:  # noqa: F811
    """Seen first with a long timer (no race with a loaded machine), then a short one is waited out by polling."""
    app = make_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.reloads > 0)
        main = app.main
        main.MESSAGE_SECONDS = main.ERROR_SECONDS = 600.0
        await pilot.press("o")
        assert main.message == "only changed columns" and main._message_timer is not None
        main.MESSAGE_SECONDS = 0.2
        await pilot.press("o")
        await wait_for(pilot, lambda: main.message == "")          # the timer cleared it, no key pressed
        await pilot.press("a")         # apply on a baseline row: an error line
        assert "apply" in main.message
        main.ERROR_SECONDS = 0.2
        await pilot.press("a")
        await wait_for(pilot, lambda: main.message == "")
        await pilot.press("v")         # a prompt waiting for the next key stays until that key
        assert "range" in main.message and main._message_timer is None
