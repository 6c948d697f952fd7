"""A screen's keys on one line, drawn as Textual's `Footer` draws them, by one widget.

Textual's `Footer` composes nothing until its screen's bindings are first reported, which happens after the screen
was mounted and refreshed; then it recomposes into one `FooterKey` widget per key, each styled and laid out. On
the compare and queue screens that second mount came 80–110 ms after the screen was first painted (1,000
experiments, load ~3): the screen showed an empty footer line, and about half of each open's CPU went into those
few widgets. `KeyLine` reads the screen's active bindings when it renders, so the keys are in the screen's first
paint, and a change of the bindings (focus moving, an action becoming disabled) only repaints the line.

What `FooterKey` does and this keeps: the keys in binding order (one per action, the first binding's key), a
disabled key dimmed, the command palette's key on the right, a click on a key presses it (a bell when disabled),
the key under the mouse highlighted (`$block-hover-background`, as `FooterKey:hover`) with its binding's tooltip,
if it declares one. The highlight is one key's span of the same line: moving the mouse repaints the line, it
mounts nothing, and with no mouse over it the line is drawn exactly as before.
Not kept: grouped bindings (no exptui screen declares a group).
"""
from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


class KeyLine(Widget, can_focus=False):
    """One line of the screen's shown bindings, docked at the bottom like `Footer` (same theme variables)."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-line--item", "key-line--key", "key-line--description", "key-line--separator",
                         "key-line--hover"}
    DEFAULT_CSS = """
    KeyLine {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        & > .key-line--item {
            background: $footer-item-background;
        }
        & > .key-line--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-line--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .key-line--separator {
            color: $foreground 20%;
            background: $footer-item-background;
        }
        & > .key-line--hover {
            background: $block-hover-background;
        }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._spans: list[tuple[int, int, str, bool]] = []   # (start, end, key, enabled) of the last render
        self._tooltips: dict[str, str] = {}    # key -> its binding's tooltip, of the last render
        self.hovered: str | None = None        # the key under the mouse (highlighted), None when none is

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen:
            self.refresh()

    def _keys(self) -> tuple[list[tuple[str, str, str, bool]], tuple[str, str, str, bool] | None]:
        """(key, shown key, description, enabled) per shown action in binding order, and the palette's key (their
        tooltips, where a binding declares one, kept in `_tooltips`)."""
        active = self.screen.active_bindings
        seen: set[str] = set()
        keys = []
        tooltips: dict[str, str] = {}
        for _node, binding, enabled, tooltip in active.values():
            if binding.show and binding.action not in seen:
                seen.add(binding.action)
                keys.append((binding.key, self.app.get_key_display(binding), binding.description, enabled))
                if tooltip:
                    tooltips[binding.key] = tooltip
        palette = None
        if self.app.ENABLE_COMMAND_PALETTE and self.app.COMMAND_PALETTE_BINDING in active:
            _node, binding, enabled, tooltip = active[self.app.COMMAND_PALETTE_BINDING]
            palette = (binding.key, self.app.get_key_display(binding), binding.description, enabled)
            if tooltip:
                tooltips[binding.key] = tooltip
        self._tooltips = tooltips
        return keys, palette

    def _item(self, key_name: str, shown: str, description: str, enabled: bool, compact: bool = False) -> Text:
        """One key as a `FooterKey` draws it: ` key description ` (compact, as the palette's: `key description`)."""
        key, description = (shown, f" {description}") if compact else (f" {shown} ", f"{description} ")
        text = Text.assemble((key, self.get_component_rich_style("key-line--key")),
                             (description, self.get_component_rich_style("key-line--description")))
        text.stylize_before(self.get_component_rich_style("key-line--item"))
        if key_name == self.hovered:   # the hover background under the key and the description (their colours kept)
            text.stylize(Style(bgcolor=self.get_component_rich_style("key-line--hover").bgcolor))
        if not enabled:
            text.stylize(Style(dim=True))
        return text

    def render(self) -> Text:
        keys, palette = self._keys()
        line = Text(no_wrap=True, overflow="crop", end="")
        spans: list[tuple[int, int, str, bool]] = []
        for key, shown, description, enabled in keys:
            start = len(line)
            line.append_text(self._item(key, shown, description, enabled))
            spans.append((start, len(line), key, enabled))
        if palette is not None:
            key, shown, description, enabled = palette
            right = Text.assemble(("▏", self.get_component_rich_style("key-line--separator")),
                                  self._item(key, shown, description, enabled, compact=True),
                                  (" ", self.get_component_rich_style("key-line--item")))
            start = max(0, self.size.width - len(right))   # docked right: over the keys when they do not fit
            if len(line) > start:
                line.truncate(start)
                spans = [(a, min(b, start), k, e) for a, b, k, e in spans if a < start]
            line.append(" " * (start - len(line)))
            line.append_text(right)
            spans.append((start, start + len(right), key, enabled))
        self._spans = spans
        return line

    def key_at(self, x: int) -> tuple[str, bool] | None:
        """The key drawn at column `x` (and whether it is enabled), as last rendered."""
        for start, end, key, enabled in self._spans:
            if start <= x < end:
                return key, enabled
        return None

    def _hover(self, key: str | None) -> None:
        """Highlight `key` (None: no key) and show its tooltip, as `FooterKey:hover` does."""
        if key == self.hovered:
            return
        self.hovered = key
        self.tooltip = self._tooltips.get(key) if key is not None else None
        self.refresh()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        hit = self.key_at(event.x)
        self._hover(hit[0] if hit is not None else None)

    def on_leave(self, event: events.Leave) -> None:
        self._hover(None)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        hit = self.key_at(event.x)
        if hit is None:
            return
        key, enabled = hit
        if enabled:
            self.app.simulate_key(key)
        else:
            self.app.bell()
