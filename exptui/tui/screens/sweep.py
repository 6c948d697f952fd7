"""The sweep dialog: start from an experiment's params, turn some into lists/ranges/distributions, queue the trials.

Every field is parsed by dvc_compat.sweep as the user types; the trial count and
a preview table update live; nothing is queued while any field is invalid.
Confirming calls `project.queue.enqueue` once for the whole sweep (in a thread)
and optionally starts workers; the dialog dismisses with the queued entries.
"adaptive" (tpe, random or cmaes) stores an adaptive search instead (`project.queue.create_search`): its
trials are proposed one by one as results come in, by the feeder that starting workers here (or `queue start`)
runs, so there is no preview and the dialog dismisses with no entries.

Submitting must be obvious and losing a typed sweep hard: the dialog shows its own
key line (the dashboard's footer is covered), Enter on the last input queues, and a
filled form closed unqueued is kept in the dashboard's `DraftSlot` (a notification
says so) and comes back the next time `e` opens the dialog on the same row.
"""
from __future__ import annotations

from collections.abc import Sequence

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from dvc_compat.errors import SweepSyntaxError
from dvc_compat.sweep import count, expand_grid, is_sweep, parse_overrides, sample_random
from exptui.project import Project, QueueEntry
from exptui.query.inert import INPUT_ALLOWED
from exptui.records import ExperimentRow
from exptui.tui.alive import alive
from exptui.tui.app_ref import exptui_app
from exptui.tui.backdrop import DimmedModalScreen
from exptui.tui.sweep_draft import DraftSlot, SweepDraft
from exptui.tui.text import assemble, lines, notify, plain
from exptui.tui.key_replay import replay_keys
from exptui.tui.opening import OpeningHold
from exptui.tui.widgets.burst_input import BurstInput
from exptui.tui.widgets.choice_field import ChoiceField
from exptui.tui.widgets.unmounted_styles import FormButton, FormInput
from exptui.tui.widgets.sweep_form import SWEEP_HINT, SweepField, override_text
from exptui.tui.widgets.sweep_preview import SweepPreview, Trial
from exptui.tui.stylesheets import SCREENS_TCSS

OPTION_DEFAULTS = {"sweep-random": "", "sweep-seed": "", "sweep-name": "", "sweep-workers": "0",
                   "sweep-trials": "", "sweep-metric": ""}
SEARCH_CHOICES = ("off", "tpe", "random", "cmaes")
DIRECTIONS = ("maximize", "minimize")
DEFAULT_TRIALS = 20         # an adaptive search's trials when the field is left empty (as `run --search`)
KEY_HINTS = (("ctrl+s", "queue"), ("enter", "next field, queue on the last"), ("tab ↑↓", "move"),
             ("esc", "cancel"))
NARROW, SHORT = 100, 32     # below these terminal sizes the dialog packs tighter
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


