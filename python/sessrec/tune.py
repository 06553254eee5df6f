"""sessrec.tune - hyperparameter search with Optuna (`sessrec tune`, or
`python3 -m sessrec.tune`).

TPE sampler; for GRU4Rec the validation metric is reported after every epoch
and Optuna's median pruner stops unpromising trials (at the epoch's end when
the library has training controls; otherwise the trial is pruned once its
training returns). The study can live in SQLite (--storage sqlite:///x.db) and
resumes where it stopped: --trials is the total number of finished trials
wanted. Validation is carved from the training data by time (the sessions
that end last: --valid-days or --valid-share), never from a test split.

Parameter spaces: JSON lines in the official GRU4Rec format (paramspaces/ of
hidasib/GRU4Rec, read unchanged):
    {"name":"layers", "dtype":"int", "values":[64,512], "step":32}
    {"name":"final_act", "dtype":"categorical", "values":["elu-0.5", "linear"]}
dtype int | float (values = [low, high], optional step, optional log) or
categorical (values = the choices). Spaces for every algorithm ship in
sessrec/spaces/. The best parameters are written as a parameter file that
`sessrec train --params-file` reads.
"""
import argparse
import json
import math
import os
import re
import sys
import time

SPACES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spaces")
DEFAULT_SPACE = {"gru4rec": "gru4rec_xe"}


class Parameter:
    """One line of a parameter-space file."""

    def __init__(self, obj, where):
        try:
            self.name = obj["name"]
            self.dtype = obj["dtype"]
            self.values = obj["values"]
        except (KeyError, TypeError):
            raise ValueError("%s: a parameter needs name, dtype and values" % where) from None
        self.step = obj.get("step")
        self.log = bool(obj.get("log", False))
        if self.dtype not in ("int", "float", "categorical"):
            raise ValueError("%s: dtype '%s' (expected int, float or categorical)"
                             % (where, self.dtype))
        if not isinstance(self.values, list) or not self.values or \
                (self.dtype != "categorical" and len(self.values) != 2):
            raise ValueError("%s: values must be [low, high] for %s, a list for categorical"
                             % (where, self.dtype))
        if self.dtype == "int" and self.step is None:
            self.step = 1

    def suggest(self, trial):
        if self.dtype == "int":
            return trial.suggest_int(self.name, int(self.values[0]), int(self.values[1]),
                                     step=int(self.step), log=self.log)
        if self.dtype == "float":
            v = trial.suggest_float(self.name, float(self.values[0]), float(self.values[1]),
                                    step=None if self.log else self.step, log=self.log)
            return round(v, 12)  # 0.3, not 0.30000000000000004 from a step of 0.05
        return trial.suggest_categorical(self.name, self.values)

    def __str__(self):
        if self.dtype == "categorical":
            return "%-18s one of %s" % (self.name, ", ".join(map(str, self.values)))
        return "%-18s %s in [%s, %s]%s%s" % (self.name, self.dtype, self.values[0], self.values[1],
                                             " step %s" % self.step if self.step else "",
                                             " log scale" if self.log else "")


def read_space(path):
    """A parameter space: a file path, or the name of a shipped space."""
    if not os.path.exists(path):
        shipped = os.path.join(SPACES, path if path.endswith(".json") else path + ".json")
        if not os.path.exists(shipped):
            names = sorted(f[:-5] for f in os.listdir(SPACES) if f.endswith(".json"))
            raise ValueError("parameter space '%s': no such file, nor a shipped space (%s)"
                             % (path, ", ".join(names)))
        path = shipped
    space = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise ValueError("%s:%d: not a JSON object: %s" % (path, n, e)) from None
            space.append(Parameter(obj, "%s:%d" % (path, n)))
    if not space:
        raise ValueError("%s: no parameters" % path)
    return space, path


def official_names(params):
    """The official Theano-era final_act values as sessrec parameters
    (elu-X: bpr-max's elu_param=X; linear: elu_param=0)."""
    out = dict(params)
    fa = out.pop("final_act", None)
    if fa is not None:
        if fa == "linear":
            out["elu_param"] = 0.0
        elif isinstance(fa, str) and fa.startswith("elu-"):
            out["elu_param"] = float(fa[4:])
        elif fa != "softmax":
            raise ValueError("final_act=%s is not implemented by sessrec" % fa)
    return out


