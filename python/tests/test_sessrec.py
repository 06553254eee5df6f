"""The Python package against the library and the CLI: the same inputs give the
same splits, models, metrics and recommendations through both."""
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pandas as pd
import pytest

import sessrec
from conftest import ROOT, run

TINY = "n_epochs=1,layers=32,batch_size=32,n_sample=64"


def split_frames_equal(a, b):
    pd.testing.assert_frame_equal(a.to_dataframe(), b.to_dataframe())


def test_library_is_the_built_one():
    assert os.path.basename(sessrec._lib.lib_path).startswith("libsessrec.so")
    assert sessrec._lib.sr_status_name(4) == b"bad argument"


def test_algorithm_table():
    algos = sessrec.algorithms()
    assert list(algos) == ["gru4rec", "pop", "spop", "iknn", "ar", "sr", "sknn", "vsknn", "stan"]
    g = algos["gru4rec"]
    assert {"rsc15", "tutorial"} <= set(g["presets"])
    names = {p["name"] for p in g["params"]}
    assert {"layers", "loss", "n_epochs", "learning_rate"} <= names
    sr = {p["name"]: p for p in algos["sr"]["params"]}
    assert sr["weighting"]["type"] == "choice" and "div" in sr["weighting"]["choices"]
    assert sr["steps"]["type"] == "int" and sr["steps"]["default"] == "10"


def test_read_log_options_and_report(raw_clicks):
    log = sessrec.read_log(raw_clicks, nrows=100)
    assert len(log) == 100 and log.report["format"] == "yoochoose"
    df = log.to_dataframe()
    assert list(df.columns) == ["SessionId", "ItemId", "Time"]
    assert df["ItemId"].iloc[0] == 214536502
    assert str(df["Time"].iloc[0]) == "2014-04-07 10:51:09.277000+00:00"


def test_prepare_matches_cli(raw_clicks, sessrec_bin, tmp_path):
    opts = dict(nrows=950, min_item_support=3, test_days=1, valid_days=1, dedup=True)
    py = sessrec.prepare(raw_clicks, **opts)
    out = tmp_path / "cli"
    r = run([sessrec_bin, "prepare", raw_clicks, "-o", str(out), "--nrows", "950",
             "--min-item-support", "3", "--test-days", "1", "--valid-days", "1", "--dedup"])
    assert r.returncode == 0, r.stderr
    for name in ("train_full", "test", "train", "valid"):
        split_frames_equal(getattr(py, name), sessrec.open_split(str(out / (name + ".split"))))
    assert len(py.train) + len(py.valid) <= len(py.train_full) and len(py.valid) > 0


def test_dataframe_in_memory_equals_file(small):
    # pandas' default float parser is off by an ulp now and then; the
    # library's reader is exact, and so is round_trip
    df = pd.read_csv(small["tsv"], sep="\t", float_precision="round_trip")
    from_df = sessrec.prepare(df, test_days=1)
    from_file = small["prep"]
    for name in ("train_full", "test"):
        split_frames_equal(getattr(from_df, name), getattr(from_file, name))
    # the tutorial's datetime column (tz-aware) and other column names
    us = np.round(df["Time"].to_numpy() * 1e6).astype(np.int64)
    df2 = pd.DataFrame({"sid": df["SessionId"], "iid": df["ItemId"],
                        "ts": pd.to_datetime(us, unit="us", utc=True)})
    from_dt = sessrec.prepare(df2, test_days=1, session_key="sid", item_key="iid", time_key="ts")
    split_frames_equal(from_dt.train_full, from_file.train_full)
    split_frames_equal(from_dt.test, from_file.test)


def test_dataframe_errors():
    with pytest.raises(KeyError, match="no column 'ItemId'"):
        sessrec.log_from_dataframe(pd.DataFrame({"SessionId": [1], "Time": [1.0]}))
    with pytest.raises(TypeError, match="item ids must be integers"):
        sessrec.log_from_dataframe(pd.DataFrame({"SessionId": [1], "ItemId": ["a"], "Time": [1.0]}))
    with pytest.raises(sessrec.SessrecError, match="empty"):
        sessrec.prepare(pd.DataFrame({"SessionId": [], "ItemId": [], "Time": []}))


