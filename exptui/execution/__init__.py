"""Running queued experiments: the executor interface, the local worker pool, the isolated runner.

- :mod:`exptui.execution.queue_manager` `QueueManager`, what `project.queue` is (enqueue, start, stop, kill...);
- :mod:`exptui.execution.worker`        the worker process loop (``python -m exptui.execution.worker``);
- :mod:`exptui.execution.isolated`      `run_isolated`: one experiment in a shared clone, recorded in refs/exps;
- :mod:`exptui.execution.runner`        capped logs and the pipeline run with tagged stage processes;
- :mod:`exptui.execution.executor`      the `Executor` interface and `LocalProcessExecutor`;
- :mod:`exptui.execution.recovery`      crashed-worker detection and cleanup; `doctor` builds on it;
- :mod:`exptui.execution.search`        adaptive search: the stored spec, the Optuna space, trials as entries;
- :mod:`exptui.execution.search_feeder` proposes trials as slots free, tells results, prunes (a loop/process);
- :mod:`exptui.execution.live_metrics`  the DVCLive files of a running trial (`read_live_metrics`).

Submodules are imported on use; importing this package costs nothing.
"""
