"""dvc_compat: a pure library for DVC 3's on-disk formats.

It reads and writes `dvc.yaml`, `dvc.lock`, params files, `.dvc` files, cache
layout and experiment ref names exactly as DVC 3 does, so that repositories
made by exptui are repositories DVC understands, and the other way round.
Each claim of sameness is checked against the real dvc in
tests/test_dvc_compat_realdvc.py (and hydra-core / ruamel / dvc-data parity
tests in the per-module test files).

Modules (one job each):

* `yamlio`       fast safe YAML (libyaml C loader, YAML 1.2 scalars as DVC's ruamel), errors with file:line,
                 round-trip helpers configured as DVC's writer;
* `params`       params files by extension (.yaml/.json/.toml/.py), dotted keys, ``-S`` edits that write what
                 ``dvc exp run -S`` writes;
* `hydra_values` ``-S`` value typing exactly as Hydra's grammar;
* `sweep`        ``[file:]key=value`` overrides, grids (``a,b``, ``range``, ``choice``) and random search;
* `dvcyaml`      dvc.yaml: vars, ``${}``, foreach/matrix, validation -> `model.StageSpec`;
* `stage_shape`  the types DVC's schema requires of a stage before ``${}`` is interpolated;
* `remote_deps`  remote deps (``s3://``...) and the DVC plugin each needs;
* `lockfile`     dvc.lock read/write, byte-identical to DVC;
* `dotdvc`       ``.dvc`` files from ``dvc add``;
* `hashing`      file md5, ``.dir`` manifests, legacy md5-dos2unix;
* `cache_layout` object paths and run-cache key/value;
* `config`       ``.dvc/config`` (+ local), ``dvc init`` files;
* `ref_names`   DVC's experiment ref namespace alone (no imports: a process's first step names it);
* `exp_refs`     ``refs/exps/...`` names, generated names, exp_hash, commit and queue messages;
* `plots`        plots files a dvc.yaml declares (x/y/title) and the records in plots data files.

It never imports `exptui` (a test enforces this): the format knowledge lives
in one place and can be reused or tested on its own.
"""
