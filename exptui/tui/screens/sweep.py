"""The sweep dialog: start from an experiment's params, turn some into lists/ranges/distributions, queue the trials.

Every field is parsed by dvc_compat.sweep as the user types; the trial count and
a preview table update live; nothing is queued while any field is invalid.
Confirming calls `project.queue.enqueue` once for the whole sweep (in a thread)
and optionally starts workers; the dialog dismisses with the queued entries.
"""
from __future__ import annotations

from collections.abc import Sequence

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from dvc_compat.errors import SweepSyntaxError
from dvc_compat.sweep import count, expand_grid, is_sweep, parse_overrides, sample_random
from exptui.project import Project, QueueEntry
from exptui.query.inert import INPUT_ALLOWED
from exptui.records import ExperimentRow
from exptui.tui.app_ref import exptui_app
from exptui.tui.text import assemble, lines, notify, plain
from exptui.tui.widgets.sweep_form import SWEEP_HINT, SweepField, override_text
from exptui.tui.widgets.sweep_preview import SweepPreview, Trial

LARGE_SWEEP = 50            # above this the confirm button says so loudly
MAX_PREVIEW_TRIALS = 5000   # bigger grids are counted, not expanded, while typing


def _int_or_none(text: str, what: str, minimum: int = 0) -> int | None:
    """Parse an optional whole-number field; raises ValueError with a one-line message."""
    text = text.strip()
    if not text:
        return None
    try:
        number = int(text)
    except ValueError:
        raise ValueError(f"{what}: '{text}' is not a whole number") from None
    if number < minimum:
        raise ValueError(f"{what}: must be at least {minimum}")
    return number


