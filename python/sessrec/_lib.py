"""_lib.py - the ctypes binding of libsessrec: finds the shared library, mirrors
the structs of include/sessrec.h field by field, declares every function used,
and turns an sr_status into a Python exception carrying the library's message.

Nothing here is compiled. ctypes.CDLL (not PyDLL) releases the GIL for the
length of every call, so training, evaluation and scoring run while other
Python threads go on; the progress callbacks take the GIL back while they run.
"""
import ctypes
import ctypes.util
import glob
import os

_HERE = os.path.dirname(os.path.abspath(__file__))


class SessrecError(Exception):
    """An error the library reported: .status is the sr_status name
    ("SR_ERR_IO", ...), the text is the library's own message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _candidates():
    env = os.environ.get("SESSREC_LIB")
    if env:
        yield env
        return
    # next to the package (a copy installed with it), then the source tree's build/
    for pat in ("libsessrec.so", "libsessrec.so.*"):
        for p in sorted(glob.glob(os.path.join(_HERE, pat))):
            yield p
    yield os.path.join(_HERE, "..", "..", "build", "libsessrec.so")
    # installed: ldconfig's cache, then the loader's search path
    found = ctypes.util.find_library("sessrec")
    if found:
        yield found
    yield "libsessrec.so.0"


def _load():
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path + " (missing)")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError("sessrec: cannot load libsessrec.so; build it with `make` in the "
                      "source tree, `make install`, or set SESSREC_LIB to its path. Tried: "
                      + "; ".join(tried))


lib, lib_path = _load()

c_int, c_int64, c_double, c_float, c_char_p, c_void_p, c_size_t = (
    ctypes.c_int, ctypes.c_int64, ctypes.c_double, ctypes.c_float, ctypes.c_char_p,
    ctypes.c_void_p, ctypes.c_size_t)
P = ctypes.POINTER

SR_MAX_CUTOFFS = 16
SR_MAX_LAYERS = 4
STATUS = ["SR_OK", "SR_ERR_IO", "SR_ERR_PARSE", "SR_ERR_FORMAT", "SR_ERR_ARG",
          "SR_ERR_NOMEM", "SR_ERR_EMPTY", "SR_ERR_NUMERIC"]


class Error(ctypes.Structure):
    _fields_ = [("status", c_int), ("msg", ctypes.c_char * 512)]


class IdText(ctypes.Structure):
    _fields_ = [("n", c_int64), ("text", P(ctypes.c_char)), ("off", P(c_int64))]


class Log(ctypes.Structure):
    _fields_ = [("n", c_int64), ("cap", c_int64), ("session", P(c_int64)),
                ("item", P(c_int64)), ("time", P(c_int64)), ("item_text", IdText)]


SR_MAX_WHERE = 8


class Where(ctypes.Structure):
    _fields_ = [("key", c_char_p), ("values", c_char_p)]


class ReadOpts(ctypes.Structure):
    _fields_ = [("format", c_int), ("nrows", c_int64), ("skip_bad_lines", c_int),
                ("session_key", c_char_p), ("item_key", c_char_p), ("time_key", c_char_p),
                ("threads", c_int), ("delimiter", ctypes.c_char), ("ids", c_int),
                ("time_format", c_int), ("time_unit", c_int), ("n_where", c_int),
                ("where", Where * SR_MAX_WHERE), ("user_key", c_char_p),
                ("session_gap", c_double)]


class ReadReport(ctypes.Structure):
    _fields_ = [("format", c_int), ("lines", c_int64), ("bad_lines", c_int64),
                ("first_bad", ctypes.c_char * 256), ("bytes", c_int64), ("filtered", c_int64),
                ("delimiter", ctypes.c_char), ("text_items", c_int), ("text_sessions", c_int)]


class Split(ctypes.Structure):
    _fields_ = [("n_events", c_int64), ("n_sessions", c_int64), ("n_items", c_int64),
                ("session_ids", P(c_int64)), ("offsets", P(c_int64)),
                ("items", P(ctypes.c_int32)), ("times", P(c_int64)),
                ("item_ids", P(c_int64)), ("item_text", IdText), ("map_", c_void_p),
                ("map_len_", c_size_t)]


class PrepareOpts(ctypes.Structure):
    _fields_ = [("filter", c_int), ("min_session_length", c_int), ("min_item_support", c_int),
                ("test_days", c_double), ("valid_days", c_double), ("dedup", c_int),
                ("threads", c_int)]


class Prepared(ctypes.Structure):
    _fields_ = [("train_full", Split), ("test", Split), ("train", Split), ("valid", Split),
                ("has_valid", c_int), ("filter_rounds", c_int64), ("filtered_events", c_int64)]


class Stats(ctypes.Structure):
    _fields_ = [("events", c_int64), ("sessions", c_int64), ("items", c_int64),
                ("first_time", c_int64), ("last_time", c_int64), ("len_mean", c_double),
                ("len_q", c_int64 * 5), ("len_p90", c_int64), ("len_p99", c_int64),
                ("sup_q", c_int64 * 5), ("sup_p90", c_int64), ("sup_p99", c_int64)]


class EvalOpts(ctypes.Structure):
    _fields_ = [("n_cutoffs", c_int), ("cutoffs", c_int * SR_MAX_CUTOFFS), ("ties", c_int),
                ("batch_size", c_int), ("threads", c_int)]


class EvalResult(ctypes.Structure):
    _fields_ = [("n_predictions", c_int64), ("n_skipped", c_int64), ("n_cutoffs", c_int),
                ("cutoffs", c_int * SR_MAX_CUTOFFS), ("recall", c_double * SR_MAX_CUTOFFS),
                ("mrr", c_double * SR_MAX_CUTOFFS), ("ndcg", c_double * SR_MAX_CUTOFFS),
                ("seconds", c_double), ("threads", c_int)]


class TrainProgress(ctypes.Structure):
    _fields_ = [("epoch", c_int), ("n_epochs", c_int), ("events_done", c_int64),
                ("events_total", c_int64), ("loss", c_double), ("events_per_sec", c_double),
                ("epoch_done", c_int), ("valid", P(EvalResult))]


TRAIN_CB = ctypes.CFUNCTYPE(None, P(TrainProgress), c_void_p)

# Training controls (per-epoch callback that may stop, early stopping): present
# in libraries that have them; sr_model_gru_params arrived with them.
HAVE_TRAIN_CONTROLS = hasattr(lib, "sr_model_gru_params")


class TrainEpoch(ctypes.Structure):
    _fields_ = [("epoch", c_int), ("n_epochs", c_int), ("loss", c_double),
                ("events_per_sec", c_double), ("seconds", c_double), ("valid", P(EvalResult)),
                ("metric", c_double), ("best_epoch", c_int), ("best_metric", c_double),
                ("improved", c_int), ("since_best", c_int), ("stopping", c_int),
                ("checkpoint", c_char_p)]


EPOCH_CB = ctypes.CFUNCTYPE(c_int, P(TrainEpoch), c_void_p)

_train_fields = [("threads", c_int), ("valid", P(Split)), ("valid_opts", EvalOpts),
                 ("cb", TRAIN_CB), ("ud", c_void_p)]
if HAVE_TRAIN_CONTROLS:
    _train_fields += [("on_epoch", EPOCH_CB), ("metric", c_int), ("patience", c_int),
                      ("keep_best", c_int), ("save_optimizer", c_int),
                      ("checkpoint_path", c_char_p), ("checkpoint_every", c_int),
                      ("resume", c_void_p), ("init", c_void_p)]


class TrainOpts(ctypes.Structure):
    _fields_ = _train_fields


class ParamInfo(ctypes.Structure):
    _fields_ = [("name", c_char_p), ("alias", c_char_p), ("type", c_int), ("offset", c_size_t),
                ("lo", c_double), ("hi", c_double), ("choices", P(c_char_p)),
                ("def_", c_char_p), ("help", c_char_p)]


class PresetInfo(ctypes.Structure):
    _fields_ = [("name", c_char_p), ("params", c_char_p), ("help", c_char_p)]


class AlgoInfo(ctypes.Structure):
    _fields_ = [("name", c_char_p), ("summary", c_char_p), ("params", P(ParamInfo)),
                ("n_params", c_int), ("presets", P(PresetInfo)), ("n_presets", c_int)]


def _fn(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


E = P(Error)
sr_status_name = _fn("sr_status_name", c_char_p, c_int)
sr_read_default_opts = _fn("sr_read_default_opts", ReadOpts)
sr_read_log = _fn("sr_read_log", c_int, c_char_p, P(ReadOpts), P(Log), P(ReadReport), E)
sr_format_parse = _fn("sr_format_parse", c_int, c_char_p, P(c_int), E)
sr_format_name = _fn("sr_format_name", c_char_p, c_int)
sr_log_free = _fn("sr_log_free", None, P(Log))
sr_split_free = _fn("sr_split_free", None, P(Split))
sr_filter_parse = _fn("sr_filter_parse", c_int, c_char_p, P(c_int), E)
sr_prepare_default_opts = _fn("sr_prepare_default_opts", PrepareOpts)
sr_prepare = _fn("sr_prepare", c_int, P(Log), P(PrepareOpts), P(Prepared), E)
sr_split_save = _fn("sr_split_save", c_int, P(Split), c_char_p, E)
sr_split_load = _fn("sr_split_load", c_int, c_char_p, P(Split), E)
sr_split_save_tsv = _fn("sr_split_save_tsv", c_int, P(Split), c_char_p, E)
sr_split_open = _fn("sr_split_open", c_int, c_char_p, P(Split), E)
sr_split_from_log = _fn("sr_split_from_log", c_int, P(Log), P(Split), E)
sr_split_stats = _fn("sr_split_stats", c_int, P(Split), P(Stats), E)
sr_model_n_items = _fn("sr_model_n_items", c_int64, c_void_p)
sr_model_item_ids = _fn("sr_model_item_ids", P(c_int64), c_void_p)
sr_model_item_index = _fn("sr_model_item_index", c_int64, c_void_p, c_int64)
sr_model_item_text = _fn("sr_model_item_text", c_char_p, c_void_p, c_int64)
sr_model_item_find = _fn("sr_model_item_find", c_int64, c_void_p, c_char_p, c_size_t)
sr_model_algo = _fn("sr_model_algo", c_char_p, c_void_p)
sr_scorer_new = _fn("sr_scorer_new", c_void_p, c_void_p, c_int)
sr_scorer_free = _fn("sr_scorer_free", None, c_void_p)
sr_scorer_reset = _fn("sr_scorer_reset", None, c_void_p, c_int)
sr_scorer_step = _fn("sr_scorer_step", None, c_void_p, P(ctypes.c_int32), c_int, P(c_float))
sr_topk = _fn("sr_topk", c_int, P(c_float), c_int64, c_int, P(ctypes.c_int32), P(c_float))
sr_session_new = _fn("sr_session_new", c_void_p, c_void_p)
sr_session_free = _fn("sr_session_free", None, c_void_p)
sr_session_click = _fn("sr_session_click", c_int, c_void_p, c_void_p, ctypes.c_int32, E)
sr_session_scores = _fn("sr_session_scores", c_int, c_void_p, P(c_void_p), c_int, P(c_float), E)
sr_session_recommend = _fn("sr_session_recommend", c_int, c_void_p, c_void_p, c_int, c_int,
                           P(ctypes.c_int32), P(c_float))
sr_session_save = _fn("sr_session_save", c_size_t, c_void_p, c_void_p, c_size_t)
sr_session_restore = _fn("sr_session_restore", c_int, c_void_p, c_void_p, c_size_t,
                         P(c_void_p), E)
sr_model_save = _fn("sr_model_save", c_int, c_void_p, c_char_p, E)
sr_model_load = _fn("sr_model_load", c_int, c_char_p, P(c_void_p), E)
sr_model_free = _fn("sr_model_free", None, c_void_p)
sr_ties_parse = _fn("sr_ties_parse", c_int, c_char_p, P(c_int), E)
sr_eval_default_opts = _fn("sr_eval_default_opts", EvalOpts)
sr_evaluate = _fn("sr_evaluate", c_int, c_void_p, P(Split), P(EvalOpts), P(EvalResult), E)
sr_train_default_opts = _fn("sr_train_default_opts", TrainOpts)
sr_train = _fn("sr_train", c_int, c_char_p, P(Split), c_char_p, c_char_p, P(TrainOpts),
               P(c_void_p), E)
sr_algo_count = _fn("sr_algo_count", c_int)
sr_algo_at = _fn("sr_algo_at", P(AlgoInfo), c_int)
sr_algo_find = _fn("sr_algo_find", P(AlgoInfo), c_char_p)
sr_resolve_threads = _fn("sr_resolve_threads", c_int, c_int)


def check(status, err):
    """Raises SessrecError with the library's message unless status is SR_OK."""
    if status != 0:
        name = STATUS[status] if 0 <= status < len(STATUS) else "status %d" % status
        raise SessrecError(name, err.msg.decode("utf-8", "replace"))


def enc(s):
    return None if s is None else str(s).encode("utf-8")


def parse_enum(fn, name, what):
    """An enum value from its name through the library's sr_<enum>_parse."""
    v = c_int()
    err = Error()
    check(fn(enc(name), ctypes.byref(v), ctypes.byref(err)), err)
    return v.value