def carve_valid(split, valid_days=None, valid_share=None):
    """(train part, valid part) of a split by time: the sessions whose last
    click falls in the last valid_days, or the valid_share of sessions that end
    last, form the validation part."""
    import numpy as np
    ends = split.session_end_times()
    n = len(ends)
    if n < 2:
        raise ValueError("the training data has %d sessions: too few to carve a validation part" % n)
    if valid_days is not None:
        cut = ends.max() - int(round(valid_days * 86400e6))
        valid = ends >= cut
    else:
        if not 0 < valid_share < 1:
            raise ValueError("--valid-share must be in (0, 1), not %s" % valid_share)
        k = max(1, int(round(valid_share * n)))
        order = np.argsort(ends, kind="stable")
        valid = np.zeros(n, dtype=bool)
        valid[order[n - k:]] = True
    if valid.all() or not valid.any():
        raise ValueError("the validation part would hold %d of %d sessions; choose another "
                         "--valid-days/--valid-share" % (int(valid.sum()), n))
    return split.select_sessions(~valid), split.select_sessions(valid)


def preset_point(preset, space):
    """The values a preset gives to the searched parameters, as a point of the
    space (the parameters it does not set are left to the sampler); values
    outside a parameter's range or choices are left out."""
    given = dict(kv.partition("=")[::2] for kv in preset.split(",") if kv)
    point = {}
    for par in space:
        if par.name not in given:
            continue
        text = given[par.name]
        try:
            if par.dtype == "int":
                v = int(float(text))
            elif par.dtype == "float":
                v = float(text)
            else:
                v = next((c for c in par.values if str(c) == text), None)
                if v is None:
                    continue
        except ValueError:
            continue
        if par.dtype != "categorical" and not par.values[0] <= v <= par.values[1]:
            continue
        point[par.name] = v
    return point


def params_text(params):
    import sessrec
    return sessrec.parse_params(params)


def write_params_file(path, algo, params, header):
    lines = ["# " + h for h in header]
    lines += ["%s=%s" % (k, v) for k, v in (
        (k, sessrec_value(v)) for k, v in params.items())]
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def sessrec_value(v):
    import sessrec
    return sessrec._param_value(v)


def duration(text):
    """Seconds from "90", "90s", "15m" or "2h"."""
    t = text.strip().lower()
    mult = {"s": 1, "m": 60, "h": 3600}.get(t[-1:], None)
    try:
        v = float(t[:-1] if mult else t) * (mult or 1)
    except ValueError:
        raise argparse.ArgumentTypeError("'%s' is not a duration (e.g. 900, 15m, 2h)" % text)
    if v <= 0:
        raise argparse.ArgumentTypeError("the time budget must be > 0, not '%s'" % text)
    return v


def run_workers(argv, jobs):
    """Runs `jobs` worker processes of this same command on the shared study
    and waits for them; the first non-zero exit status, or 0. Ctrl-C reaches
    the workers too (same process group): they stop after keeping their
    finished trials."""
    import subprocess
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = pkg + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    procs = [subprocess.Popen([sys.executable, "-m", "sessrec.tune"] + list(argv) +
                              ["--worker", str(k)], env=env) for k in range(jobs)]
    rc = 0
    for p in procs:
        while True:
            try:
                r = p.wait()
                break
            except KeyboardInterrupt:
                continue  # the workers got the signal too; wait for them to stop
        if r and not rc and r != -2:
            rc = r
    return rc


