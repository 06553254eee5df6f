"""sessrec tune: the parameter-space reader, the validation carved by time, and
tiny tuning runs through the sessrec program (Optuna, SQLite, resume)."""
import argparse
import json
import os
import re
import sqlite3

import numpy as np
import pytest

import sessrec
from sessrec import tune
from conftest import run

OFFICIAL = (
    '{"name":"layers", "dtype":"int", "values":[16,48], "step":16}\n'
    '{"name":"learning_rate", "dtype":"float", "values":[0.01, 0.25], "step":0.005}\n'
    '{"name":"momentum", "dtype":"float", "values":[0.0, 0.9], "step":0.05}\n'
    '{"name":"final_act", "dtype":"categorical", "values":["elu-0.5", "elu-1", "linear"]}\n')


def test_space_files(tmp_path):
    f = tmp_path / "space.json"
    f.write_text(OFFICIAL)
    space, path = tune.read_space(str(f))
    assert [p.name for p in space] == ["layers", "learning_rate", "momentum", "final_act"]
    assert space[0].dtype == "int" and space[0].step == 16 and space[0].values == [16, 48]
    assert space[3].values == ["elu-0.5", "elu-1", "linear"]
    # every shipped space reads and names parameters of its algorithm
    algos = sessrec.algorithms()
    for name in sorted(os.listdir(tune.SPACES)):
        sp, _ = tune.read_space(name[:-5])
        algo = name.split("_")[0][:-5] if name.startswith("gru4rec") else name[:-5]
        algo = "gru4rec" if name.startswith("gru4rec") else algo
        known = {p["name"] for p in algos[algo]["params"]} | {"final_act"}
        assert {p.name for p in sp} <= known, name
    f.write_text('{"name":"layers", "dtype":"complex", "values":[1,2]}\n')
    with pytest.raises(ValueError, match=r"space\.json:1: dtype 'complex'"):
        tune.read_space(str(f))
    f.write_text('{"name":"layers", "dtype":"int", "values":[1,2]}\nnot json\n')
    with pytest.raises(ValueError, match=r"space\.json:2: not a JSON object"):
        tune.read_space(str(f))
    with pytest.raises(ValueError, match="shipped space"):
        tune.read_space("no-such-space")
    assert tune.official_names({"final_act": "elu-0.5", "layers": 64}) == \
        {"elu_param": 0.5, "layers": 64}
    assert tune.official_names({"final_act": "linear"}) == {"elu_param": 0.0}


def test_validation_is_carved_by_time(small):
    full = small["prep"].train_full
    for kw in ({"valid_days": 1.0}, {"valid_share": 0.2}):
        tr, va = tune.carve_valid(full, **kw)
        assert tr.n_sessions + va.n_sessions == full.n_sessions
        assert len(tr) + len(va) == len(full)
        # every validation session ends no earlier than every training session
        assert va.session_end_times().min() >= tr.session_end_times().max()
        ids_tr = set(tr.to_dataframe()["SessionId"])
        assert not ids_tr & set(va.to_dataframe()["SessionId"])
    tr, va = tune.carve_valid(full, valid_share=0.2)
    assert va.n_sessions == round(0.2 * full.n_sessions)
    day = 86400 * 10**6
    tr, va = tune.carve_valid(full, valid_days=1.0)
    ends = full.session_end_times()
    assert va.n_sessions == int((ends >= ends.max() - day).sum())
    with pytest.raises(ValueError, match="valid-share"):
        tune.carve_valid(full, valid_share=1.5)


def trial_lines(out):
    return [l for l in out.splitlines() if re.match(r"trial +\d+ ", l)]


