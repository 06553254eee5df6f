"""sessrec - session-based recommendation (GRU4Rec and baselines) from Python.

A thin layer over libsessrec (ctypes + numpy; nothing to compile):

    import sessrec
    data = sessrec.prepare("yoochoose-clicks.dat", nrows=100000, valid_days=1)
    model = sessrec.train(data.train, preset="tutorial", valid=data.valid)
    model.evaluate(data.test, cutoffs=[20])        # {'recall@20': ..., 'mrr@20': ...}
    ids, scores = model.recommend([[214536502, 214536500]], k=5)
    s = model.session(); s.click(214536502); s.recommend(5)

Everything the CLI reads and writes (click logs, split files, model files) is
the same here. Errors raise sessrec.SessrecError with the library's message.
Calls into the library release the GIL (ctypes.CDLL); Ctrl-C during training
stops it (after the current epoch when the library has training controls,
else when it returns) and raises KeyboardInterrupt.
"""
import ctypes
import math
import signal
import threading
import warnings

import numpy as np

from . import _lib as L
from ._lib import SessrecError

__all__ = ["SessrecError", "Log", "Split", "Prepared", "Model", "Session", "read_log",
           "log_from_dataframe", "prepare", "open_split", "train", "load_model",
           "algorithms", "parse_params", "HAVE_TRAIN_CONTROLS"]

__version__ = "0.1.0"
HAVE_TRAIN_CONTROLS = L.HAVE_TRAIN_CONTROLS


def _err():
    return L.Error()


def _array(ptr, n, dtype):
    """A numpy copy of n values at a C pointer."""
    if n == 0 or not ptr:
        return np.zeros(0, dtype=dtype)
    return np.ctypeslib.as_array(ptr, shape=(int(n),)).astype(dtype, copy=True)


# ---- item ids ---------------------------------------------------------------
# The one place that converts between the ids users hold and the library's
# item ids: 64-bit integers, or text ids (an sr_idtext table) for logs read
# with text ids.

def _idtext(t, idx):
    """Text ids of a table for the indices idx (numpy object array of str)."""
    text = ctypes.cast(t.text, ctypes.c_void_p).value
    off = np.ctypeslib.as_array(t.off, shape=(int(t.n) + 1,))
    out = np.empty(len(idx), dtype=object)
    for j, k in enumerate(idx):
        out[j] = ctypes.string_at(text + int(off[k]), int(off[k + 1] - off[k] - 1)).decode(
            "utf-8", "replace")
    return out

def _item_ids_in(values):
    """Item ids (a sequence, numpy array or pandas column) as int64 for the library."""
    a = np.asarray(values)
    if a.dtype.kind not in "iu":
        try:
            a = a.astype(np.int64)
        except (TypeError, ValueError):
            raise TypeError("sessrec: item ids must be integers (got %s)" % a.dtype) from None
    a = a.astype(np.int64, copy=False)
    if a.size and a.min() < 0:
        raise ValueError("sessrec: item ids must be >= 0 (got %d)" % a.min())
    return a


def _item_ids_out(ids):
    """The library's item ids as the numpy array returned to users (int64, or
    str objects for text ids)."""
    ids = np.asarray(ids)
    return ids if ids.dtype == object else ids.astype(np.int64, copy=False)


# ---- click logs ---------------------------------------------------------------

class Log:
    """A click log in memory (session, item, time in microseconds per click, in
    file order). From read_log (the library owns the arrays) or
    log_from_dataframe (numpy owns them; the library only reads them)."""

    def __init__(self, c_log, owned, keep=None, report=None):
        self._c = c_log
        self._owned = owned
        self._keep = keep
        self.report = report or {}

    def __len__(self):
        return int(self._c.n)

    def __del__(self):
        if getattr(self, "_owned", False):
            L.sr_log_free(ctypes.byref(self._c))
            self._owned = False

    def to_dataframe(self):
        import pandas as pd
        n = len(self)
        return pd.DataFrame({
            "SessionId": _array(self._c.session, n, np.int64),
            "ItemId": _item_ids_out(_idtext(self._c.item_text, _array(self._c.item, n, np.int64))
                                    if self._c.item_text.text else
                                    _array(self._c.item, n, np.int64)),
            "Time": pd.to_datetime(_array(self._c.time, n, np.int64), unit="us", utc=True)})


