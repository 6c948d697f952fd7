"""Everything durable exptui keeps, kept in git: experiment refs, run facts, annotations, queue entries.

- :mod:`exptui.store.git`          the git CLI: cat-file batch reader, for-each-ref, update-ref transactions;
- :mod:`exptui.store.experiments`  record an experiment (commit + create-only ref in DVC's layout);
- :mod:`exptui.store.index`        list experiments with params/metrics (per-commit cache in .git/exptui);
- :mod:`exptui.store.facts`        run facts as commit trailers;
- :mod:`exptui.store.annotations`  stars/labels/notes in git notes, compare-and-swap.

Submodules are imported on use; importing this package costs nothing.
"""
