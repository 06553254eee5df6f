"""Shared fixtures: the repository root, the sessrec program (SR_BIN), the
real data (SR_DATA, default ../shared/data), small splits made from it."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))

import sessrec  # noqa: E402


def _data_dir():
    d = os.environ.get("SR_DATA") or os.path.join(ROOT, "..", "shared", "data")
    return os.path.abspath(d)


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def sessrec_bin():
    b = os.environ.get("SR_BIN") or os.path.join(ROOT, "build", "sessrec")
    b = os.path.abspath(b)
    if not os.path.exists(b):
        pytest.fail("no sessrec program at %s (run make)" % b)
    return b


@pytest.fixture(scope="session")
def data_dir():
    d = _data_dir()
    if not os.path.isdir(d):
        pytest.skip("%s missing" % d)
    return d


@pytest.fixture(scope="session")
def raw_clicks(data_dir):
    p = os.path.join(data_dir, "raw", "yoochoose-clicks-head1000.dat")
    if not os.path.exists(p):
        pytest.skip("%s missing" % p)
    return p


@pytest.fixture(scope="session")
def small(data_dir, tmp_path_factory):
    """A fifth of rsc15-100k's sessions (about 14,000 clicks over six days),
    prepared: train (train_full), test; paths of TSVs too."""
    src = os.path.join(data_dir, "rsc15-100k", "train_full.tsv")
    if not os.path.exists(src):
        pytest.skip("%s missing" % src)
    import pandas as pd
    df = pd.read_csv(src, sep="\t")
    df = df[pd.factorize(df["SessionId"])[0] % 5 == 0]
    d = tmp_path_factory.mktemp("small")
    path = str(d / "clicks.tsv")
    df.to_csv(path, sep="\t", index=False)
    prep = sessrec.prepare(path, test_days=1)
    prep.save(str(d), tsv=True)
    return {"dir": str(d), "tsv": path, "df": df, "prep": prep,
            "train": str(d / "train_full.split"), "test": str(d / "test.split")}


def run(args, **kw):
    """Runs a command, returns CompletedProcess (text)."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 600)
    return subprocess.run(args, **kw)