def _read_opts(format="auto", nrows=None, skip_bad_lines=False, session_key=None,
               item_key=None, time_key=None, threads=0, delimiter=None, where=None,
               user_key=None, session_gap=None):
    o = L.sr_read_default_opts()
    o.format = L.parse_enum(L.sr_format_parse, format, "format")
    o.nrows = int(nrows) if nrows else 0
    o.skip_bad_lines = 1 if skip_bad_lines else 0
    keep = [L.enc(session_key), L.enc(item_key), L.enc(time_key)]
    o.session_key, o.item_key, o.time_key = keep
    o.threads = int(threads)
    if delimiter:
        o.delimiter = delimiter.encode()
    for i, (k, v) in enumerate((where or {}).items()):
        if i >= L.SR_MAX_WHERE:
            raise ValueError("sessrec: at most %d where filters" % L.SR_MAX_WHERE)
        vals = v if isinstance(v, str) else ",".join(map(str, v))
        keep += [L.enc(k), L.enc(vals)]
        o.where[i].key, o.where[i].values = keep[-2], keep[-1]
        o.n_where = i + 1
    if user_key:
        keep.append(L.enc(user_key))
        o.user_key = keep[-1]
        if session_gap is not None:
            o.session_gap = float(session_gap)
    return o, keep


def read_log(path, format="auto", nrows=None, skip_bad_lines=False, session_key=None,
             item_key=None, time_key=None, threads=0, delimiter=None, where=None,
             user_key=None, session_gap=None):
    """Reads a click log (YOOCHOOSE clicks, GRU4Rec TSV, any delimited file,
    DIGINETICA; gzip too), with the options of `sessrec prepare`: where =
    {"event": "view"} keeps matching rows, user_key + session_gap cut users'
    events into sessions. The report (format used, lines, bad lines skipped)
    is in log.report."""
    o, _keep = _read_opts(format, nrows, skip_bad_lines, session_key, item_key, time_key, threads,
                          delimiter, where, user_key, session_gap)
    c, rep, err = L.Log(), L.ReadReport(), _err()
    L.check(L.sr_read_log(L.enc(path), ctypes.byref(o), ctypes.byref(c), ctypes.byref(rep),
                          ctypes.byref(err)), err)
    report = {"format": L.sr_format_name(rep.format).decode(), "lines": rep.lines,
              "bad_lines": rep.bad_lines, "first_bad": rep.first_bad.decode("utf-8", "replace"),
              "bytes": rep.bytes}
    return Log(c, owned=True, report=report)


def _times_us(col):
    """A time column as int64 microseconds: datetimes (naive = UTC) or numbers
    of seconds (as the Time column of GRU4Rec TSV files)."""
    import pandas as pd
    s = pd.Series(col)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        return s.values.astype("datetime64[us]").astype(np.int64)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return np.round(s.to_numpy(dtype=np.float64) * 1e6).astype(np.int64)
    raise TypeError("sessrec: the time column must hold datetimes or seconds (got %s)" % s.dtype)


def log_from_dataframe(df, session="SessionId", item="ItemId", time="Time"):
    """A Log from a pandas DataFrame with session, item and time columns, built
    in memory (no files). Times: datetimes or seconds. Session ids that are not
    integers are numbered in order of appearance."""
    import pandas as pd
    for c in (session, item, time):
        if c not in df.columns:
            raise KeyError("sessrec: the DataFrame has no column '%s' (columns: %s)"
                           % (c, ", ".join(map(str, df.columns))))
    sess = df[session].to_numpy()
    if sess.dtype.kind not in "iu" or (sess.size and sess.min() < 0):
        sess = pd.factorize(df[session])[0]
    return _log_from_arrays(sess, _item_ids_in(df[item].to_numpy()), _times_us(df[time]))


