"""`:` command line (k9s / vim style): `:sort f1 desc, train.max_depth`, `:filter ...`, `:keep re`, `:q`.

Sort specs are `exptui show --sort-by`'s (`f1:desc` works too), parsed by `exptui.query.sort`.

Parsing into a `Command` lives here; executing it is the screen's job (it owns the view state).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

COMMAND_NAMES: tuple[str, ...] = (
    "filter", "sort", "keep", "drop", "only-changed", "leaderboard", "reset", "q", "quit", "help",
    "compare", "queue", "plots", "sweep", "log", "refresh", "live", "better",
)


@dataclass(frozen=True)
class Command:
    name: str
    argument: str


class CommandError(ValueError):
    pass


def parse_command(text: str) -> Command:
    """`sort f1 desc` -> Command("sort", "f1 desc"). Unique prefixes work (`:so`), like vim."""
    text = text.strip().lstrip(":").strip()
    if not text:
        raise CommandError("empty command; try :help")
    name, _, argument = text.partition(" ")
    name = name.lower()
    if name not in COMMAND_NAMES:
        matches = [n for n in COMMAND_NAMES if n.startswith(name)]
        if len(matches) != 1:
            known = ", ".join(n for n in COMMAND_NAMES if n != "quit")
            raise CommandError(f"unknown command :{name} (known: {known})")
        name = matches[0]
    if name == "quit":
        name = "q"
    return Command(name, argument.strip())


class CommandLine(Input):
    """A one-line input that posts `Submitted(Command)`; esc closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    class Run(Message):
        def __init__(self, command: Command) -> None:
            super().__init__()
            self.command = command

    class Failed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    class Closed(Message):
        pass

    def open(self, text: str = "") -> None:
        self.display = True
        self.value = text
        self.focus()
        self.cursor_position = len(text)

    def action_close(self) -> None:
        self.value = ""
        self.display = False
        self.post_message(self.Closed())

    async def action_submit(self) -> None:
        text = self.value
        self.value = ""
        self.display = False
        try:
            command = parse_command(text)
        except CommandError as exc:
            self.post_message(self.Failed(str(exc)))
        else:
            self.post_message(self.Run(command))
        self.post_message(self.Closed())
