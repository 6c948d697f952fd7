"""The form widgets that skip style passes before they have a parent still match `Input`/`Button` in
CSS and queries, and end up styled exactly as the stock widgets once mounted (the sweep dialog relies on both)."""
from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Button, Input

from exptui.tui.widgets.burst_input import BurstInput
from exptui.tui.widgets.unmounted_styles import FormButton, FormInput
from tests.tui_support import async_test

CSS = "Input { background: red; } Button { margin-left: 3; }"


def _pairs() -> list[tuple[object, object]]:
    return [
        (Input(value="1", compact=True, type="integer", id="stock-input"),
         FormInput(value="1", compact=True, type="integer", id="form-input")),
        (Input(value="1", compact=True, type="integer", id="stock-burst"),
         BurstInput(value="1", compact=True, type="integer", id="burst-input")),
        (Button("Queue", variant="primary", compact=True, id="stock-button"),
         FormButton("Queue", variant="primary", compact=True, id="form-button")),
    ]


class Pairs(App[None]):
    CSS = CSS

    def __init__(self) -> None:
        super().__init__()
        self.built: list[tuple[object, object]] = []

    def compose(self) -> ComposeResult:
        # built while the app runs (as the dialog does): the stock widgets' constructors style them, ours do not
        self.built = _pairs()
        for stock, form in self.built:
            yield stock  # type: ignore[misc]
            yield form   # type: ignore[misc]


@async_test
async def test_form_widgets_are_styled_and_queried_as_the_stock_ones() -> None:
    app = Pairs()
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        assert {w.id for w in app.query(Input)} >= {"form-input", "burst-input"}
        assert app.query_one("#form-button", Button).variant == "primary"
        for stock, form in app.built:
            assert stock.classes == form.classes            # type: ignore[attr-defined]
            for rule in ("background", "width", "height", "margin", "border", "padding", "color"):
                assert getattr(stock.styles, rule) == getattr(form.styles, rule), (form, rule)  # type: ignore[attr-defined]
        # after mounting, a class change restyles as usual
        form_input = app.query_one("#form-input", Input)
        form_input.value = "x"        # not an integer: Input's validator adds -invalid
        await pilot.pause()
        assert form_input.has_class("-invalid")