def test_errors_carry_the_library_message(tmp_path):
    missing = str(tmp_path / "nope.dat")
    with pytest.raises(sessrec.SessrecError) as e:
        sessrec.read_log(missing)
    assert missing in str(e.value) and e.value.status == "SR_ERR_IO"
    bad = tmp_path / "bad.dat"
    bad.write_text("1,2014-04-07T10:51:09.277Z,214536502,0\n1,2014-13-07T10:51:09.277Z,5,0\n")
    with pytest.raises(sessrec.SessrecError, match=r"bad\.dat:2:") as e:
        sessrec.read_log(str(bad))
    assert e.value.status == "SR_ERR_PARSE"
    with pytest.raises(sessrec.SessrecError, match="nope"):
        sessrec.read_log(str(bad), format="nope")
    split = sessrec.open_split(pd.DataFrame({"SessionId": [1, 1], "ItemId": [5, 6], "Time": [1, 2]}))
    with pytest.raises(sessrec.SessrecError, match="knn9"):
        sessrec.train(split, algo="knn9")
    with pytest.raises(sessrec.SessrecError, match="bogus"):
        sessrec.train(split, algo="sr", params={"bogus": 1})
    with pytest.raises(sessrec.SessrecError, match="nope"):
        sessrec.train(split, preset="nope")
    m = sessrec.train(split, algo="pop")
    with pytest.raises(sessrec.SessrecError, match="sideways"):
        m.evaluate(split, ties="sideways")
    with pytest.raises(sessrec.SessrecError) as e:
        sessrec.load_model(str(bad))
    assert "bad.dat" in str(e.value)


def test_params_dict_string_and_preset_agree(small, tmp_path):
    tr = small["prep"].train_full
    a = sessrec.train(tr, params=TINY + ",constrained_embedding=True,dropout_p_hidden=0.25",
                      seed=3, threads=1)
    b = sessrec.train(tr, params={"n_epochs": 1, "layers": [32], "batch_size": 32, "n_sample": 64,
                                  "constrained_embedding": True, "dropout_p_hidden": 0.25},
                      seed=3, threads=1)
    a.save(str(tmp_path / "a.srm"))
    b.save(str(tmp_path / "b.srm"))
    assert (tmp_path / "a.srm").read_bytes() == (tmp_path / "b.srm").read_bytes()
    assert sessrec.parse_params({"layers": [100, 100], "x": False, "y": 0.5}) == \
        "layers=100/100,x=False,y=0.5"
    pr = sessrec.train(tr, algo="sr", preset="rsc15")
    sp = sessrec.train(tr, algo="sr", params=sessrec.algorithms()["sr"]["presets"]["rsc15"])
    assert _metrics_no_time(pr.evaluate(small["prep"].test)) == \
        _metrics_no_time(sp.evaluate(small["prep"].test))


def _metrics_no_time(d):
    return {k: v for k, v in d.items() if k != "seconds"}


@pytest.mark.parametrize("algo", ["gru4rec", "sr", "vsknn"])
def test_model_files_and_metrics_match_cli(small, sessrec_bin, tmp_path, algo):
    params = TINY if algo == "gru4rec" else None
    m = sessrec.train(small["train"], algo=algo, params=params, threads=1, seed=1)
    path = str(tmp_path / "m.srm")
    m.save(path)
    # the CLI trains the same file
    cmd = [sessrec_bin, "train", small["train"], "-o", str(tmp_path / "cli.srm"), "--algo", algo,
           "--threads", "1", "-q"]
    if params:
        cmd += ["-p", params, "--seed", "1"]
    elif algo == "vsknn":
        cmd += ["-p", "seed=1"]  # the CLI's --seed is gru4rec's; train(seed=) any algorithm's
    r = run(cmd)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "cli.srm").read_bytes() == open(path, "rb").read()
    # and measures the same
    for ties in ("conservative", "standard", "median"):
        r = run([sessrec_bin, "eval", path, small["test"], "--json", "--ties", ties,
                 "--cutoffs", "5,20"])
        assert r.returncode == 0, r.stderr
        cli = json.loads(r.stdout)
        py = sessrec.load_model(path).evaluate(small["test"], cutoffs=[5, 20], ties=ties)
        assert [row["cutoff"] for row in cli["metrics"]] == [5, 20]
        for row in cli["metrics"]:
            for metric in ("recall", "mrr", "ndcg"):
                assert py["%s@%d" % (metric, row["cutoff"])] == pytest.approx(row[metric], abs=1e-9)
        assert py["n_predictions"] == cli["n_predictions"] > 100
    loaded = sessrec.load_model(path)
    assert loaded.algo == algo and loaded.n_items == m.n_items
    np.testing.assert_array_equal(loaded.item_ids, m.item_ids)