def _log_from_arrays(sess, items, times):
    """A Log over numpy arrays of session ids, item ids and microseconds."""
    sess = np.ascontiguousarray(sess, dtype=np.int64)
    items = np.ascontiguousarray(items, dtype=np.int64)
    times = np.ascontiguousarray(times, dtype=np.int64)
    if not (len(sess) == len(items) == len(times)):
        raise ValueError("sessrec: session, item and time arrays differ in length")
    c = L.Log()
    c.n = c.cap = len(sess)
    P64 = ctypes.POINTER(ctypes.c_int64)
    c.session, c.item, c.time = (a.ctypes.data_as(P64) for a in (sess, items, times))
    # the library never frees or grows this log (sr_prepare and
    # sr_split_from_log only read it); the arrays live as long as the Log
    return Log(c, owned=False, keep=(sess, items, times))


def _as_log(data, read_kw):
    if isinstance(data, Log):
        return data
    if hasattr(data, "columns"):
        keys = {k: read_kw.pop(k) for k in ("session_key", "item_key", "time_key")
                if read_kw.get(k)}
        return log_from_dataframe(data, session=keys.get("session_key", "SessionId"),
                                  item=keys.get("item_key", "ItemId"),
                                  time=keys.get("time_key", "Time"))
    return read_log(str(data), **read_kw)


# ---- splits ---------------------------------------------------------------------

class Split:
    """A session-grouped set of clicks (a prepared split, a split file, or a log
    grouped as it is). len() is the number of clicks."""

    def __init__(self, c_split):
        self._c = c_split

    def __del__(self):
        if getattr(self, "_c", None) is not None:
            L.sr_split_free(ctypes.byref(self._c))
            self._c = None

    def __len__(self):
        return int(self._c.n_events)

    @property
    def n_sessions(self):
        return int(self._c.n_sessions)

    @property
    def n_items(self):
        """Size of the item table (shared by the splits of one prepare)."""
        return int(self._c.n_items)

    def save(self, path):
        """Writes the binary split file `sessrec train/eval` read (atomically)."""
        err = _err()
        L.check(L.sr_split_save(ctypes.byref(self._c), L.enc(path), ctypes.byref(err)), err)

    def save_tsv(self, path):
        """Writes a GRU4Rec TSV (SessionId, ItemId, Time in seconds)."""
        err = _err()
        L.check(L.sr_split_save_tsv(ctypes.byref(self._c), L.enc(path), ctypes.byref(err)), err)

    def stats(self):
        """events, sessions, items, first/last time (pandas Timestamps), session
        length and item support quantiles (as `sessrec stats`)."""
        import pandas as pd
        st, err = L.Stats(), _err()
        L.check(L.sr_split_stats(ctypes.byref(self._c), ctypes.byref(st), ctypes.byref(err)), err)
        ts = lambda us: pd.Timestamp(us, unit="us", tz="UTC") if st.events else None
        return {"events": st.events, "sessions": st.sessions, "items": st.items,
                "first_time": ts(st.first_time), "last_time": ts(st.last_time),
                "length_mean": st.len_mean, "length_quantiles": list(st.len_q),
                "length_p90": st.len_p90, "length_p99": st.len_p99,
                "support_quantiles": list(st.sup_q), "support_p90": st.sup_p90,
                "support_p99": st.sup_p99}

    def arrays(self):
        """(session ids, original item ids, times in microseconds) per click, as
        numpy copies, in split order (sessions by first click)."""
        c = self._c
        offsets = _array(c.offsets, c.n_sessions + 1, np.int64)
        sess = np.repeat(_array(c.session_ids, c.n_sessions, np.int64), np.diff(offsets))
        idx = _array(c.items, c.n_events, np.int64)
        if c.item_text.text:
            items = _idtext(c.item_text, np.arange(c.n_items))[idx]
        else:
            items = _array(c.item_ids, c.n_items, np.int64)[idx]
        return sess, items, _array(c.times, c.n_events, np.int64)

    def select_sessions(self, keep):
        """A new Split of the sessions where the boolean array keep (one value
        per session, in split order) is true; its item table holds their items."""
        c = self._c
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != (c.n_sessions,):
            raise ValueError("sessrec: select_sessions needs one flag per session")
        sess, items, times = self.arrays()
        lens = np.diff(_array(c.offsets, c.n_sessions + 1, np.int64))
        rows = np.repeat(keep, lens)
        log = _log_from_arrays(sess[rows], items[rows], times[rows])
        out, err = L.Split(), _err()
        L.check(L.sr_split_from_log(ctypes.byref(log._c), ctypes.byref(out), ctypes.byref(err)), err)
        return Split(out)

    def session_end_times(self):
        """The time (microseconds) of each session's last click, in split order."""
        c = self._c
        offsets = _array(c.offsets, c.n_sessions + 1, np.int64)
        times = _array(c.times, c.n_events, np.int64)
        return times[offsets[1:] - 1] if c.n_sessions else np.zeros(0, dtype=np.int64)

    def to_dataframe(self):
        """SessionId, ItemId (original ids), Time, ordered as in the split."""
        import pandas as pd
        c = self._c
        sess, items, _ = self.arrays()
        return pd.DataFrame({"SessionId": sess, "ItemId": _item_ids_out(items),
                             "Time": pd.to_datetime(_array(c.times, c.n_events, np.int64),
                                                    unit="us", utc=True)})