class SweepScreen(DimmedModalScreen["list[QueueEntry] | None"]):
    """Modal dialog; dismisses with the list of queued entries, or None when cancelled."""

    CSS_PATH = SCREENS_TCSS   # the App read it at start-up (same path): pushing the screen re-parses nothing

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "queue", "Queue"),
        # priority: focus must move when the key arrives, not when it has bubbled up from the focused Input. In a
        # terminal burst (`Down`×6 then `99` in one read) the App forwards every key to the widget focused at
        # that moment; a non-priority move ran only after the `99` had already been queued on the first field
        Binding("down", "next_field('down')", "Next field", show=False, priority=True),
        Binding("up", "previous_field('up')", "Previous field", show=False, priority=True),
        Binding("tab", "next_field('tab')", "Next field", show=False, priority=True),
        Binding("shift+tab", "previous_field('shift+tab')", "Previous field", show=False, priority=True),
    ]

    def __init__(self, project: Project, row: ExperimentRow, drafts: DraftSlot | None = None) -> None:
        super().__init__(classes="sweep-dialog-screen")
        self.project = project
        self.row = row
        self.drafts = drafts if drafts is not None else DraftSlot()
        self.restored = False                # True when the form came back from a draft
        self.overrides: list[str] = []       # -S texts of the current form, valid or not
        self.trials: Sequence[Trial] = []
        self.trial_count = 0
        self.problem: str | None = None      # why confirming is not possible right now
        self.queued: list[QueueEntry] | None = None
        self.ready = False                   # the form is mounted (keys before that are kept in `_early_keys`)
        self._build_started = False          # the form's mounting was scheduled (on the first resume)
        self._early_keys: list[tuple[str, str | None]] = []
        self._replaying = False              # keys are being replayed: moves take effect at once
        self._late_replay = False            # right after `ready`: keys still queued here are replayed as they come
        self.early_key_count = 0             # how many keys were replayed (tests, profiling)
        self._opening = OpeningHold()        # the cyclic collector waits until the form is mounted
        self._validated: tuple[object, ...] | None = None   # the form's values at the last `revalidate`
        self._value_widgets: list[Widget] | None = None    # the form's inputs and dropdowns, once it is mounted
        self._busy = False                   # queueing or storing a search (a thread): the dialog is not reused

    # -- reuse -----------------------------------------------------------------------------------

    @staticmethod
    def form_shape(row: ExperimentRow) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The form's fields for a row: (file, keys) per params file. Two rows with the same shape get the same
        widgets, so a dialog built for one can be reopened for the other with new values."""
        return tuple((file, tuple(values)) for file, values in row.params.items())

    def fits(self, row: ExperimentRow) -> bool:
        """This dialog, closed, can be reopened for `row` (see `reopen`): its form is mounted, nothing is being
        queued from it, and the row has params of the same shape."""
        return (self.ready and self not in self.app.screen_stack and not self._busy and bool(row.params)
                and self.form_shape(row) == self.form_shape(self.row))

    def reopen(self, row: ExperimentRow) -> None:
        """Show the form as a new dialog for `row` would (its values, the options at their defaults, the kept draft
        of that row if any) in the widgets already mounted. Composing and styling the ~60 widgets was most of a
        first open; pushing this dialog again only lays it out and paints it (835k -> 310k function calls)."""
        self.row = row
        self.restored = False
        self.queued = None
        self._early_keys = []
        self._late_replay = False
        self._opening = OpeningHold()
        self.query_one("#sweep-title", Label).update(assemble("Queue a sweep from ", plain(row.name)))
        fields = self.fields()
        values = [value for file_values in row.params.values() for value in file_values.values()]
        for field, value in zip(fields, values):
            field.reset_value(value)
        for name, default in OPTION_DEFAULTS.items():
            option = self.query_one(f"#{name}", Input)
            option.value = default
            option.cursor_position = len(default)
        self.query_one("#sweep-metric", Input).placeholder = self._metric_hint()
        self.query_one("#sweep-search", ChoiceField).value = "off"
        self.query_one("#sweep-direction", ChoiceField).value = "maximize"
        self.query_one("#sweep-form").scroll_home(animate=False, immediate=True)
        self._restore(self.drafts.take_for(row.key))
        if fields:
            self.set_focus(fields[0].query_one(Input), scroll_visible=False)
        self.revalidate()
        self.call_after_refresh(self._opening.release)

    def on_screen_resume(self) -> None:
        self.on_resize()      # the terminal may have changed size while the dialog was closed
        if not self._build_started:
            # the frame was just painted (Textual lays out and paints a resumed screen before this handler): build
            # the form next, not after the screen's next timed refresh (`call_after_refresh` waited ~20–30 ms for
            # it, mostly idle, and painted the frame a third time)
            self._build_started = True
            self.call_later(self._build)

    # -- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # the frame only: the form (some fifty widgets, most of the ~0.5 s the dialog took to open) is mounted right
        # after the first paint, and keys typed before it exists are kept and replayed (see `on_key`)
        with Vertical(id="sweep-dialog"):
            yield Label(assemble("Queue a sweep from ", plain(self.row.name)), id="sweep-title")
            yield Static(SWEEP_HINT, id="sweep-hint", markup=False)
            yield Static("loading params…", id="sweep-loading", markup=False)
        keys = [part for key, what in KEY_HINTS for part in ((key, "bold"), f" {what}", " · ")][:-1]
        yield Static(assemble(*keys), id="sweep-keys")     # over the dashboard's footer: this dialog's keys

    def _form(self) -> list[Widget]:
        """The form's widgets, in the dialog's order (built with constructor children: mounted, not composed)."""
        form: list[Widget] = []
        if not self.row.params:
            # a broken params.yaml / dvc.yaml is why, more often than not: say which file and line
            problems = [r for r in self.row.errors.values() if r != "file not found"]
            form.append(Static(lines("No params to sweep: " + problems[0] + "\nFix the file, then press e again.")
                               if problems else "This experiment has no params to sweep.",
                               classes="sweep-empty", markup=False))
        for file, values in self.row.params.items():
            form.append(Label(plain(file), classes="sweep-file"))
            form.extend(SweepField(file, key, value) for key, value in values.items())
        return [
            Horizontal(
                VerticalScroll(*form, id="sweep-form", can_focus=False),   # Tab goes field to field
                Vertical(Label("", id="sweep-count"), SweepPreview(id="sweep-preview"), id="sweep-side"),
                id="sweep-body"),
            Horizontal(
                Label("adaptive", classes="option-label"),
                ChoiceField(SEARCH_CHOICES, "off", id="sweep-search"),
                Label("trials", classes="option-label"),
                FormInput(placeholder=str(DEFAULT_TRIALS), id="sweep-trials", type="integer", compact=True),
                Label("metric", classes="option-label"),
                FormInput(placeholder=self._metric_hint(), id="sweep-metric", compact=True, restrict=INPUT_ALLOWED),
                ChoiceField(DIRECTIONS, "maximize", id="sweep-direction"),
                id="sweep-adaptive"),
            Horizontal(
                Label("random trials", classes="option-label"),
                BurstInput(placeholder="grid", id="sweep-random", type="integer", compact=True),
                Label("seed", classes="option-label"),
                BurstInput(placeholder="none", id="sweep-seed", type="integer", compact=True),
                Label("name prefix", classes="option-label"),
                BurstInput(placeholder="auto", id="sweep-name", compact=True, restrict=INPUT_ALLOWED),
                Label("workers", classes="option-label"),
                BurstInput(value="0", id="sweep-workers", type="integer", compact=True),
                id="sweep-options"),
            Static("", id="sweep-status", markup=False),
            Horizontal(
                FormButton("Cancel", id="sweep-cancel", compact=True),
                FormButton("Queue", id="sweep-confirm", variant="primary", disabled=True, compact=True),
                id="sweep-buttons"),
        ]

    def _metric_hint(self) -> str:
        """A metric of the row, as an example for the metric field (shown inert: it is data)."""
        for values in self.row.metrics.values():
            for key in values:
                return plain(key).plain
        return "f1"

    def on_resize(self) -> None:
        """A small terminal gets a compact form (see screens.tcss): fields one line each, a narrower preview."""
        self.set_class(self.size.width < NARROW, "-narrow")
        self.set_class(self.size.height < SHORT, "-short")

    def on_mount(self) -> None:
        self.on_resize()

    def on_unmount(self) -> None:
        self._opening.release()

    async def _build(self) -> None:
        """Mount the form under the painted frame, fill it (a kept draft), focus the first field, then replay the
        keys typed meanwhile."""
        if not self.is_attached:
            return
        loading = self.query_one("#sweep-loading")
        await self.query_one("#sweep-dialog").mount_all(self._form(), after=loading)
        await loading.remove()
        self._restore(self.drafts.take_for(self.row.key))
        fields = self.query(SweepField)
        if fields:   # at once, not on the next tick as `focus()` does: the keys replayed below go where it is
            self.set_focus(fields.first().query_one(Input))
        self.revalidate()
        self.ready = True
        self.call_after_refresh(self._opening.release)   # once the form is painted
        # keys already waiting in this screen's queue (they reached it while the form was being mounted) are
        # handled before this callback: they are replayed too, in order, after the ones kept so far
        self._late_replay = True
        self.call_later(self._end_late_replay)
        early, self._early_keys = self._early_keys, []
        self.early_key_count += len(early)
        await self._replay(early)

    async def _replay(self, keys: list[tuple[str, str | None]]) -> None:
        self._replaying = True
        try:
            await replay_keys(self.app, self, keys)
        finally:
            self._replaying = False

    def _end_late_replay(self) -> None:
        self._late_replay = False

    # -- keys before the form exists -------------------------------------------------------------

    async def on_key(self, event: events.Key) -> None:
        """Until the form is mounted no widget has focus, so every key reaches the screen: keep it for the replay
        (users type `e` and the values in one burst). One that was queued here while the form was being mounted
        is replayed as it comes."""
        if self.ready and not self._late_replay:
            return
        event.stop()
        event.prevent_default()
        if not self.ready:
            self._early_keys.append((event.key, event.character))
        else:
            self.early_key_count += 1
            await self._replay([(event.key, event.character)])

    def _move(self, forward: bool, key: str) -> None:
        if not self._replaying and (not self.ready or self._late_replay):
            # a priority binding runs as the key arrives, ahead of typed keys still queued on this screen: queue
            # the move behind them, where `on_key` keeps or replays it in arrival order
            self.post_message(events.Key(key, None))
        elif forward:
            self.app.action_focus_next()
        else:
            self.app.action_focus_previous()

    def action_next_field(self, key: str = "tab") -> None:
        self._move(True, key)

    def action_previous_field(self, key: str = "shift+tab") -> None:
        self._move(False, key)

    # -- draft -----------------------------------------------------------------------------------

    def _inputs_by_draft_key(self) -> dict[str, Input]:
        inputs = {field.draft_key: field.query_one(Input) for field in self.fields()}
        inputs.update({name: self.query_one(f"#{name}", Input) for name in OPTION_DEFAULTS})
        return inputs

    def _restore(self, draft: SweepDraft | None) -> None:
        if draft is None:
            return
        for name, widget in self._inputs_by_draft_key().items():
            if name in draft.texts:
                widget.value = draft.texts[name]
        self.restored = True

    def is_filled(self) -> bool:
        """Something typed that closing would lose: a changed field or an option off its default."""
        return any(f.changed for f in self.fields()) or any(
            self.query_one(f"#{name}", Input).value.strip() != default for name, default in OPTION_DEFAULTS.items())

    def _keep_draft(self) -> bool:
        """Remember a filled form in the dashboard's slot (True), or forget the slot's draft for this row."""
        if self.queued is not None or not self.is_filled():
            if self.drafts.take_for(self.row.key) is not None:
                self.drafts.draft = None
            return False
        texts = {name: widget.value for name, widget in self._inputs_by_draft_key().items()}
        self.drafts.draft = SweepDraft(self.row.key, texts)
        return True

    # -- validation ------------------------------------------------------------------------------

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self._revalidate_if_changed()

    @on(ChoiceField.Changed)
    def _choice_changed(self, event: ChoiceField.Changed) -> None:
        self._revalidate_if_changed()

    def _form_state(self) -> tuple[object, ...]:
        # the inputs and dropdowns are fixed once the form is mounted (a reopen keeps them): listed once, not
        # found by a selector query over the dialog's ~60 widgets on each of the ~10 Changed events of an open
        widgets = self._value_widgets
        if widgets is None:
            widgets = list(self.query("Input, ChoiceField"))
            if self.ready:
                self._value_widgets = widgets
        return tuple(widget.value for widget in widgets)   # type: ignore[attr-defined]

    def _revalidate_if_changed(self) -> None:
        """Mounting the form posts a Changed event per input and dropdown (their first values): each re-parsed the
        whole form and rebuilt the preview, several times per open for nothing. Only a real change does now."""
        if self._form_state() != self._validated:
            self.revalidate()

    def search_options(self) -> tuple[str, int, str, str] | None:
        """(sampler, trials, metric, direction) when "adaptive" is on, else None; ValueError for a bad trials."""
        sampler = self.query_one("#sweep-search", ChoiceField).value
        if sampler == "off":
            return None
        trials = _int_or_none(self.query_one("#sweep-trials", Input).value, "trials", 1) or DEFAULT_TRIALS
        metric = self.query_one("#sweep-metric", Input).value.strip()
        direction = self.query_one("#sweep-direction", ChoiceField).value
        return sampler, trials, metric, direction

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        """Enter moves on to the next input, as in a form; on the last input it queues (it never lands on Cancel,
        where a second Enter would throw the form away)."""
        event.stop()
        if event.input is list(self.query(Input))[-1]:
            self.action_queue()
        else:
            self.focus_next(Input)

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
        self._validated = self._form_state()
        field_ok = [f.validate_text() for f in self.fields()]
        self.problem = None
        self.trial_count = 0
        preview: Sequence[Trial] = []
        search = None
        try:
            random_n, seed, _name, _workers = self._options()
            search = self.search_options()
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
                elif search is not None:
                    if random_n is not None:
                        self.problem = "random trials and adaptive search are two kinds of sweep: clear one"
                    elif not is_sweep(parsed):
                        self.problem = "adaptive: make at least one value a range, a list or a distribution"
                    elif not search[2]:
                        self.problem = f"adaptive: name the metric to {search[3]} (e.g. {self._metric_hint()})"
                    self.trial_count = search[1]
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
                if not is_sweep(parsed) and random_n is None and search is None and self.problem is None:
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
        adaptive = self._adaptive_on()
        if adaptive:
            count_label.update(f"{n} adaptive trials (each proposed from the results so far)")
        else:
            count_label.update(f"{n} {noun}" + ("" if len(self.trials) >= n else f" (showing {len(self.trials)})"))
        status = self.query_one("#sweep-status", Static)
        status.update(lines(self.problem or self._summary()))     # quotes keys and values: text, never markup
        status.set_class(self.problem is not None, "-error")
        button = self.query_one("#sweep-confirm", Button)
        button.disabled = self.problem is not None or n == 0
        button.label = (f"Search {n} trials" if adaptive
                        else f"Queue {n} {noun}" + ("  (large!)" if n > LARGE_SWEEP else ""))
        button.variant = "warning" if n > LARGE_SWEEP and not adaptive else "primary"

    def _adaptive_on(self) -> bool:
        return self.query_one("#sweep-search", ChoiceField).value != "off"

    def _summary(self) -> str:
        """The swept `-S` arguments, and how many other params are pinned to the experiment's values."""
        changed = {f.as_override() for f in self.fields() if f.changed}
        swept = "  ".join(f"-S '{o}'" for o in self.overrides if o in changed)
        pinned = len(self.overrides) - len(changed)
        search = self.search_options() if self._adaptive_on() else None
        how = f"  {search[0]}: {search[3]} {search[2]}" if search is not None else ""
        return swept + how + (f"  (+{pinned} params pinned to {self.row.name}'s values)" if pinned else "")

    # -- actions ---------------------------------------------------------------------------------

    @on(Button.Pressed, "#sweep-cancel")
    def action_cancel(self) -> None:
        if self._keep_draft():
            notify(self.app, "sweep discarded, not queued: press e on the same row to get the form back")
        self.dismiss(None)

    @on(Button.Pressed, "#sweep-confirm")
    def action_queue(self) -> None:
        self.revalidate()
        if self.problem is not None or self.trial_count == 0:
            notify(self, self.problem or "nothing to queue", severity="error")
            return
        if self._adaptive_on():
            self._start_search()
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
        self._busy = True
        self._enqueue(list(self.overrides), random_n, seed, name or None, workers)

    def _start_search(self) -> None:
        _random_n, seed, name, workers = self._options()
        search = self.search_options()
        assert search is not None  # adaptive is on and the form validated
        self.query_one("#sweep-confirm", Button).disabled = True
        self.query_one("#sweep-status", Static).update(plain(f"storing the search ({search[1]} trials)…"))
        self._busy = True
        self._create_search(list(self.overrides), search, seed, name or None, workers)

    @work(thread=True, exclusive=True, group="sweep-enqueue")
    def _create_search(self, overrides: list[str], search: tuple[str, int, str, str], seed: int | None,
                       name: str | None, workers: int) -> None:
        queue = self.project.queue
        sampler, trials, metric, direction = search
        try:
            spec = queue.create_search(overrides, sampler=sampler, trials=trials, metric=metric,
                                       direction=direction, seed=seed, name=name)
        except Exception as exc:  # noqa: BLE001 - ExptuiError/FormatError: one line, nothing stored
            self.app.call_from_thread(self._failed, str(exc))
            return
        started = "; start workers to run it (Q, s)"
        if workers > 0:
            try:
                queue.start_feeder(workers)
                exptui_app(self.app).workers_started_here = True
                started = f", running at most {workers} at once"
            except Exception as exc:  # noqa: BLE001 - the search is stored; say why it did not start
                started = f"; not started: {exc}"
        self.app.call_from_thread(self._done, [], f"search {spec.name}: {trials} trials{started}")

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
        label = entries[0].sweep_label if entries else None
        as_sweep = f" as sweep {label}" if label else ""
        self.app.call_from_thread(self._done, entries,
                                  f"queued {len(entries)} experiment{'s' if len(entries) != 1 else ''}{as_sweep}{started}")

    def _failed(self, message: str) -> None:
        self._busy = False
        if not alive(self):
            return
        self.problem = message
        status = self.query_one("#sweep-status", Static)
        status.update(lines(message))
        status.add_class("-error")
        self.query_one("#sweep-confirm", Button).disabled = False

    def _done(self, entries: list[QueueEntry], message: str) -> None:
        self._busy = False
        self.queued = entries
        self._keep_draft()          # queued: the draft for this row is spent
        notify(self.app, message)
        if alive(self):             # not when the app is closing meanwhile: nothing left to dismiss
            self.dismiss(entries)
