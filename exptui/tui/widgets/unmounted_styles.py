"""Form widgets that skip Textual's style pass while they are not in the DOM yet.

Textual re-applies the stylesheet to a node and all its descendants at once whenever one of its CSS classes
changes (`DOMNode.update_node_styles`), and that includes nodes that are still being constructed: `Input`
and `Button` toggle classes in their constructors (`compact` -> `-textual-compact`, the value's `-valid`,
`variant`), each a full style match against a node with no parents. The sweep dialog built some twenty of these
(with two `Select`s, since replaced by `ChoiceField`) per open, and that was ~35 ms of the ~190 ms of CPU `e` took
at 1,000 rows (load under 1). Mounting applies the stylesheet in full anyway, so until a node has a parent these updates are
wasted; afterwards they run as usual.
"""
from __future__ import annotations

from textual.dom import DOMNode
from textual.widgets import Button, Input


class UnmountedStyles(DOMNode):
    """Mixin: no style update while the node has no parent (its styles are applied when it is mounted).

    Listed after the widget class (`class FormInput(Input, UnmountedStyles)`): Textual takes a class's CSS type
    names (what `Input` in a selector or a query matches) from its first DOMNode base, and in the MRO this class
    still comes before `DOMNode`, whose `update_node_styles` it overrides."""

    def update_node_styles(self, animate: bool = True) -> None:
        if self._parent is None:
            return
        super().update_node_styles(animate=animate)


class FormInput(Input, UnmountedStyles):
    """`Input` without the constructor's style passes (see the module docstring)."""


class FormButton(Button, UnmountedStyles):
    """`Button` without the constructor's style passes (see the module docstring)."""