def open_split(data, **read_kw):
    """A Split from a split file, a click log path (grouped, not filtered), a
    Log, a DataFrame, or a Split (returned as is)."""
    if isinstance(data, Split):
        return data
    c, err = L.Split(), _err()
    if isinstance(data, Log) or hasattr(data, "columns") or read_kw:
        log = _as_log(data, dict(read_kw))
        L.check(L.sr_split_from_log(ctypes.byref(log._c), ctypes.byref(c), ctypes.byref(err)), err)
    else:
        L.check(L.sr_split_open(L.enc(str(data)), ctypes.byref(c), ctypes.byref(err)), err)
    return Split(c)


class Prepared:
    """What prepare returns: train_full and test, and with valid_days > 0 also
    train (train_full minus valid) and valid; else those two are None."""

    def __init__(self, train_full, test, train, valid, filter_rounds, filtered_events):
        self.train_full, self.test, self.train, self.valid = train_full, test, train, valid
        self.filter_rounds, self.filtered_events = filter_rounds, filtered_events

    def save(self, directory, tsv=False):
        """The files `sessrec prepare -o DIR` writes (splits; with tsv also TSVs)."""
        import os
        os.makedirs(directory, exist_ok=True)
        names = [("train_full", self.train_full), ("test", self.test)]
        if self.valid is not None:
            names += [("train", self.train), ("valid", self.valid)]
        for name, s in names:
            s.save(os.path.join(directory, name + ".split"))
            if tsv:
                s.save_tsv(os.path.join(directory, name + ".tsv"))


def prepare(data, filter="recursive", min_session_length=2, min_item_support=5, test_days=1.0,
            valid_days=0.0, dedup=False, threads=0, **read_kw):
    """Cleans and splits a click log by time, as `sessrec prepare`: `data` is a
    path (read with read_log's options: format, nrows, skip_bad_lines,
    session_key, item_key, time_key), a Log or a DataFrame (its columns named
    by session_key/item_key/time_key, default SessionId/ItemId/Time)."""
    log = _as_log(data, dict(read_kw))
    o = L.sr_prepare_default_opts()
    o.filter = L.parse_enum(L.sr_filter_parse, filter, "filter")
    o.min_session_length, o.min_item_support = int(min_session_length), int(min_item_support)
    o.test_days, o.valid_days = float(test_days), float(valid_days)
    o.dedup, o.threads = 1 if dedup else 0, int(threads)
    p, err = L.Prepared(), _err()
    L.check(L.sr_prepare(ctypes.byref(log._c), ctypes.byref(o), ctypes.byref(p),
                         ctypes.byref(err)), err)
    # each split moves into its own Split object, which frees it
    splits = {}
    for name in ("train_full", "test", "train", "valid"):
        c = L.Split()
        ctypes.pointer(c)[0] = getattr(p, name)
        splits[name] = Split(c)
    if not p.has_valid:
        splits["train"] = splits["valid"] = None
    return Prepared(splits["train_full"], splits["test"], splits["train"], splits["valid"],
                    int(p.filter_rounds), int(p.filtered_events))


# ---- algorithms and parameters ------------------------------------------------------

_PTYPES = ["int", "number", "bool", "choice", "text"]