def make_parser():
    """The tuner's options: the same as tools/cmd_tune.c's table (a test checks)."""
    ap = argparse.ArgumentParser(
        prog="sessrec tune",
        description="Searches the hyperparameters of an algorithm with Optuna (TPE, pruning) "
                    "on a validation part carved from TRAIN by time; writes the best "
                    "parameters as a file `sessrec train --params-file` reads.")
    ap.add_argument("train", metavar="TRAIN", help="training data: a split file, a prepared "
                    "directory's train_full, or a click log")
    ap.add_argument("--algo", default="gru4rec", help="algorithm to tune (default gru4rec)")
    ap.add_argument("--space", help="parameter space: a JSON-lines file in the official GRU4Rec "
                    "format, or a shipped space name (default: gru4rec_xe for gru4rec, else "
                    "the algorithm's name)")
    ap.add_argument("--preset", help="the algorithm's preset to start from")
    ap.add_argument("-p", "--params", action="append", default=[],
                    help="fixed parameters name=value,... (repeatable), under the searched ones")
    ap.add_argument("--trials", type=int, default=50,
                    help="finished trials wanted in the study (a resumed study counts its own)")
    ap.add_argument("--time-budget", type=duration, default=None, metavar="SECONDS",
                    help="start no trial after this many seconds (s, m or h suffix accepted)")
    ap.add_argument("--metric", choices=["recall", "mrr"], default="recall")
    ap.add_argument("--cutoff", type=int, default=20)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--valid-days", type=float, help="validation: sessions ending in the last D days")
    g.add_argument("--valid-share", type=float, help="validation: this share of the sessions that "
                   "end last (default 0.1)")
    ap.add_argument("--storage", help="Optuna storage, e.g. sqlite:///study.db (resumable)")
    ap.add_argument("--study-name", default=None, help="study name (default sessrec-ALGO)")
    ap.add_argument("-o", "--output", default=None, help="best parameters file (default "
                    "ALGO-best.params)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the sampler and of gru4rec")
    ap.add_argument("--threads", type=int, default=0,
                    help="threads of each trial's training (default: all cores)")
    ap.add_argument("-j", "--jobs", type=int, default=1,
                    help="trials run at once, each in its own process (needs --storage); on "
                         "2 cores, --jobs 2 --threads 1 keeps both cores busy")
    ap.add_argument("--patience", type=int, default=2,
                    help="GRU4Rec: stop a trial after this many epochs without a better "
                         "validation value (0: never); a trial counts its best epoch, and the "
                         "best trial's epoch becomes n_epochs in the parameter file (default 2)")
    ap.add_argument("--startup-trials", type=int, default=5,
                    help="trials sampled at random before TPE models the space (default 5)")
    ap.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--top", type=int, default=5, help="rows of the final table")
    ap.add_argument("-q", "--quiet", action="store_true", help="no per-trial lines")
    ap.add_argument("--json", action="store_true",
                    help="no per-trial lines; the result as one JSON object")
    return ap


def liar_works(version):
    """Whether TPE's constant liar can be used with its multivariate mode: Optuna
    3.1.0 (Debian 12's) fails there as soon as another worker's running trial
    has sampled only some of the parameters (IndexError in the categorical
    Parzen estimator; optuna/optuna#4459, fixed in 3.1.1). Without the liar,
    parallel workers may sample close points; nothing else changes."""
    return tuple(int(x) for x in re.findall(r"\d+", version)[:3]) != (3, 1, 0)


