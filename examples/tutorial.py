# %% [markdown]
# # GRU4Rec on YOOCHOOSE clicks with sessrec
# The flow of the Keras tutorial this project grew from (load clicks, recursive
# cleansing, split by date, statistics, a one-hot GRU, Recall@20 / MRR@20) as
# sessrec calls. Open it as a notebook (`# %%` cells) or run it as a script:
#     python3 examples/tutorial.py [yoochoose-clicks.dat [nrows]]
# From the source tree it finds the package in python/ and the library in build/
# (run `make` first); after `pip install ./python` it needs only SESSREC_LIB.

# %%
import os
import sys

import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import sessrec  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("SR_DATA") or os.path.join(here, "..", "..", "shared", "data")
CLICKS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    DATA, "raw", "yoochoose-clicks-head1000.dat")
NROWS = int(sys.argv[2]) if len(sys.argv) > 2 else 100000

# %% Load the clicks as the tutorial does: the first NROWS rows, with pandas
data = pd.read_csv(CLICKS, sep=",", header=None, usecols=[0, 1, 2], parse_dates=[1],
                   nrows=NROWS)
data.columns = ["SessionId", "Time", "ItemId"]
data

# %% Recursive cleansing (sessions >= 2 clicks, items >= 5 clicks, until nothing
# changes) and the split by date: the last day is the test set, the day before
# it the validation set. The DataFrame goes to the library in memory.
# (sessrec.prepare(CLICKS, nrows=NROWS, ...) reads the file directly, the same.)
splits = sessrec.prepare(data, filter="recursive", min_session_length=2, min_item_support=5,
                         test_days=1, valid_days=1)
tr, val, test = splits.train, splits.valid, splits.test

# %% The tutorial's stats_info
for name, s in [("train", tr), ("valid", val), ("test", test)]:
    st = s.stats()
    print(f"* {name} Set Stats Info\n\tEvents: {st['events']}\n\tSessions: {st['sessions']}\n"
          f"\tItems: {st['items']}\n\tLast Time : {st['last_time']}\n")

# %% The tutorial's model: one-hot input, one GRU layer of 50, dropout 0.1, full
# softmax cross-entropy, Adam lr 0.001, batch 1024, 3 epochs (preset "tutorial"),
# with Recall@20 / MRR@20 on the validation split after each epoch.
model = sessrec.train(tr, preset="tutorial", valid=val, cutoff=20, seed=1,
                      callback=lambda e: print("epoch {epoch}: loss {loss:.4f}, valid "
                                               "Recall@20 {recall:.4f} MRR@20 {mrr:.4f}".format(**e)))

# %% Test Recall@20 / MRR@20. The tutorial numbered items per split, so its test
# items did not mean what the model learned; here the test clicks are matched to
# the model's items by their original ids, every prefix of a session is ranked
# against all items, and ties count against the model (conservative).
result = model.evaluate(test, cutoffs=[20])
print(f"test Recall@20 {result['recall@20']:.4f}  MRR@20 {result['mrr@20']:.4f}  "
      f"({result['n_predictions']} predictions)")

# %% Next items for a live session, by original item ids
session = model.session()
for item in test.to_dataframe()["ItemId"][:2]:
    session.click(item)
ids, scores = session.recommend(5)
print("after", session.clicks, "->", list(ids))
