"""What the Pilot tests share: run an async test, wait on the real condition a step stands for, record toasts.

A fixed `pilot.pause(0.3)` is a guess: on a loaded 2-core CI machine it may be too short (the assertion then checks
a screen that has not settled, or a snapshot differs) and on an idle one it is wasted time. `wait_for` polls the
condition itself instead; its bound (`WAIT_TIMEOUT`, 2 minutes) only matters when something is really stuck, and
the failure names what was awaited.
"""
from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from typing import Any

WAIT_TIMEOUT = 120.0    # a worker on a loaded CI machine took more than 10 s; only a stuck test reaches this
POLL = 0.05             # between two looks at the condition the app runs (a poll-until, not a settle delay)


def async_test(fn: Callable[..., Any]) -> Callable[..., None]:
    """Run an async Pilot test on a fresh event loop (no pytest-asyncio dependency)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper


def describe(predicate: Callable[[], object]) -> str:
    """The predicate's source line (a lambda names its condition well enough), else its name."""
    try:
        return inspect.getsource(predicate).strip()
    except (OSError, TypeError):
        return getattr(predicate, "__qualname__", repr(predicate))


async def wait_for(pilot: Any, predicate: Callable[[], object], what: str | None = None,
                   timeout: float = WAIT_TIMEOUT) -> None:
    """Let the app run until `predicate()` holds; an AssertionError naming `what` (or the predicate) after
    `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"not reached in {timeout:g} s: {what or describe(predicate)}")
        await pilot.pause(POLL)


async def settled(pilot: Any, predicate: Callable[[], object], what: str | None = None,
                  timeout: float = WAIT_TIMEOUT) -> None:
    """`wait_for`, then until the message queues are idle: what the condition set off is drawn."""
    await wait_for(pilot, predicate, what, timeout)
    await pilot.pause()


# workers that poll for as long as their screen is open (the dashboard's live refresh, the queue view's table, the
# log view's tail): they never finish while a test looks at that screen
LIFETIME_GROUPS = ("poll", "queue-poll", "log-tail")


def workers_idle(app: Any, ignore: tuple[str, ...] = LIFETIME_GROUPS) -> bool:
    """No worker of the app or its screens is pending or running (a reload, a load, an action, a completion),
    but the pollers in `ignore`."""
    return all(worker.is_finished for worker in app.workers if worker.group not in ignore)


async def loaded(app: Any, pilot: Any) -> Any:
    """The main table once the first reload has reached it and been drawn."""
    await settled(pilot, lambda: app.reloads > 0, "the first reload of the dashboard's rows")
    return app.main.table


def notifications(app: Any) -> list[str]:
    """The messages of the app's live notifications: the toasts a terminal shows (`run_test` draws none)."""
    return [str(notification.message) for notification in app._notifications]


def record_notifications(app: Any) -> list[str]:
    """Every message the app is asked to show from now on, kept past the toast's timeout (no wall-clock race in
    the asserts); the notifications are still shown as usual."""
    shown: list[str] = []
    notify = app.notify

    def recording(message: Any, *args: Any, **kwargs: Any) -> None:
        shown.append(str(message))
        notify(message, *args, **kwargs)

    app.notify = recording
    return shown
