"""On-disk forms for the experiment index, compared on the same entries (how `index_segments` was chosen).

    .venv/bin/python benchmarks/bench_index_store.py [--n 10000 100000] [--repeat 3]

Entries are shaped like `bench_show.py`'s experiments (a params.yaml of 6 keys, a metrics.json of 4, commit
fields, the pre-encoded `show --json` pieces). For each form, CPU time of this process (best of --repeat), in ms:

  json cols   what a warm `show --json` needs: commit ids, times and the JSON pieces of every entry
  all data    every entry's full extraction unpickled (what the dashboard's rows need)
  one entry   one entry's data (a baseline's dvc.yaml paths)
  add one     store one new entry after a listing found it
  size        bytes on disk

Forms: `pickle` (before: one whole-history pickle, rewritten on every change), `segments` (now: append-only
segment files of checksummed columns, `exptui.store.index_segments`), `sqlite` (one table, a column per kind,
one pickled blob per entry's data, the JSON pieces as text).
"""
from __future__ import annotations

import argparse
import pickle
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exptui.store.index_segments import (  # noqa: E402
    Entries, encode, list_segments, load_list, read_header, write_segment,
)


def entries(n: int) -> list[tuple[str, dict, tuple[str, str]]]:
    from exptui.store.index import _commit_fragments

    rng = random.Random(n)
    out = []
    for i in range(n):
        sha = f"{rng.getrandbits(160):040x}"
        data = {
            "tree": f"{rng.getrandbits(160):040x}", "parents": [f"{rng.getrandbits(160):040x}"],
            "time": 1700000000 + i, "message": f"dvc: commit experiment {rng.getrandbits(256):064x}",
            "params": {"params.yaml": {"train.lr": rng.choice([0.001, 0.01, 0.1]),
                                       "train.n_estimators": rng.randint(10, 500), "train.max_depth": rng.randint(2, 12),
                                       "train.subsample": round(rng.uniform(0.5, 1), 3),
                                       "train.model": rng.choice(["lgbm", "rf"]), "seed": rng.randint(0, 10**6)}},
            "metrics": {"metrics.json": {"auc": rng.random(), "f1": rng.random(), "loss": rng.random(),
                                         "test.acc": rng.random()}},
            "errors": {}, "metric_files": ("metrics.json",), "facts": None, "status": None,
        }
        out.append((sha, data, _commit_fragments(sha, data)))
    return out


def best(fn, repeat: int) -> float:
    """Best CPU time of `repeat` calls, the cyclic collector paused as the index pauses it."""
    import gc

    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        start = time.process_time()
        try:
            fn()
        finally:
            times.append(time.process_time() - start)
            gc.enable()
    return min(times) * 1000


def bench_pickle(d: Path, items, repeat: int) -> dict[str, float]:
    path = d / "commits.pickle"
    commits = {sha: {**data, "json": frags} for sha, data, frags in items}
    path.write_bytes(pickle.dumps({"commits": commits}, protocol=pickle.HIGHEST_PROTOCOL))

    def load():
        return pickle.loads(path.read_bytes())["commits"]

    def json_cols():
        c = load()
        return [(s, e["time"], e["json"]) for s, e in c.items()]

    def add_one():
        c = load()
        c["f" * 40] = dict(items[0][1])
        path.write_bytes(pickle.dumps({"commits": c}, protocol=pickle.HIGHEST_PROTOCOL))

    return {"json cols": best(json_cols, repeat), "all data": best(load, repeat),
            "one entry": best(lambda: load()[items[0][0]], repeat), "add one": best(add_one, 1),
            "size": path.stat().st_size}


def bench_segments(d: Path, items, repeat: int) -> dict[str, float]:
    shas = [s for s, _d, _f in items]
    payload = encode((1,), shas, [data["time"] for _s, data, _f in items], [f for _s, _d, f in items],
                     [pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL) for _s, data, _f in items])
    write_segment(d, 1, payload)

    def segs():
        return [read_header(p, i) for i, p in enumerate(list_segments(d))]

    def json_cols():
        out = []
        for seg in segs():
            out.extend(zip(load_list(seg, "sha"), load_list(seg, "time"), load_list(seg, "json")))
            seg.close()
        return out

    def all_data():
        out = {}
        for seg in segs():
            e = Entries(seg)
            for i, sha in enumerate(load_list(seg, "sha")):
                out[sha] = e.get(i)
            seg.close()
        return out

    def one_entry():
        seg = segs()[0]
        loc = {sha: i for i, sha in enumerate(load_list(seg, "sha"))}
        Entries(seg).get(loc[items[0][0]])
        seg.close()

    def add_one():
        data = items[0][1]
        write_segment(d, 2, encode((1,), ["f" * 40], [data["time"]], [items[0][2]],
                                   [pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)]))

    result = {"json cols": best(json_cols, repeat), "all data": best(all_data, repeat),
              "one entry": best(one_entry, repeat), "add one": best(add_one, 1)}
    result["size"] = sum(p.stat().st_size for p in list_segments(d))
    return result


def bench_sqlite(d: Path, items, repeat: int) -> dict[str, float]:
    path = d / "index.sqlite"
    con = sqlite3.connect(path)
    con.execute("create table commits (sha text primary key, time real, json_a text, json_f text, data blob)")
    con.executemany("insert into commits values (?, ?, ?, ?, ?)",
                    [(s, data["time"], f[0], f[1], pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
                     for s, data, f in items])
    con.commit()
    con.close()

    def json_cols():
        c = sqlite3.connect(path)
        out = c.execute("select sha, time, json_a, json_f from commits").fetchall()
        c.close()
        return out

    def all_data():
        c = sqlite3.connect(path)
        out = {s: pickle.loads(b) for s, b in c.execute("select sha, data from commits")}
        c.close()
        return out

    def one_entry():
        c = sqlite3.connect(path)
        pickle.loads(c.execute("select data from commits where sha = ?", (items[0][0],)).fetchone()[0])
        c.close()

    def add_one():
        c = sqlite3.connect(path)
        c.execute("insert or replace into commits values (?, ?, ?, ?, ?)",
                  ("f" * 40, 0, "", "", pickle.dumps(items[0][1])))
        c.commit()
        c.close()

    return {"json cols": best(json_cols, repeat), "all data": best(all_data, repeat),
            "one entry": best(one_entry, repeat), "add one": best(add_one, 1), "size": path.stat().st_size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[10000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print("| N | form | json cols | all data | one entry | add one | size |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n in args.n:
        items = entries(n)
        for name, fn in (("pickle", bench_pickle), ("segments", bench_segments), ("sqlite", bench_sqlite)):
            d = Path(tempfile.mkdtemp(prefix="bench-index-"))
            try:
                r = fn(d, items, args.repeat)
            finally:
                shutil.rmtree(d, ignore_errors=True)
            print(f"| {n:,} | {name} | {r['json cols']:.0f} ms | {r['all data']:.0f} ms | {r['one entry']:.1f} ms | "
                  f"{r['add one']:.0f} ms | {r['size'] / 2**20:.1f} MiB |", flush=True)


if __name__ == "__main__":
    main()
