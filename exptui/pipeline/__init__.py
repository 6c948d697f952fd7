"""DVC-compatible pipeline engine: stage DAG, stat-cached hashing, content and run caches, stage runner.

Modules: dag (graph, order, targets, drawings), state (hash cache), cache (DVC 3 content cache),
runcache (DVC run cache), status (what changed and why), proc (run one command as an owned
process group), repro (bring stages up to date). Nothing here imports pandas, textual or git libs.
"""