def test_evaluate_cutoffs_and_ties(small):
    m = sessrec.train(small["train"], algo="pop")
    d = m.evaluate(small["test"], cutoffs=[1, 5, 20], ties="standard")
    assert set(d) >= {"recall@1", "mrr@1", "ndcg@1", "recall@5", "recall@20", "n_predictions"}
    assert d["recall@1"] <= d["recall@5"] <= d["recall@20"]
    assert d["mrr@1"] == d["recall@1"]
    # pop scores ties nowhere among the top items, so the tie modes agree there
    c = m.evaluate(small["test"], cutoffs=[20], ties="conservative")
    assert c["recall@20"] <= d["recall@20"]


def test_recommend_matches_cli_and_sessions(small, sessrec_bin, tmp_path):
    m = sessrec.train(small["train"], params=TINY, seed=2, threads=1)
    path = str(tmp_path / "m.srm")
    m.save(path)
    df = small["prep"].test.to_dataframe()
    sessions = [list(g["ItemId"]) for _, g in df.groupby("SessionId", sort=False)][:40]
    sessions.append([1, 2])            # items the model does not know
    sessions.append([])
    ids, scores = m.recommend(sessions, k=5, batch_size=7)
    assert ids.shape == (42, 5) and ids.dtype == np.int64 and scores.dtype == np.float32
    assert (ids[-2:] == -1).all() and np.isnan(scores[-2:]).all()
    stdin = "\n".join(" ".join(map(str, s)) for s in sessions[:40]) + "\n"
    r = run([sessrec_bin, "recommend", path, "--stdin", "--json", "-k", "5"], input=stdin)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    assert len(lines) == 40
    for row, sc, line in zip(ids[:40], scores, lines):
        assert [r["item"] for r in line["recommendations"]] == row.tolist()
        np.testing.assert_allclose([r["score"] for r in line["recommendations"]], sc, rtol=1e-6)
    # a live session after the same clicks ranks the same
    for s, row, sc in zip(sessions[:10], ids, scores):
        live = m.session()
        for item in s:
            assert live.click(item)
        i2, s2 = live.recommend(5)
        np.testing.assert_array_equal(i2, row)
        np.testing.assert_allclose(s2, sc, rtol=1e-5, atol=1e-6)
    live = m.session()
    # an empty session: the model's answer for the zero state
    empty = live.recommend(5)[0]
    assert empty.size == 5 and (empty >= 0).all()
    assert not live.click(1)
    live.click(sessions[0][0])
    ex, _ = live.recommend(m.n_items, exclude_seen=True)
    assert sessions[0][0] not in set(ex.tolist()) and len(ex) == m.n_items - 1
    # a session survives as bytes
    twin = m.restore_session(live.to_bytes())
    np.testing.assert_array_equal(twin.scores(), live.scores())
    with pytest.raises(sessrec.SessrecError):
        m.restore_session(b"junk")
    # sessions of one model on several threads at once
    results = {}

    def serve(i):
        s = m.session()
        for item in sessions[i]:
            s.click(item)
        results[i] = s.recommend(5)[0]

    threads = [threading.Thread(target=serve, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(8):
        np.testing.assert_array_equal(results[i], ids[i])


def test_epoch_callback_and_validation(small):
    prep = sessrec.prepare(small["df"], test_days=1, valid_days=1)
    seen = []
    m = sessrec.train(prep.train, params=TINY.replace("n_epochs=1", "n_epochs=3"),
                      valid=prep.valid, cutoff=10, callback=seen.append, threads=1, seed=1)
    assert [e["epoch"] for e in seen] == [1, 2, 3]
    assert all(0 < e["recall"] <= 1 and 0 < e["mrr"] <= e["recall"] for e in seen)
    # the callback's last validation is what evaluate says of the model
    last = m.evaluate(prep.valid, cutoffs=[10])
    assert last["recall@10"] == pytest.approx(seen[-1]["recall"], abs=1e-12)
    progress = []
    sessrec.train(prep.train, params=TINY, progress=lambda d, t, loss: progress.append((d, t)),
                  threads=1)
    assert progress and all(0 <= d <= t for d, t in progress)


def test_stop_from_callback_and_early_stopping(small):
    tr = small["prep"].train_full
    spec = TINY.replace("n_epochs=1", "n_epochs=4")
    if not sessrec.HAVE_TRAIN_CONTROLS:
        with pytest.warns(RuntimeWarning, match="cannot stop training early"):
            m = sessrec.train(tr, params=spec, callback=lambda e: e["epoch"] == 1, threads=1)
        assert m.epochs_run == 4
        with pytest.raises(sessrec.SessrecError, match="training controls"):
            sessrec.train(tr, params=spec, valid=small["prep"].test, patience=1)
        return
    m = sessrec.train(tr, params=spec, callback=lambda e: e["epoch"] == 2, threads=1)
    assert m.epochs_run == 2
    seen = []
    sessrec.train(tr, params=spec.replace("n_epochs=4", "n_epochs=30"), valid=small["prep"].test,
                  patience=1, callback=seen.append, threads=1)
    assert len(seen) < 30 and seen[-1]["since_best"] == 1


def test_ctrl_c_stops_training(small, tmp_path):
    """SIGINT during training: training stops (after the current epoch where the
    library has training controls) and KeyboardInterrupt reaches the caller."""
    script = tmp_path / "interrupt.py"
    script.write_text(textwrap.dedent("""
        import os, signal, sys
        sys.path.insert(0, %r)
        import sessrec
        # as in a program started from a terminal (a shell's background job
        # starts with SIGINT ignored, and Python then keeps it so)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        epochs = []
        def cb(e):
            epochs.append(e["epoch"])
            if e["epoch"] == 1:
                os.kill(os.getpid(), signal.SIGINT)
        try:
            sessrec.train(%r, params=%r, callback=cb, threads=1)
            print("finished", epochs)
        except KeyboardInterrupt as e:
            print("interrupted", epochs, e)
        # the handler is the default one again
        print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    """ % (os.path.join(ROOT, "python"), small["train"], TINY.replace("n_epochs=1", "n_epochs=3"))))
    r = run([sys.executable, str(script)])
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0].startswith("interrupted"), r.stdout
    if sessrec.HAVE_TRAIN_CONTROLS:
        assert out[0].startswith("interrupted [1]"), r.stdout
    else:
        assert out[0].startswith("interrupted [1, 2, 3]"), r.stdout
    assert out[1] == "True"


def test_gil_is_released_during_library_calls(small):
    """ctypes.CDLL drops the GIL for each call: the main thread keeps running
    Python while another thread is inside one long sr_train call. Were the GIL
    held, the main thread would stall for the whole call."""
    tr = sessrec.open_split(small["train"])
    spec = TINY.replace("n_epochs=1", "n_epochs=4")
    span = []

    def worker():
        t = time.perf_counter()
        sessrec.train(tr, params=spec, threads=1)   # one C call (no Python callback)
        span.append((t, time.perf_counter()))

    th = threading.Thread(target=worker)
    stamps = []
    th.start()
    while th.is_alive():
        stamps.append(time.perf_counter())
        sum(range(200))
    th.join()
    t0, t1 = span[0]
    inside = np.array([t for t in stamps if t0 <= t <= t1])
    assert t1 - t0 > 0.2, "the call was too short to tell"
    # the main thread ran throughout the call, with no stall of half its length
    gaps = np.diff(np.concatenate([[t0], inside, [t1]]))
    assert len(inside) > 10 and gaps.max() < 0.5 * (t1 - t0), (len(inside), gaps.max(), t1 - t0)


def test_split_save_and_stats(small, tmp_path, sessrec_bin):
    s = small["prep"].train_full
    p = str(tmp_path / "x.split")
    s.save(p)
    split_frames_equal(sessrec.open_split(p), s)
    st = s.stats()
    r = run([sessrec_bin, "stats", p, "--json"])
    assert r.returncode == 0, r.stderr
    text = r.stdout
    for key in ("events", "sessions", "items"):
        assert str(st[key]) in text
    assert st["events"] == len(s) and st["sessions"] == s.n_sessions


def test_pip_install_offline(tmp_path):
    """pip (Debian's) installs the package offline without build isolation;
    the installed copy runs with SESSREC_LIB pointing at the library."""
    src = tmp_path / "src"
    shutil.copytree(os.path.join(ROOT, "python"), src,
                    ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"))
    target = tmp_path / "site"
    r = run([sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-index",
             "--no-deps", "--disable-pip-version-check", "--target", str(target), str(src)])
    assert r.returncode == 0, r.stdout + r.stderr
    assert (target / "sessrec" / "spaces" / "gru4rec_xe.json").exists()
    env = dict(os.environ, PYTHONPATH=str(target), SESSREC_LIB=sessrec._lib.lib_path)
    r = run([sys.executable, "-c", "import sessrec, os; print(sessrec.__file__); "
             "print(len(sessrec.algorithms()))"], env=env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [str(target / "sessrec" / "__init__.py"), "9"]
    # without a library to find, importing says how to get one
    env = dict(os.environ, PYTHONPATH=str(target), SESSREC_LIB=str(tmp_path / "none.so"))
    r = run([sys.executable, "-c", "import sessrec"], env=env, cwd=str(tmp_path))
    assert r.returncode != 0 and "SESSREC_LIB" in r.stderr


def test_tutorial_example_runs(raw_clicks, data_dir):
    env = dict(os.environ, SR_DATA=data_dir)
    r = run([sys.executable, os.path.join(ROOT, "examples", "tutorial.py")], env=env)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "* train Set Stats Info" in out and "* test Set Stats Info" in out
    assert out.count("valid Recall@20") == 3
    line = [x for x in out.splitlines() if x.startswith("test Recall@20")][0]
    # the same numbers as the library computes for the same model, seed and data
    prep = sessrec.prepare(raw_clicks, valid_days=1)
    m = sessrec.train(prep.train, preset="tutorial", valid=prep.valid, seed=1)
    r20 = m.evaluate(prep.test, cutoffs=[20])
    assert "%.4f" % r20["recall@20"] in line and "%.4f" % r20["mrr@20"] in line


def test_text_item_ids(small, tmp_path):
    """A log whose item ids are text: splits, models and recommendations carry
    the text ids."""
    df = pd.read_csv(small["tsv"], sep="\t", float_precision="round_trip")
    df["ItemId"] = "sku-" + df["ItemId"].astype(str)
    path = tmp_path / "text.csv"
    df.to_csv(path, index=False)
    prep = sessrec.prepare(str(path), test_days=1)
    frame = prep.train_full.to_dataframe()
    assert frame["ItemId"].iloc[0].startswith("sku-")
    m = sessrec.train(prep.train_full, algo="sr")
    assert m.item_ids.dtype == object and m.item_ids[0].startswith("sku-")
    first = prep.test.to_dataframe().groupby("SessionId", sort=False)["ItemId"].apply(list)
    ids, _ = m.recommend(list(first[:3]), k=3)
    assert all(isinstance(x, str) and x.startswith("sku-") for x in ids.ravel())
    s = m.session()
    assert s.click(first.iloc[0][0]) and not s.click("sku-nope")
    np.testing.assert_array_equal(s.recommend(3)[0], m.recommend([first.iloc[0][:1]], k=3)[0][0])
    # the same clicks with integer ids rank the same items
    mi = sessrec.train(small["prep"].train_full, algo="sr")
    assert mi.evaluate(small["prep"].test, cutoffs=[20])["recall@20"] == \
        m.evaluate(prep.test, cutoffs=[20])["recall@20"]