def algorithms():
    """The algorithm table: {name: {"summary", "params": [{name, type, lo, hi,
    choices, default, help}], "presets": {name: params text}}}."""
    out = {}
    for i in range(L.sr_algo_count()):
        a = L.sr_algo_at(i).contents
        params = []
        for j in range(a.n_params):
            p = a.params[j]
            choices = []
            if p.choices:
                k = 0
                while p.choices[k]:
                    choices.append(p.choices[k].decode())
                    k += 1
            params.append({"name": p.name.decode(), "alias": p.alias.decode() if p.alias else None,
                           "type": _PTYPES[p.type], "lo": p.lo, "hi": p.hi, "choices": choices,
                           "default": p.def_.decode() if p.def_ else None,
                           "help": p.help.decode() if p.help else ""})
        presets = {a.presets[j].name.decode(): a.presets[j].params.decode()
                   for j in range(a.n_presets)}
        out[a.name.decode()] = {"summary": a.summary.decode(), "params": params,
                                "presets": presets}
    return out


def _param_value(v):
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, (list, tuple)):
        return "/".join(_param_value(x) for x in v)
    if v is None:
        return "None"
    if isinstance(v, float) and v == int(v) and abs(v) < 1e15:
        return repr(v)
    return str(v)


def parse_params(params):
    """Parameters as the library's "name=value,..." text, from a string, a dict
    ({"layers": [100, 100], "constrained_embedding": True}) or None."""
    if params is None:
        return None
    if isinstance(params, str):
        return params
    if isinstance(params, dict):
        parts = []
        for k, v in params.items():
            text = _param_value(v)
            if "," in text or "=" in str(k):
                raise ValueError("sessrec: parameter %s=%r cannot be written as name=value" % (k, v))
            parts.append("%s=%s" % (k, text))
        return ",".join(parts)
    raise TypeError("sessrec: params must be a string or a dict, not %s" % type(params).__name__)


def _eval_opts(cutoffs=(1, 5, 10, 20), ties="conservative", batch_size=0, threads=0):
    o = L.sr_eval_default_opts()
    cutoffs = [int(c) for c in ([cutoffs] if isinstance(cutoffs, int) else cutoffs)]
    if not 1 <= len(cutoffs) <= L.SR_MAX_CUTOFFS:
        raise ValueError("sessrec: 1 to %d cutoffs, not %d" % (L.SR_MAX_CUTOFFS, len(cutoffs)))
    o.n_cutoffs = len(cutoffs)
    for i, c in enumerate(cutoffs):
        o.cutoffs[i] = c
    o.ties = L.parse_enum(L.sr_ties_parse, ties, "ties")
    if batch_size:
        o.batch_size = int(batch_size)
    o.threads = int(threads)
    return o


def _metrics(r):
    d = {}
    for i in range(r.n_cutoffs):
        k = r.cutoffs[i]
        d["recall@%d" % k] = r.recall[i]
        d["mrr@%d" % k] = r.mrr[i]
        d["ndcg@%d" % k] = r.ndcg[i]
    d["n_predictions"] = int(r.n_predictions)
    d["n_skipped"] = int(r.n_skipped)
    d["seconds"] = r.seconds
    return d


# ---- training ----------------------------------------------------------------------

class _Interrupt:
    """SIGINT during training sets a flag (the default handler would raise
    KeyboardInterrupt inside a ctypes callback, where it is only printed)."""

    def __init__(self):
        self.hit = False
        self.old = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.old = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        if self.hit:  # a second Ctrl-C: the previous handler (usually KeyboardInterrupt)
            if callable(self.old):
                self.old(signum, frame)
            return
        self.hit = True

    def __exit__(self, *exc):
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)
        return False


