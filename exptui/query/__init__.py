"""Headless table model shared by the CLI (`exptui show/diff`) and the TUI.

It works on ``list[ExperimentRow]`` and knows nothing of git:

- :mod:`exptui.query.columns`   column ids ``params:<file>:<key>``, labels, grouping, cell values;
- :mod:`exptui.query.format`    cell text (``.5g`` numbers, ``-`` missing, ``!`` error, times, durations);
- :mod:`exptui.query.direction` lower/higher-is-better per metric and deltas against a baseline;
- :mod:`exptui.query.filter`    the filter language (tokenizer + recursive descent, never eval);
- :mod:`exptui.query.sort`      multi-key sort within baseline groups or as a flat leaderboard;
- :mod:`exptui.query.table`     TableModel: filter/sort/only-changed/keep/drop + json/csv/md/text output;
- :mod:`exptui.query.compare`   transposed compare view and two-experiment diff.

Submodules are not imported here on purpose: ``exptui show --json`` imports only what it
uses, and nothing in this package imports pandas unless ``to_dataframe()`` is called.
"""