def test_tune_baseline_resumes_and_writes_params(small, sessrec_bin, tmp_path):
    db = tmp_path / "study.db"
    best = tmp_path / "sr.params"
    args = [sessrec_bin, "tune", small["tsv"], "--algo", "sr", "--storage", "sqlite:///%s" % db,
            "--valid-share", "0.2", "-o", str(best), "--metric", "mrr", "--cutoff", "10"]
    r = run(args + ["--trials", "3"], cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    lines = trial_lines(r.stdout)
    assert [l.split()[1] for l in lines] == ["0", "1", "2"]
    assert all("mrr@10" in l for l in lines)
    assert "| trial | recall@10 | mrr@10 |" in r.stdout
    text = best.read_text()
    assert text.startswith("# sessrec tune: algo sr") and "steps=" in text and "weighting=" in text
    # the best value in the table is the best trial's line
    values = [float(l.split()[3]) for l in lines]
    assert "mrr@10 %.4f on the validation part" % max(values) in text
    # the CLI trains from the file
    r2 = run([sessrec_bin, "train", small["train"], "-o", str(tmp_path / "m.srm"), "--algo", "sr",
              "--params-file", str(best), "-q"])
    assert r2.returncode == 0, r2.stderr
    # resume: the study holds 3 trials; --trials 4 runs one more
    r = run(args + ["--trials", "4"], cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "resuming study 'sessrec-sr': 3 trials finished" in r.stdout
    assert [l.split()[1] for l in trial_lines(r.stdout)] == ["3"]
    # a time budget stops starting trials
    r = run(args + ["--trials", "100", "--time-budget", "0.5s"], cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert 1 <= len(trial_lines(r.stdout)) < 10


def test_tune_gru4rec_official_space_reports_epochs(small, sessrec_bin, tmp_path):
    space = tmp_path / "gru4rec_bprmax_parspace.json"
    space.write_text(OFFICIAL)
    db = tmp_path / "g.db"
    best = tmp_path / "g.params"
    r = run([sessrec_bin, "tune", small["train"], "--space", str(space), "--trials", "2",
             "-p", "loss=bpr-max,n_epochs=2,batch_size=32,n_sample=64", "--valid-days", "1",
             "--storage", "sqlite:///%s" % db, "-o", str(best), "--threads", "1"],
            cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(trial_lines(r.stdout)) == 2
    text = best.read_text()
    assert "final_act" not in text and "elu_param=" in text and "loss=bpr-max" in text
    # the best trial's best epoch is the file's n_epochs
    epoch = re.search(r"on the validation part after epoch (\d+)", text).group(1)
    assert ("\nn_epochs=%s\n" % epoch) in text and epoch in ("1", "2")
    # every trial reported its validation metric after each of its 2 epochs
    con = sqlite3.connect(str(db))
    steps = con.execute("select trial_id, step from trial_intermediate_values "
                        "order by trial_id, step").fetchall()
    con.close()
    assert [s for _, s in steps] == [1, 2, 1, 2]
    r2 = run([sessrec_bin, "train", small["train"], "-o", str(tmp_path / "g.srm"),
              "--params-file", str(best), "-q", "--threads", "1"])
    assert r2.returncode == 0, r2.stderr


def test_constant_liar_only_where_it_works():
    # Optuna 3.1.0 fails with multivariate TPE and the constant liar (optuna#4459)
    assert not tune.liar_works("3.1.0")
    assert tune.liar_works("3.1.1") and tune.liar_works("3.0.6") and tune.liar_works("4.2.1")
    assert tune.liar_works("3.6.0.dev")


def test_tune_jobs_share_one_study(small, sessrec_bin, tmp_path):
    db = tmp_path / "j.db"
    best = tmp_path / "j.params"
    args = [sessrec_bin, "tune", small["tsv"], "--algo", "sr", "--valid-share", "0.2",
            "-o", str(best), "--trials", "6", "--jobs", "2"]
    r = run(args, cwd=str(tmp_path))
    assert r.returncode == 1 and "--jobs 2 needs --storage" in r.stderr
    r = run(args + ["--storage", "sqlite:///%s" % db], cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 trials at once" in r.stdout
    lines = trial_lines(r.stdout)
    # two processes, one study: distinct trial numbers, at least the 6 wanted (a
    # worker may finish the trial it had started when the other reached 6)
    numbers = sorted(int(l.split()[1]) for l in lines)
    assert numbers == list(range(len(numbers))) and 6 <= len(numbers) <= 7
    con = sqlite3.connect(str(db))
    n = con.execute("select count(*) from trials where state = 'COMPLETE'").fetchone()[0]
    con.close()
    assert n == len(numbers)
    assert "%d trials complete" % n in r.stdout and best.read_text().startswith("# sessrec tune")


def test_tune_without_python_or_optuna(small, sessrec_bin, tmp_path):
    env = dict(os.environ, SESSREC_PYTHON=str(tmp_path / "no-python3"))
    r = run([sessrec_bin, "tune", small["tsv"]], env=env)
    assert r.returncode == 1
    assert "cannot run the Python interpreter" in r.stderr and "python3-optuna" in r.stderr
    # a python3 without site packages has neither numpy nor optuna
    fake = tmp_path / "bare-python3"
    fake.write_text("#!/bin/sh\nexec %s -S \"$@\"\n" % os.path.realpath(
        __import__("sys").executable))
    fake.chmod(0o755)
    env = dict(os.environ, SESSREC_PYTHON=str(fake))
    r = run([sessrec_bin, "tune", small["tsv"]], env=env)
    assert r.returncode == 1
    assert "needs the Python packages numpy and optuna" in r.stderr
    assert "apt-get install python3-numpy python3-optuna" in r.stderr
    # option errors come from the one option parser, before Python runs
    r = run([sessrec_bin, "tune", small["tsv"], "--metric", "ndcg"], env=env)
    assert r.returncode == 1 and "--metric ndcg: expected recall or mrr" in r.stderr
    r = run([sessrec_bin, "tune", small["tsv"], "--bogus"], env=env)
    assert r.returncode == 2 and "unknown option '--bogus'" in r.stderr
    r = run([sessrec_bin, "tune", "--help"], env=env)
    assert r.returncode == 0 and r.stdout.startswith("usage: sessrec tune TRAIN")
    r = run([sessrec_bin, "tune", small["tsv"], "--algo", "nope"])
    assert r.returncode == 1 and "unknown algorithm 'nope'" in r.stderr


def test_options_agree_with_the_c_parser(sessrec_bin):
    """`sessrec tune` reads the options with the C parser, then hands them to
    this module's argparse: both must know the same ones."""
    r = run([sessrec_bin, "tune", "--help"])
    c_opts = set(re.findall(r"^ +(?:-\w, )?(--[a-z-]+)", r.stdout, re.M))
    py_opts = {o for a in tune.make_parser()._actions if a.help != argparse.SUPPRESS
               for o in a.option_strings if o.startswith("--")}
    assert c_opts and c_opts == py_opts, (c_opts ^ py_opts)


def test_json_result(small, sessrec_bin, tmp_path):
    r = run([sessrec_bin, "tune", small["tsv"], "--algo", "sr", "--trials", "2", "--json",
             "--valid-share", "0.2", "-o", str(tmp_path / "b.params")], cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["trials"]["complete"] == 2 and out["params_file"].endswith("b.params")
    assert set(out["params"]) >= {"steps", "weighting"} and "trial " not in r.stdout


def test_preset_point_is_the_first_trial_where_it_fits(tmp_path):
    f = tmp_path / "s.json"
    f.write_text('{"name":"layers", "dtype":"int", "values":[64,512], "step":32}\n'
                 '{"name":"learning_rate", "dtype":"float", "values":[0.01, 0.25]}\n'
                 '{"name":"momentum", "dtype":"float", "values":[0.1, 0.9]}\n'
                 '{"name":"final_act", "dtype":"categorical", "values":["elu-1", "linear"]}\n')
    space, _ = tune.read_space(str(f))
    # off the step grid is kept (Optuna accepts it), out of range or unknown is left out
    assert tune.preset_point("layers=100,learning_rate=0.1,momentum=0,n_epochs=10", space) == \
        {"layers": 100, "learning_rate": 0.1}
    assert tune.preset_point("final_act=linear,layers=x", space) == {"final_act": "linear"}
    assert tune.preset_point("", space) == {}