def train(train, algo="gru4rec", preset=None, params=None, valid=None, cutoff=20,
          metric="recall", patience=0, keep_best=False, callback=None, progress=None,
          threads=0, seed=None):
    """Trains any algorithm of the table on `train` (a Split, split file, log
    path or DataFrame): its defaults, then `preset`, then `params` (a
    "name=value,..." string or a dict). With `valid`, Recall@cutoff and
    MRR@cutoff are measured after every epoch (gru4rec).

    callback(epoch) is called after every gru4rec epoch with a dict (epoch,
    n_epochs, loss, events_per_sec, and with valid: recall, mrr, plus best_epoch
    / improved / since_best when the library has training controls); returning
    True stops training there. patience > 0 stops after that many epochs
    without improvement of `metric` ("recall", "mrr", "ndcg") and keeps the
    best epoch; keep_best keeps the best epoch without stopping. progress(done,
    total, loss) is called often during an epoch. Returns a Model."""
    tr = open_split(train)
    va = open_split(valid) if valid is not None else None
    spec = parse_params(params)
    info = algorithms().get(algo)
    if seed is not None and info and any(p["name"] == "seed" for p in info["params"]):
        # the algorithms without a seed are deterministic: nothing to set
        spec = (spec + "," if spec else "") + "seed=%d" % int(seed)
    o = L.sr_train_default_opts()
    o.threads = int(threads)
    if va is not None:
        o.valid = ctypes.pointer(va._c)
        o.valid_opts = _eval_opts([cutoff], "conservative", threads=threads)
    if (patience or keep_best) and va is None:
        raise ValueError("sessrec: patience and keep_best need a validation split (valid=)")
    if (patience or keep_best) and not L.HAVE_TRAIN_CONTROLS:
        raise SessrecError("SR_ERR_ARG", "early stopping (patience, keep_best) needs a "
                           "libsessrec with training controls (sr_train_opts.on_epoch); "
                           "this one (%s) has none" % L.lib_path)
    state = {"stop": False, "exc": None, "warned": False, "epochs": 0}

    def epoch_dict(epoch, n_epochs, loss, eps, valid_ptr):
        d = {"epoch": epoch, "n_epochs": n_epochs, "loss": loss, "events_per_sec": eps}
        if valid_ptr:
            r = valid_ptr.contents
            d["recall"], d["mrr"], d["ndcg"] = r.recall[0], r.mrr[0], r.ndcg[0]
        return d

    def user_epoch(d, intr):
        state["epochs"] = d["epoch"]
        if callback is not None and state["exc"] is None:
            try:
                if callback(d):
                    state["stop"] = True
            except BaseException as e:  # re-raised after training returns
                state["exc"] = e
                state["stop"] = True
        return state["stop"] or intr.hit

    with _Interrupt() as intr:
        def on_progress(pp, ud):
            p = pp.contents
            if p.epoch_done:
                if not L.HAVE_TRAIN_CONTROLS:
                    user_epoch(epoch_dict(p.epoch, p.n_epochs, p.loss, p.events_per_sec,
                                          p.valid), intr)
                    if (state["stop"] or intr.hit) and not state["warned"] and p.epoch < p.n_epochs:
                        state["warned"] = True
                        warnings.warn("sessrec: this libsessrec cannot stop training early "
                                      "(no on_epoch); it runs all epochs", RuntimeWarning)
            if progress is not None and state["exc"] is None:
                try:
                    progress(int(p.events_done), int(p.events_total), p.loss)
                except BaseException as e:
                    state["exc"] = e

        cb = L.TRAIN_CB(on_progress)
        o.cb = cb
        if L.HAVE_TRAIN_CONTROLS:
            def on_epoch(ep, ud):
                e = ep.contents
                d = epoch_dict(e.epoch, e.n_epochs, e.loss, e.events_per_sec, e.valid)
                d.update(best_epoch=e.best_epoch, best_metric=e.best_metric,
                         improved=bool(e.improved), since_best=e.since_best,
                         seconds=e.seconds)
                return 1 if user_epoch(d, intr) else 0
            ecb = L.EPOCH_CB(on_epoch)
            o.on_epoch = ecb
            o.metric = ["recall", "mrr", "ndcg"].index(metric)
            o.patience = int(patience)
            o.keep_best = 1 if keep_best else 0
        m, err = ctypes.c_void_p(), _err()
        st = L.sr_train(L.enc(algo), ctypes.byref(tr._c), L.enc(preset), L.enc(spec),
                        ctypes.byref(o), ctypes.byref(m), ctypes.byref(err))
        interrupted = intr.hit
    if st == 0:
        model = Model(m.value)
        model.epochs_run = state["epochs"]
    if state["exc"] is not None:
        raise state["exc"]
    if interrupted:
        raise KeyboardInterrupt("sessrec: training interrupted after epoch %d" % state["epochs"])
    L.check(st, err)
    return model


# ---- models ------------------------------------------------------------------------