def main(argv=None):
    ap = make_parser()
    args = ap.parse_args(argv)

    try:
        import optuna
    except ImportError:
        print("sessrec tune: needs Optuna (Debian: apt-get install python3-optuna)", file=sys.stderr)
        return 2
    import sessrec

    def fail(msg):
        print("sessrec tune: %s" % msg, file=sys.stderr)
        return 1

    if args.trials < 1:
        return fail("--trials must be >= 1")
    if args.jobs < 1:
        return fail("--jobs must be >= 1")
    if args.patience < 0 or args.startup_trials < 0:
        return fail("--patience and --startup-trials must be >= 0")
    if args.jobs > 1 and not args.storage:
        return fail("--jobs %d needs --storage (e.g. sqlite:///study.db): the worker processes "
                    "share the study through it" % args.jobs)
    worker = args.worker is not None
    if args.json:
        args.quiet = True

    def say(*a, **kw):  # the text report: stderr when stdout is the JSON object
        print(*a, file=sys.stderr if args.json else sys.stdout, **kw)
    algos = sessrec.algorithms()
    if args.algo not in algos:
        return fail("unknown algorithm '%s' (known: %s)" % (args.algo, ", ".join(algos)))
    try:
        space, space_path = read_space(args.space or DEFAULT_SPACE.get(args.algo, args.algo))
        known = {p["name"] for p in algos[args.algo]["params"]} | \
                {p["alias"] for p in algos[args.algo]["params"] if p["alias"]}
        if args.algo == "gru4rec":
            known |= {"final_act"}
        for par in space:
            if known and par.name not in known:
                raise ValueError("%s: parameter '%s' is not one of %s's" % (space_path, par.name,
                                                                           args.algo))
        full = sessrec.open_split(args.train)
        valid_share = args.valid_share if args.valid_days is None and args.valid_share else 0.1
        tr, va = carve_valid(full, args.valid_days, None if args.valid_days is not None else valid_share)
    except (ValueError, sessrec.SessrecError) as e:
        return fail(str(e))
    fixed = ",".join(x for x in args.params if x)
    gru = args.algo == "gru4rec"
    if gru:
        fixed = ",".join(x for x in (fixed, "seed=%d" % args.seed) if x)
    key = "%s@%d" % (args.metric, args.cutoff)

    if not worker:
        say("tuning %s on %s: %d training clicks in %d sessions, validation %d clicks in %d "
              "sessions (%s)" % (args.algo, args.train, len(tr), tr.n_sessions, len(va),
                                 va.n_sessions, "last %g days" % args.valid_days
                                 if args.valid_days is not None
                                 else "last %g of the sessions" % valid_share))
        say("space %s:" % space_path)
        for par in space:
            say("  " + str(par))
        if fixed or args.preset:
            say("fixed: %s%s" % ("preset=%s " % args.preset if args.preset else "", fixed))
        if args.jobs > 1:
            say("%d trials at once, each in its own process with %s" % (
                args.jobs, "%d threads" % args.threads if args.threads else "all cores"))
    sys.stdout.flush()

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    import warnings
    warnings.filterwarnings("ignore", message="Fixed parameter .* is out of range")
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    study = optuna.create_study(
        study_name=args.study_name or "sessrec-%s" % args.algo, storage=args.storage,
        load_if_exists=True, direction="maximize",
        sampler=optuna.samplers.TPESampler(
            seed=args.seed + (args.worker or 0), n_startup_trials=args.startup_trials,
            multivariate=True, constant_liar=args.jobs > 1 and liar_works(optuna.__version__)),
        # Optuna prunes at steps >= n_warmup_steps: 2 = from the second epoch on
        # (the first epoch says little about a trial with large batches)
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2))
    if args.preset and not worker and not study.trials:
        first = preset_point(algos[args.algo]["presets"].get(args.preset, ""), space)
        if first:  # the search starts where the preset stands
            study.enqueue_trial(first)
            say("trial 0 is the preset's point: %s" % ", ".join(
                "%s=%s" % kv for kv in sorted(first.items())))
    done = [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE,
                                                   optuna.trial.TrialState.PRUNED)]
    if done and not worker:
        say("resuming study '%s': %d trials finished" % (study.study_name, len(done)))
    todo = args.trials - len(done)
    start = time.time()

    def objective(trial):
        sampled = {par.name: par.suggest(trial) for par in space}
        params = official_names(sampled) if gru else sampled
        spec = ",".join(x for x in (fixed, sessrec.parse_params(params)) if x)
        trial.set_user_attr("params", spec)
        t0 = time.time()
        pruned = {"at": None}
        if gru:
            # the trial's value is its best epoch's; n_epochs of the best trial
            # becomes that epoch (early stopping, decided on the validation part)
            best = {}

            def on_epoch(e):
                v = e[args.metric]
                if not best or v > best[args.metric]:
                    best.clear()
                    best.update(e)
                trial.report(v, e["epoch"])
                if trial.should_prune():
                    pruned["at"] = e["epoch"]
                    return True
                return bool(args.patience) and e["epoch"] - best["epoch"] >= args.patience
            model = sessrec.train(tr, algo=args.algo, preset=args.preset, params=spec, valid=va,
                                  cutoff=args.cutoff, callback=on_epoch, threads=args.threads)
            res = {"recall@%d" % args.cutoff: best.get("recall", math.nan),
                   "mrr@%d" % args.cutoff: best.get("mrr", math.nan)}
            trial.set_user_attr("epoch", best.get("epoch"))
            del model
        else:
            model = sessrec.train(tr, algo=args.algo, preset=args.preset, params=spec,
                                  threads=args.threads)
            res = model.evaluate(va, cutoffs=[args.cutoff], threads=args.threads)
        trial.set_user_attr("seconds", time.time() - t0)
        if pruned["at"] is not None:
            trial.set_user_attr("pruned_at", pruned["at"])
            raise optuna.TrialPruned()
        trial.set_user_attr("recall", res["recall@%d" % args.cutoff])
        trial.set_user_attr("mrr", res["mrr@%d" % args.cutoff])
        return res[key]

    def report(st, trial):
        if args.quiet:
            return
        secs = trial.user_attrs.get("seconds", 0.0)
        try:
            best = "best %.4f (#%d)" % (st.best_value, st.best_trial.number)
        except ValueError:
            best = "no best yet"
        if trial.state == optuna.trial.TrialState.COMPLETE:
            what = "%s %.4f" % (key, trial.value)
            if trial.user_attrs.get("epoch"):
                what += " (epoch %d)" % trial.user_attrs["epoch"]
        elif trial.state == optuna.trial.TrialState.PRUNED:
            what = "pruned at epoch %s" % trial.user_attrs.get("pruned_at", "?")
        else:
            what = "failed"
        say("trial %3d  %-32s %-18s %6.1f s  %s" % (trial.number, what, best, secs,
                                                      trial.user_attrs.get("params", "")))
        sys.stdout.flush()

    if todo > 0 and (worker or args.jobs == 1):
        # every process stops once the study holds --trials finished trials
        enough = optuna.study.MaxTrialsCallback(
            args.trials, states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED))
        try:
            study.optimize(objective, n_trials=todo, timeout=args.time_budget,
                           callbacks=[report, enough], catch=(sessrec.SessrecError,),
                           gc_after_trial=False)
        except KeyboardInterrupt:
            if not worker:
                say("interrupted: the study keeps its finished trials%s" % (
                    " (resume with the same --storage)" if args.storage else ""))
        if worker:
            return 0
    elif todo > 0:
        rc = run_workers(argv if argv is not None else sys.argv[1:], args.jobs)
        if rc:
            return fail("a worker process failed (exit status %d)" % rc)
        study = optuna.load_study(study_name=study.study_name, storage=args.storage)
    else:
        say("the study already has %d finished trials (--trials %d)" % (len(done), args.trials))
        if worker:
            return 0

    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    n_pruned = sum(1 for t in study.trials if t.state == optuna.trial.TrialState.PRUNED)
    n_failed = sum(1 for t in study.trials if t.state == optuna.trial.TrialState.FAIL)
    say("\n%d trials complete, %d pruned, %d failed, %.0f s this run" % (
        len(complete), n_pruned, n_failed, time.time() - start))
    if not complete:
        return fail("no trial completed")
    complete.sort(key=lambda t: -t.value)
    say("\nbest trials (%s on the validation part):" % key)
    say("| trial | recall@%d | mrr@%d | epochs | seconds | parameters |" % (args.cutoff,
                                                                            args.cutoff))
    say("|---|---|---|---|---|---|")
    for t in complete[:args.top]:
        say("| %d | %.4f | %.4f | %s | %.1f | %s |" % (
            t.number, t.user_attrs.get("recall", math.nan), t.user_attrs.get("mrr", math.nan),
            t.user_attrs.get("epoch") or "", t.user_attrs.get("seconds", math.nan),
            t.user_attrs.get("params", "")))
    best = complete[0]
    out = args.output or "%s-best.params" % args.algo
    params = {}
    if args.preset:
        for kv in algos[args.algo]["presets"][args.preset].split(","):
            k, _, v = kv.partition("=")
            params[k] = v
    for kv in best.user_attrs["params"].split(","):
        if kv:
            k, _, v = kv.partition("=")
            params[k] = v
    if best.user_attrs.get("epoch"):
        params["n_epochs"] = str(best.user_attrs["epoch"])
    write_params_file(out, args.algo, params, [
        "sessrec tune: algo %s, study %s, trial %d of %d: %s %.4f on the validation part%s"
        % (args.algo, study.study_name, best.number, len(study.trials), key, best.value,
           " after epoch %d" % best.user_attrs["epoch"] if best.user_attrs.get("epoch") else ""),
        "train with: sessrec train TRAIN -o MODEL%s --params-file %s"
        % ("" if gru else " --algo %s" % args.algo, out)])
    say("\nbest parameters written to %s" % out)
    if args.json:
        def finite(v):  # JSON has no NaN: null, as the C commands write it
            return None if isinstance(v, float) and not math.isfinite(v) else v
        best_attrs = {k: finite(best.user_attrs.get(k)) for k in ("recall", "mrr", "epoch",
                                                                 "seconds")}
        json.dump({"algo": args.algo, "study": study.study_name, "metric": key,
                   "trials": {"complete": len(complete), "pruned": n_pruned, "failed": n_failed},
                   "best": dict({"trial": best.number, "value": finite(best.value)},
                                **best_attrs),
                   "params": params, "params_file": out}, sys.stdout, allow_nan=False)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