class SweepScreen(ModalScreen["list[QueueEntry] | None"]):
    """Modal dialog; dismisses with the list of queued entries, or None when cancelled."""

    CSS_PATH = "../styles/screens.tcss"   # the app may load it too; it is read once either way

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "queue", "Queue"),
    ]

    def __init__(self, project: Project, row: ExperimentRow) -> None:
        super().__init__(classes="sweep-dialog-screen")
        self.project = project
        self.row = row
        self.overrides: list[str] = []       # -S texts of the current form, valid or not
        self.trials: Sequence[Trial] = []
        self.trial_count = 0
        self.problem: str | None = None      # why confirming is not possible right now
        self.queued: list[QueueEntry] | None = None

    # -- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="sweep-dialog"):
            yield Label(assemble("Queue a sweep from ", plain(self.row.name)), id="sweep-title")
            yield Static(SWEEP_HINT, id="sweep-hint", markup=False)
            with Horizontal(id="sweep-body"):
                with VerticalScroll(id="sweep-form"):
                    if not self.row.params:
                        yield Static("This experiment has no params to sweep.", classes="sweep-empty")
                    for file, values in self.row.params.items():
                        yield Label(plain(file), classes="sweep-file")
                        for key, value in values.items():
                            yield SweepField(file, key, value)
                with Vertical(id="sweep-side"):
                    yield Label("", id="sweep-count")
                    yield SweepPreview(id="sweep-preview")
            with Horizontal(id="sweep-options"):
                yield Label("random trials", classes="option-label")
                yield Input(placeholder="grid", id="sweep-random", type="integer", compact=True)
                yield Label("seed", classes="option-label")
                yield Input(placeholder="none", id="sweep-seed", type="integer", compact=True)
                yield Label("name prefix", classes="option-label")
                yield Input(placeholder="auto", id="sweep-name", compact=True, restrict=INPUT_ALLOWED)
                yield Label("workers", classes="option-label")
                yield Input(value="0", id="sweep-workers", type="integer", compact=True)
            yield Static("", id="sweep-status", markup=False)
            with Horizontal(id="sweep-buttons"):
                yield Button("Cancel", id="sweep-cancel", compact=True)
                yield Button("Queue", id="sweep-confirm", variant="primary", disabled=True, compact=True)

    def on_mount(self) -> None:
        fields = self.query(SweepField)
        if fields:
            fields.first().query_one(Input).focus()
        self.revalidate()

    # -- validation ------------------------------------------------------------------------------

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self.revalidate()

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        """Enter moves on to the next input (ctrl+s queues), as in a form."""
        event.stop()
        self.focus_next()

    def fields(self) -> list[SweepField]:
        return list(self.query(SweepField))

    def _options(self) -> tuple[int | None, int | None, str, int]:
        random_n = _int_or_none(self.query_one("#sweep-random", Input).value, "random trials", 1)
        seed = _int_or_none(self.query_one("#sweep-seed", Input).value, "seed")
        workers = _int_or_none(self.query_one("#sweep-workers", Input).value, "workers") or 0
        name = self.query_one("#sweep-name", Input).value.strip()
        return random_n, seed, name, workers

    def build_overrides(self) -> list[str]:
        """The -S texts: changed fields, plus (for an experiment row) its other params, so the
        trials reproduce that experiment and differ only where the user swept."""
        out: list[str] = []
        keep_all = self.row.kind in ("experiment", "queued")
        for field in self.fields():
            if field.changed:
                out.append(field.as_override())
            elif keep_all:
                text = override_text(field.file, field.key, field.original)
                try:
                    parse_overrides([text])
                except SweepSyntaxError:
                    continue          # a key the -S syntax cannot address: leave it as the baseline has it
                out.append(text)
        return out

    def revalidate(self) -> None:
        """Re-parse every field and option; update the count, preview, status and confirm button."""
        field_ok = [f.validate_text() for f in self.fields()]
        self.problem = None
        self.trial_count = 0
        preview: Sequence[Trial] = []
        try:
            random_n, seed, _name, _workers = self._options()
        except ValueError as exc:
            self.problem = str(exc)
            random_n = seed = None
        if not all(field_ok):
            self.problem = self.problem or "fix the highlighted fields"
        self.overrides = self.build_overrides()
        if self.problem is None:
            changed = [f for f in self.fields() if f.changed]
            try:
                parsed = parse_overrides(self.overrides)
                if not changed:
                    self.problem = "change at least one value (a list, a range or a distribution)"
                elif random_n is not None:
                    self.trial_count = random_n
                    preview = sample_random(parsed, min(random_n, MAX_PREVIEW_TRIALS), seed)
                else:
                    if not all(o.sweep.is_grid for o in parsed):
                        raise SweepSyntaxError("random trials: a distribution needs a number of random trials")
                    self.trial_count = count(parsed)
                    if self.trial_count <= MAX_PREVIEW_TRIALS:
                        preview = expand_grid(parsed)
                    if self.trial_count == 0:
                        self.problem = "the sweep is empty (a range with no values?)"
                if not is_sweep(parsed) and random_n is None and self.problem is None:
                    self.trial_count = 1
            except SweepSyntaxError as exc:
                self.problem = str(exc)
        self.trials = preview if self.problem is None else []
        self._show_state()

    def _show_state(self) -> None:
        self.query_one(SweepPreview).show_trials(self.trials)
        n = self.trial_count if self.problem is None else 0
        noun = "experiment" if n == 1 else "experiments"
        count_label = self.query_one("#sweep-count", Label)
        count_label.update(f"{n} {noun}" + ("" if len(self.trials) >= n else f" (showing {len(self.trials)})"))
        status = self.query_one("#sweep-status", Static)
        status.update(lines(self.problem or self._summary()))     # quotes keys and values: text, never markup
        status.set_class(self.problem is not None, "-error")
        button = self.query_one("#sweep-confirm", Button)
        button.disabled = self.problem is not None or n == 0
        button.label = f"Queue {n} {noun}" + ("  (large!)" if n > LARGE_SWEEP else "")
        button.variant = "warning" if n > LARGE_SWEEP else "primary"

    def _summary(self) -> str:
        """The swept `-S` arguments, and how many other params are pinned to the experiment's values."""
        changed = {f.as_override() for f in self.fields() if f.changed}
        swept = "  ".join(f"-S '{o}'" for o in self.overrides if o in changed)
        pinned = len(self.overrides) - len(changed)
        return swept + (f"  (+{pinned} params pinned to {self.row.name}'s values)" if pinned else "")

    # -- actions ---------------------------------------------------------------------------------

    @on(Button.Pressed, "#sweep-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#sweep-confirm")
    def action_queue(self) -> None:
        self.revalidate()
        if self.problem is not None or self.trial_count == 0:
            notify(self, self.problem or "nothing to queue", severity="error")
            return
        if self.trial_count > LARGE_SWEEP:
            from exptui.tui.screens.confirm import ConfirmScreen

            def confirmed(yes: bool | None) -> None:
                if yes:
                    self._start_enqueue()

            self.app.push_screen(ConfirmScreen(
                "Large sweep", f"Queue {self.trial_count} experiments? At one experiment's run time each, on "
                f"the workers you start, this can take a while.", yes=f"Queue {self.trial_count}"), confirmed)
            return
        self._start_enqueue()

    def _start_enqueue(self) -> None:
        random_n, seed, name, workers = self._options()
        self.query_one("#sweep-confirm", Button).disabled = True
        self.query_one("#sweep-status", Static).update(plain(f"queueing {self.trial_count} experiments…"))
        self._enqueue(list(self.overrides), random_n, seed, name or None, workers)

    @work(thread=True, exclusive=True, group="sweep-enqueue")
    def _enqueue(self, overrides: list[str], random_n: int | None, seed: int | None,
                 name: str | None, workers: int) -> None:
        queue = self.project.queue
        try:
            entries = queue.enqueue(overrides, name=name, random_n=random_n, seed=seed)
        except Exception as exc:  # noqa: BLE001 - ExptuiError/FormatError: one line, nothing queued
            self.app.call_from_thread(self._failed, str(exc))
            return
        started = ""
        if workers > 0:
            try:
                queue.start(workers)
                exptui_app(self.app).workers_started_here = True   # the app asks about them when quitting
                started = f", started {workers} worker{'s' if workers != 1 else ''}"
            except Exception as exc:  # noqa: BLE001 - the entries are queued; say why workers did not start
                started = f"; workers not started: {exc}"
        self.app.call_from_thread(self._done, entries, started)

    def _failed(self, message: str) -> None:
        if not self.is_attached:
            return
        self.problem = message
        status = self.query_one("#sweep-status", Static)
        status.update(lines(message))
        status.add_class("-error")
        self.query_one("#sweep-confirm", Button).disabled = False

    def _done(self, entries: list[QueueEntry], started: str) -> None:
        self.queued = entries
        notify(self.app, f"queued {len(entries)} experiment{'s' if len(entries) != 1 else ''}{started}")
        self.dismiss(entries)