class Model:
    """A trained model of any algorithm. Immutable: any number of threads may
    evaluate or score with it at once (each Session belongs to one thread)."""

    def __init__(self, handle):
        self._h = handle
        self.epochs_run = None

    def __del__(self):
        for h in self.__dict__.pop("_scorers", {}).values():
            L.sr_scorer_free(h)
        if getattr(self, "_h", None):
            L.sr_model_free(self._h)
            self._h = None

    @staticmethod
    def load(path):
        m, err = ctypes.c_void_p(), _err()
        L.check(L.sr_model_load(L.enc(path), ctypes.byref(m), ctypes.byref(err)), err)
        return Model(m.value)

    def save(self, path):
        """Writes the model file (the same as `sessrec train -o`), atomically."""
        err = _err()
        L.check(L.sr_model_save(self._h, L.enc(path), ctypes.byref(err)), err)

    @property
    def algo(self):
        return L.sr_model_algo(self._h).decode()

    @property
    def n_items(self):
        return int(L.sr_model_n_items(self._h))

    @property
    def item_ids(self):
        """The original ids of the items the model knows (index = dense index):
        int64, or str objects for a model trained on text ids."""
        ids = self.__dict__.get("_ids")
        if ids is None:
            n = self.n_items
            if n and L.sr_model_item_text(self._h, 0) is not None:
                ids = np.array([L.sr_model_item_text(self._h, i).decode("utf-8", "replace")
                                for i in range(n)], dtype=object)
            else:
                ids = _item_ids_out(_array(L.sr_model_item_ids(self._h), n, np.int64))
            self._ids = ids
        return ids

    def item_index(self, item):
        """Dense index of an item id (an integer, or text for text-id models),
        or -1 when the model does not know it."""
        if isinstance(item, (str, bytes)):
            b = item.encode("utf-8") if isinstance(item, str) else item
            return int(L.sr_model_item_find(self._h, b, len(b)))
        return int(L.sr_model_item_index(self._h, int(_item_ids_in([item])[0])))

    def evaluate(self, test, cutoffs=(1, 5, 10, 20), ties="conservative", batch_size=0,
                 threads=0):
        """Next-item evaluation as `sessrec eval` (every click but the last of a
        session is fed, all items ranked): {"recall@20": ..., "mrr@20": ...,
        "ndcg@20": ..., "n_predictions", "n_skipped", "seconds"}."""
        t = open_split(test)
        o = _eval_opts(cutoffs, ties, batch_size, threads)
        r, err = L.EvalResult(), _err()
        L.check(L.sr_evaluate(self._h, ctypes.byref(t._c), ctypes.byref(o), ctypes.byref(r),
                              ctypes.byref(err)), err)
        return _metrics(r)

    def session(self):
        """A live session: .click(item), .recommend(k)."""
        return Session(self)

    def restore_session(self, data):
        """A Session rebuilt from Session.to_bytes() (of a model with the same
        algorithm and items)."""
        out, err = ctypes.c_void_p(), _err()
        L.check(L.sr_session_restore(self._h, data, len(data), ctypes.byref(out),
                                     ctypes.byref(err)), err)
        return Session(self, _handle=out.value)

    def _scorer(self):
        """This thread's scratch scorer of the model (one slot) for sessions;
        freed with the model (a scorer must not outlive its model)."""
        scorers = self.__dict__.setdefault("_scorers", {})
        tid = threading.get_ident()  # a thread id is reused only once its thread is gone
        h = scorers.get(tid)
        if h is None:
            h = L.sr_scorer_new(self._h, 1)
            if not h:
                raise MemoryError("sessrec: no memory for a scorer")
            scorers[tid] = h
        return h

    def recommend(self, sessions, k=20, batch_size=256):
        """Top-k next items for each session (a list of item-id sequences), as
        (ids, scores): (n, k) arrays of original item ids (int64) and scores
        (float32), best first. Unknown items are skipped; a session with no
        known item gets ids -1 and scores NaN."""
        n_items = self.n_items
        k = int(min(k, n_items))
        seqs = []
        for s in sessions:
            s = list(s)
            idx = np.fromiter((self.item_index(i) for i in s), dtype=np.int64, count=len(s))
            seqs.append(idx[idx >= 0].astype(np.int32))
        n = len(seqs)
        table = self.item_ids
        out_ids = np.full((n, k), -1, dtype=np.int64) if table.dtype != object else \
            np.full((n, k), None, dtype=object)
        out_sc = np.full((n, k), np.nan, dtype=np.float32)
        order = sorted((i for i in range(n) if len(seqs[i])), key=lambda i: -len(seqs[i]))
        batch_size = max(1, int(batch_size))
        sc = L.sr_scorer_new(self._h, batch_size)
        if not sc:
            raise MemoryError("sessrec: no memory for a scorer")
        try:
            scores = np.empty((batch_size, n_items), dtype=np.float32)
            top = np.empty(k, dtype=np.int32)
            val = np.empty(k, dtype=np.float32)
            P32, PF = ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(ctypes.c_float)
            for b0 in range(0, len(order), batch_size):
                rows = order[b0:b0 + batch_size]  # longest first
                for slot in range(len(rows)):
                    L.sr_scorer_reset(sc, slot)
                lens = [len(seqs[i]) for i in rows]
                step_items = np.empty(len(rows), dtype=np.int32)
                for t in range(lens[0]):
                    active = sum(1 for x in lens if x > t)  # a prefix: sorted by length
                    for j in range(active):
                        step_items[j] = seqs[rows[j]][t]
                    ending = [j for j in range(active) if lens[j] == t + 1]
                    L.sr_scorer_step(sc, step_items.ctypes.data_as(P32), active,
                                     scores.ctypes.data_as(PF) if ending else None)
                    for j in ending:
                        got = L.sr_topk(scores[j].ctypes.data_as(PF), n_items, k,
                                        top.ctypes.data_as(P32), val.ctypes.data_as(PF))
                        out_ids[rows[j], :got] = table[top[:got]]
                        out_sc[rows[j], :got] = val[:got]
        finally:
            L.sr_scorer_free(sc)
        return out_ids, out_sc


def load_model(path):
    """Loads a model file written by `sessrec train` or Model.save."""
    return Model.load(path)


class Session:
    """One live session on a model (the library's sr_session: the model's state
    of the session and its recent clicks): click(item) feeds a click,
    recommend(k) ranks all items now. Each thread scores through its own
    scratch scorer of the model; a Session belongs to one thread at a time."""

    def __init__(self, model, _handle=None, clicks=None):
        self.model = model  # keeps the model alive while the session exists
        self._s = _handle or L.sr_session_new(model._h)
        if not self._s:
            raise MemoryError("sessrec: no memory for a session")
        self.clicks = list(clicks or [])

    def __del__(self):
        if getattr(self, "_s", None):
            L.sr_session_free(self._s)
            self._s = None

    def click(self, item):
        """Feeds one click; returns False (and ignores it) if the model does not
        know the item."""
        idx = self.model.item_index(item)
        if idx < 0:
            return False
        err = _err()
        L.check(L.sr_session_click(self.model._scorer(), self._s, idx, ctypes.byref(err)), err)
        self.clicks.append(item)
        return True

    def scores(self):
        """Scores of every item (index = position in model.item_ids) now; before
        the first click, the model's answer for an empty session."""
        out, err = np.empty(self.model.n_items, dtype=np.float32), _err()
        arr = (ctypes.c_void_p * 1)(self._s)
        L.check(L.sr_session_scores(self.model._scorer(), arr, 1,
                                    out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                    ctypes.byref(err)), err)
        return out

    def recommend(self, k=20, exclude_seen=False):
        """(ids, scores) of the top k items now, best first; exclude_seen leaves
        out the items the session clicked."""
        k = int(min(k, self.model.n_items))
        top, val = np.empty(k, dtype=np.int32), np.empty(k, dtype=np.float32)
        got = L.sr_session_recommend(self.model._scorer(), self._s, k, 1 if exclude_seen else 0,
                                     top.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                                     val.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        if got < 0:
            raise MemoryError("sessrec: no memory for scores")
        return self.model.item_ids[top[:got]], val[:got].copy()

    def to_bytes(self):
        """The session as bytes (Model.restore_session rebuilds it)."""
        n = L.sr_session_save(self._s, None, 0)
        buf = ctypes.create_string_buffer(n)
        L.sr_session_save(self._s, buf, n)
        return buf.raw
