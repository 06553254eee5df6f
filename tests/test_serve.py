#!/usr/bin/env python3
"""test_serve.py - `sessrec serve` end to end: starts the server on a free
loopback port and talks to it with real clients (curl and http.client):
every endpoint and error, the same top-k as `sessrec recommend`, reload
during requests with zero failures, snapshot -> stop -> restart -> the same
recommendations, LRU eviction and idle expiry at small limits, slow clients.

Run from the project root (SR_BIN names the sessrec binary, default
build/sessrec). Prints "N passed, N failed, N skipped" like the C tests.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.path.abspath(os.environ.get("SR_BIN", "build/sessrec"))
TMP = tempfile.mkdtemp(prefix="srserve.")
passed = failed = skipped = 0
cur = ""
cur_failed = False


def check(cond, what):
    global cur_failed
    if not cond:
        print(f"  FAIL [{cur}]: {what}", file=sys.stderr)
        cur_failed = True
    return cond


def run_test(fn):
    global passed, failed, cur, cur_failed
    cur, cur_failed = fn.__name__, False
    try:
        fn()
    except Exception as e:  # a crash of the test or the server is a failure
        check(False, f"exception {type(e).__name__}: {e}")
    if cur_failed:
        failed += 1
        print(f"FAIL {cur}", file=sys.stderr)
    else:
        passed += 1
        print(f"ok   {cur}", file=sys.stderr)


def sh(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=300, **kw)


class Server:
    """One `sessrec serve` process on 127.0.0.1 and a free port."""

    def __init__(self, model, *opts):
        self.port_file = os.path.join(TMP, f"port.{time.monotonic_ns()}")
        self.log = open(os.path.join(TMP, "server.log"), "a")
        self.p = subprocess.Popen([BIN, "serve", model, "--port", "0", "--port-file",
                                   self.port_file, *opts], stdout=self.log, stderr=self.log)
        for _ in range(300):  # at most 30 s for the model to load
            if os.path.exists(self.port_file):
                break
            if self.p.poll() is not None:
                raise RuntimeError(f"server exited with {self.p.returncode}")
            time.sleep(0.1)
        self.port = int(open(self.port_file).read())

    def req(self, method, path, body=None, headers=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        c.request(method, path, body=data, headers=headers or {})
        r = c.getresponse()
        raw = r.read()
        c.close()
        ctype = r.getheader("Content-Type", "")
        return r.status, (json.loads(raw) if ctype.startswith("application/json") else raw.decode())

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        return self.p.returncode


def ids(resp):
    return [x["item"] for x in resp["items"]]


# ---- fixtures: a small synthetic data set, a GRU4Rec and a kNN model -------------------

DATA = os.path.join(TMP, "data")
GRU = os.path.join(TMP, "gru.srm")
KNN = os.path.join(TMP, "sknn.srm")
GRU2 = os.path.join(TMP, "gru2.srm")
SESSIONS = []   # test sessions (lists of item ids as text)


def setup():
    clicks = os.path.join(TMP, "clicks.dat")
    for args in (["synth", "-o", clicks, "--clicks", "60000", "--seed", "3"],
                 ["prepare", clicks, "-o", DATA, "--tsv"],
                 ["train", DATA + "/train_full", "-o", GRU, "-p",
                  "layers=24,n_epochs=1,n_sample=128,batch_size=32"],
                 ["train", DATA + "/train_full", "-o", GRU2, "-p",
                  "layers=24,n_epochs=1,n_sample=128,batch_size=32,seed=5"],
                 ["train", DATA + "/train_full", "-o", KNN, "--algo", "sknn"]):
        r = sh(BIN, *args)
        if r.returncode:
            raise RuntimeError(f"{args[0]} failed: {r.stderr}")
    cur_s, last = [], None
    with open(os.path.join(DATA, "test.tsv")) as f:
        next(f)
        for line in f:
            s, it, _ = line.split("\t")
            if s != last and cur_s:
                SESSIONS.append(cur_s)
                cur_s = []
            last = s
            cur_s.append(it)
    if cur_s:
        SESSIONS.append(cur_s)
    SESSIONS[:] = [x for x in SESSIONS if len(x) >= 4]


def cli_recommend(model, items, k):
    r = sh(BIN, "recommend", model, *items, "-k", str(k), "--json")
    return [str(x["item"]) for x in json.loads(r.stdout.splitlines()[0])["recommendations"]]


# ---- tests --------------------------------------------------------------------------------

def test_endpoints():
    s = Server(GRU)
    try:
        st, h = s.req("GET", "/healthz")
        check(st == 200 and h["status"] == "ok" and h["algo"] == "gru4rec", f"healthz {h}")
        a, b = SESSIONS[0][0], SESSIONS[0][1]
        st, r = s.req("POST", "/v1/sessions/u1/clicks", {"item": a, "k": 5})
        check(st == 200 and r["session"] == "u1" and r["clicks"] == 1 and len(r["items"]) == 5
              and r["unknown"] == [], f"clicks {st} {r}")
        check(all(isinstance(x["item"], str) and isinstance(x["score"], float) for x in r["items"]),
              "items are text with a score")
        scores = [x["score"] for x in r["items"]]
        check(scores == sorted(scores, reverse=True), "best first")
        st, r = s.req("POST", "/v1/sessions/u1/clicks", {"items": [b, "999999999999", "x"], "k": 3})
        check(st == 200 and r["clicks"] == 2 and r["unknown"] == ["999999999999", "x"]
              and len(r["items"]) == 3, f"clicks with unknown items {r}")
        st, g = s.req("GET", "/v1/sessions/u1/recommendations?k=3")
        check(st == 200 and ids(g) == ids(r) and g["clicks"] == 2, f"recommendations {g} vs {r}")
        st, r0 = s.req("POST", "/v1/sessions/u0/clicks", {"items": [a, b], "k": 0})
        check(st == 200 and r0["items"] == [] and r0["clicks"] == 2, f"k=0 records only {r0}")
        st, g0 = s.req("GET", "/v1/sessions/u0/recommendations?k=3")
        check(ids(g0) == ids(r), "k=0 clicks moved the session the same way")
        st, g = s.req("GET", "/v1/sessions/u1/recommendations?k=50&exclude_seen=true")
        check(st == 200 and a not in ids(g) and b not in ids(g), "exclude_seen")
        st, g2 = s.req("GET", "/v1/sessions/u1/recommendations?k=50&exclude_seen=false")
        check([x for x in ids(g2) if x not in (a, b)][:40] == ids(g)[:40], "exclude_seen keeps order")
        st, g = s.req("GET", "/v1/sessions/u1/recommendations")
        check(st == 200 and len(g["items"]) == 20, "default k is 20")
        st, r = s.req("POST", "/v1/recommend", {"items": [a, b], "k": 3})
        check(st == 200 and ids(r) == ids(g)[:3] and r["unknown"] == [], f"stateless {r}")
        st, r = s.req("POST", "/v1/recommend", {"items": [int(a), int(b)], "k": 3})
        check(st == 200 and ids(r) == ids(g)[:3], "integer item ids")
        st, r = s.req("DELETE", "/v1/sessions/u1")
        check(st == 200 and r["deleted"] is True, f"delete {r}")
        st, r = s.req("GET", "/v1/sessions/u1/recommendations")
        check(st == 404, "deleted session is gone")
        st, m = s.req("GET", "/metrics")
        check(st == 200 and 'sessrec_http_requests_total{endpoint="clicks"} 3' in m, "metrics counts")
        for name in ("sessrec_http_errors_total", "sessrec_http_request_seconds_bucket",
                     "sessrec_sessions ", "sessrec_session_bytes", "sessrec_session_evictions_total",
                     "sessrec_model_info{file=", "sessrec_model_loaded_timestamp_seconds"):
            check(name in m, f"metrics has {name}")
        # curl, a second real client
        out = sh("curl", "-s", "-d", json.dumps({"item": a, "k": 2}),
                 f"http://127.0.0.1:{s.port}/v1/sessions/c1/clicks")
        check(out.returncode == 0 and json.loads(out.stdout)["clicks"] == 1, f"curl {out.stdout}")
        out = sh("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE",
                 f"http://127.0.0.1:{s.port}/v1/sessions/c1")
        check(out.stdout == "200", f"curl delete {out.stdout}")
    finally:
        check(s.stop() == 0, "clean exit")


def test_errors():
    s = Server(GRU, "--max-body", "1000", "--max-items", "5", "--max-k", "50",
               "--admin-token", "sekret")
    item = SESSIONS[0][0]
    try:
        cases = [
            ("POST", "/v1/sessions/e/clicks", "{bad", 400, "malformed JSON"),
            ("POST", "/v1/sessions/e/clicks", "[1,2]", 400, "JSON object"),
            ("POST", "/v1/sessions/e/clicks", "", 400, "malformed JSON"),
            ("POST", "/v1/sessions/e/clicks", {"item": 1.5}, 400, "item 0"),
            ("POST", "/v1/sessions/e/clicks", {"item": None}, 400, "item 0"),
            ("POST", "/v1/sessions/e/clicks", {"items": "x"}, 400, "array"),
            ("POST", "/v1/sessions/e/clicks", {"items": []}, 400, "empty"),
            ("POST", "/v1/sessions/e/clicks", {"k": 3}, 400, "missing"),
            ("POST", "/v1/sessions/e/clicks", {"item": item, "items": [item]}, 400, "not both"),
            ("POST", "/v1/sessions/e/clicks", {"item": item, "k": -1}, 400, "\"k\""),
            ("POST", "/v1/recommend", {"items": [item], "k": 0}, 400, "\"k\""),
            ("POST", "/v1/sessions/e/clicks", {"item": item, "k": 51}, 400, "\"k\""),
            ("POST", "/v1/sessions/e/clicks", {"item": item, "k": "3"}, 400, "\"k\""),
            ("POST", "/v1/sessions/e/clicks", {"item": item, "exclude_seen": 1}, 400, "exclude_seen"),
            ("POST", "/v1/sessions/e/clicks", {"item": item, "bogus": 1}, 400, "unknown field"),
            ("POST", "/v1/sessions/e/clicks", '{"item": "1", "item": "2"}', 400, "duplicate"),
            ("POST", "/v1/sessions/e/clicks", {"items": [item] * 6}, 413, "6 items"),
            ("POST", "/v1/sessions/e/clicks", {"items": ["x" * 65]}, 400, "64 bytes"),
            ("POST", "/v1/sessions/e/clicks", "x" * 2000, 413, "body over"),
            ("POST", "/v1/sessions/" + "a" * 129 + "/clicks", {"item": item}, 400, "session id"),
            ("POST", "/v1/sessions//clicks", {"item": item}, 400, "session id"),
            ("GET", "/v1/sessions/e/clicks", None, 405, "takes POST"),
            ("PUT", "/v1/sessions/e", None, 405, "takes DELETE"),
            ("GET", "/v1/sessions/nobody/recommendations", None, 404, "no session"),
            ("GET", "/v1/sessions/e/recommendations?k=abc", None, 400, "k must be"),
            ("GET", "/v1/sessions/e/recommendations?k=0", None, 400, "k must be"),
            ("GET", "/v1/sessions/e/recommendations?exclude_seen=maybe", None, 400, "exclude_seen"),
            ("GET", "/v1/sessions/e/recommendations?kk=1", None, 400, "unknown query"),
            ("DELETE", "/v1/sessions/nobody", None, 404, "no session"),
            ("GET", "/v1/sessions/e/other", None, 404, "no endpoint"),
            ("GET", "/nothing", None, 404, "no endpoint"),
            ("GET", "/v1/recommend", None, 405, "takes POST"),
            ("POST", "/healthz", None, 405, "takes GET"),
            ("POST", "/v1/admin/reload", None, 401, "Bearer"),
        ]
        for method, path, body, want, text in cases:
            st, r = s.req(method, path, body)
            check(st == want and isinstance(r, dict) and text in r.get("error", ""),
                  f"{method} {path[:40]} {str(body)[:40]}: {st} {r}")
        st, r = s.req("POST", "/v1/admin/reload", None, {"Authorization": "Bearer wrong"})
        check(st == 401, "wrong token")
        st, r = s.req("POST", "/v1/admin/reload", None, {"Authorization": "Bearer sekret"})
        check(st == 200 and r["reloaded"] is True, f"right token {r}")
        # a session whose request failed is not created
        st, r = s.req("GET", "/v1/sessions/e/recommendations")
        check(st == 404, "failed requests create no session")
        st, h = s.req("GET", "/healthz")
        check(h["sessions"] == 0, "no sessions")
        st, m = s.req("GET", "/metrics")
        check('sessrec_http_errors_total{endpoint="clicks"} ' in m and
              'sessrec_http_errors_total{endpoint="other"} 2' in m, "errors counted")
        # raw bytes: not UTF-8 in the path, NUL in the body: still a JSON error
        st, r = s.req("POST", "/v1/sessions/%ff%fe/clicks", b'{"item": "a\\u0000b"}')
        check(st == 400, f"odd bytes {st} {r}")
    finally:
        check(s.stop() == 0, "clean exit")
    # anything but loopback needs an admin token; bad options
    r = sh(BIN, "serve", GRU, "--bind", "0.0.0.0", "--port", "0")
    check(r.returncode == 1 and "admin-token" in r.stderr, f"non-loopback refused: {r.stderr}")
    r = sh(BIN, "serve", GRU, "--bind", "nowhere")
    check(r.returncode == 1 and "--bind" in r.stderr, f"bad --bind: {r.stderr}")
    r = sh(BIN, "serve", os.path.join(TMP, "missing.srm"), "--port", "0")
    check(r.returncode == 1 and "missing.srm" in r.stderr, f"missing model: {r.stderr}")


def test_same_as_recommend():
    for model in (GRU, KNN):
        s = Server(model)
        try:
            for n, sess in enumerate(SESSIONS[:15]):
                items = sess[:4]
                want = cli_recommend(model, items, 10)
                for it in items:
                    st, r = s.req("POST", f"/v1/sessions/m{n}/clicks", {"item": it, "k": 10})
                check(st == 200 and ids(r) == want, f"{os.path.basename(model)} session {n}: "
                      f"{ids(r)} vs {want}")
                st, r = s.req("POST", "/v1/recommend", {"items": items, "k": 10})
                check(ids(r) == want, f"stateless {n}")
                st, r = s.req("GET", f"/v1/sessions/m{n}/recommendations?k=10")
                check(ids(r) == want, f"recommendations {n}")
        finally:
            check(s.stop() == 0, "clean exit")


def test_reload_during_requests():
    live = os.path.join(TMP, "live.srm")
    shutil.copy(GRU, live)
    s = Server(live, "--workers", "2", "--batch-split", "2")  # two workers taking thirds
    stop = threading.Event()
    results = {"ok": 0, "bad": []}
    lock = threading.Lock()

    def client(t):
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
        i = 0
        while not stop.is_set() and i < 100000:
            sess = SESSIONS[(t * 7 + i) % len(SESSIONS)]
            body = json.dumps({"item": sess[i % len(sess)], "k": 5})
            try:
                c.request("POST", f"/v1/sessions/r{t}-{i % 5}/clicks", body=body)
                r = c.getresponse()
                r.read()
                with lock:
                    if r.status == 200:
                        results["ok"] += 1
                    else:
                        results["bad"].append(r.status)
            except Exception as e:
                with lock:
                    results["bad"].append(repr(e))
                c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
            i += 1

    threads = [threading.Thread(target=client, args=(t,)) for t in range(6)]
    try:
        for t in threads:
            t.start()
        time.sleep(0.3)
        for k in range(6):  # alternate the model file under the server, SIGHUP and the endpoint
            shutil.copy(GRU2 if k % 2 == 0 else GRU, live + ".new")
            os.replace(live + ".new", live)  # as a deployment would: never a half-written file
            if k % 2:
                s.p.send_signal(signal.SIGHUP)
            else:
                st, r = s.req("POST", "/v1/admin/reload")
                check(st == 200, f"reload {st} {r}")
            time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    check(results["ok"] > 100 and not results["bad"],
          f"{results['ok']} ok, failures: {results['bad'][:5]}")
    st, m = s.req("GET", "/metrics")
    check("sessrec_reloads_total 6" in m, "6 reloads counted")
    check(s.stop() == 0, "clean exit")


def test_reload_swaps_model():
    live = os.path.join(TMP, "swap.srm")
    shutil.copy(GRU, live)
    s = Server(live)
    try:
        items = SESSIONS[1][:3]
        for it in items:
            st, r = s.req("POST", "/v1/sessions/w/clicks", {"item": it, "k": 10})
        check(ids(r) == cli_recommend(GRU, items, 10), "first model")
        shutil.copy(GRU2, live)
        s.p.send_signal(signal.SIGHUP)
        want = cli_recommend(GRU2, items, 10)
        for _ in range(50):  # the signal is handled asynchronously
            st, r = s.req("POST", "/v1/recommend", {"items": items, "k": 10})
            if ids(r) == want:
                break
            time.sleep(0.1)
        check(ids(r) == want, "stateless answers come from the new model")
        # the session carries over: its clicks are replayed through the new model
        st, r = s.req("GET", "/v1/sessions/w/recommendations?k=10")
        check(st == 200 and ids(r) == want and r["clicks"] == 3, f"session moved {r}")
        open(live, "wb").write(b"not a model")
        st, r = s.req("POST", "/v1/admin/reload")
        check(st == 500 and "old model stays" in r["error"], f"failed reload {r}")
        st, r = s.req("GET", "/v1/sessions/w/recommendations?k=10")
        check(st == 200 and ids(r) == want, "still served by the old model")
    finally:
        check(s.stop() == 0, "clean exit")


def test_snapshot_restart():
    snap = os.path.join(TMP, "snap.bin")
    s = Server(GRU, "--snapshot", snap)
    before = {}
    try:
        for n, sess in enumerate(SESSIONS[:30]):
            st, r = s.req("POST", f"/v1/sessions/s{n}/clicks", {"items": sess[:3], "k": 10})
            before[n] = (ids(r), r["clicks"])
    finally:
        check(s.stop() == 0, "clean exit")
    check(os.path.exists(snap), "snapshot written")
    s = Server(GRU, "--snapshot", snap)
    try:
        st, h = s.req("GET", "/healthz")
        check(h["sessions"] == len(before), f"{len(before)} sessions restored, {h['sessions']}")
        for n in before:
            st, r = s.req("GET", f"/v1/sessions/s{n}/recommendations?k=10")
            check(st == 200 and (ids(r), r["clicks"]) == before[n], f"session {n} after restart")
        # and they go on from where they were
        st, r = s.req("POST", "/v1/sessions/s0/clicks", {"item": SESSIONS[0][3], "k": 10})
        check(ids(r) == cli_recommend(GRU, SESSIONS[0][:4], 10) and r["clicks"] == 4, "continues")
    finally:
        check(s.stop(signal.SIGINT) == 0, "clean exit on SIGINT")
    # a different model: the sessions' clicks are replayed through it
    s = Server(GRU2, "--snapshot", snap)
    try:
        st, r = s.req("GET", "/v1/sessions/s1/recommendations?k=10")
        check(st == 200 and ids(r) == cli_recommend(GRU2, SESSIONS[1][:3], 10), "replayed")
    finally:
        s.stop()
    open(snap, "wb").write(b"SRSNAP01garbage")
    r = sh(BIN, "serve", GRU, "--port", "0", "--snapshot", snap)
    check(r.returncode == 1 and "snapshot" in r.stderr, f"corrupt snapshot refused: {r.stderr}")


def test_lru_and_ttl():
    s = Server(GRU, "--max-sessions", "3")
    it = SESSIONS[0][0]
    try:
        for name in "abc":
            s.req("POST", f"/v1/sessions/{name}/clicks", {"item": it})
        s.req("GET", "/v1/sessions/a/recommendations")  # b is now the least recently used
        s.req("POST", "/v1/sessions/d/clicks", {"item": it})
        for name, want in (("a", 200), ("b", 404), ("c", 200), ("d", 200)):
            st, _ = s.req("GET", f"/v1/sessions/{name}/recommendations")
            check(st == want, f"session {name}: {st}, expected {want}")
        st, m = s.req("GET", "/metrics")
        check("sessrec_session_evictions_total 1\n" in m and "sessrec_sessions 3\n" in m,
              "eviction counted")
    finally:
        check(s.stop() == 0, "clean exit")
    s = Server(GRU, "--session-ttl", "0.5")
    try:
        s.req("POST", "/v1/sessions/t/clicks", {"item": it})
        st, _ = s.req("GET", "/v1/sessions/t/recommendations")
        check(st == 200, "fresh session")
        time.sleep(0.8)
        st, _ = s.req("GET", "/v1/sessions/t/recommendations")
        check(st == 404, "expired after the ttl")
        s.req("POST", "/v1/sessions/u/clicks", {"item": it})
        time.sleep(2.5)  # no traffic at all: the idle sweep frees it
        st, h = s.req("GET", "/healthz")
        check(h["sessions"] == 0 and h["session_bytes"] == 0, f"idle sweep {h}")
        st, m = s.req("GET", "/metrics")
        check("sessrec_session_expired_total 2\n" in m, "expiries counted")
    finally:
        check(s.stop() == 0, "clean exit")


def test_same_session_concurrent():
    """Requests on one session from many connections at once: each waits its turn in the
    session's queue (no thread blocks), none is lost, each sees the clicks before it; a
    DELETE among them waits its turn too. Both event loops: poll (up to 4,096
    connections) and epoll (more); and batches that take a third of what waits past 2."""
    for opts in ((), ("--max-connections", "5000"), ("--batch-split", "2")):
        same_session_concurrent(opts)


def same_session_concurrent(opts):
    s = Server(GRU, "--batch-wait-us", "200", *opts)
    n_threads, per = 12, 15
    seen, bad = [], []
    lock = threading.Lock()

    def clicker(t, sid, out):
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
        for i in range(per):
            sess = SESSIONS[(t + i) % len(SESSIONS)]
            c.request("POST", f"/v1/sessions/{sid}/clicks",
                      body=json.dumps({"item": sess[0], "k": 3}))
            r = c.getresponse()
            body = json.loads(r.read())
            with lock:
                if r.status == 200:
                    out.append(body["clicks"])
                else:
                    bad.append((r.status, body))
        c.close()

    def deleter():
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
        for _ in range(per):
            c.request("DELETE", "/v1/sessions/d")
            r = c.getresponse()
            r.read()
            with lock:
                if r.status not in (200, 404):
                    bad.append((r.status, "delete"))
        c.close()

    try:
        threads = [threading.Thread(target=clicker, args=(t, "shared", seen))
                   for t in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        check(not bad, f"failures: {bad[:5]}")
        check(sorted(seen) == list(range(1, n_threads * per + 1)),
              f"each click saw a distinct count 1..{n_threads * per}: {sorted(seen)[:10]}...")
        st, r = s.req("GET", "/v1/sessions/shared/recommendations?k=3")
        check(st == 200 and r["clicks"] == n_threads * per, f"final clicks {st} {r}")
        other = []
        threads = [threading.Thread(target=clicker, args=(t, "d", other)) for t in range(4)]
        threads.append(threading.Thread(target=deleter))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        check(not bad and len(other) == 4 * per, f"with deletes: {bad[:5]}, {len(other)} ok")
        st, m = s.req("GET", "/metrics")
        check("sessrec_sessions " in m, "metrics answer")
    finally:
        check(s.stop() == 0, "clean exit")


def test_slow_client():
    s = Server(GRU, "--timeout", "1")
    try:
        slow = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        slow.sendall(b"POST /v1/sessions/x/clicks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        t0 = time.monotonic()
        st, _ = s.req("GET", "/healthz")  # others are served meanwhile
        check(st == 200, "served while a client is slow")
        data = slow.recv(100)  # the server hangs up on it
        check(data == b"" and time.monotonic() - t0 < 5, f"slow client cut off: {data!r}")
        slow.close()
    finally:
        check(s.stop() == 0, "clean exit")


def test_no_sanitizer_reports():
    """Every server of these tests logged to server.log: under a sanitizer
    build (ASan, UBSan, TSan) none of them may have reported anything."""
    with open(os.path.join(TMP, "server.log"), errors="replace") as f:
        log = f.read()
    bad = [l for l in log.splitlines() if "Sanitizer" in l or "runtime error:" in l]
    check(not bad, "sanitizer reports in the servers' log: %s" % bad[:3])


def main():
    if not os.path.exists(BIN) or not shutil.which("curl"):
        print("  skipping test_serve: no sessrec binary or no curl", file=sys.stderr)
        print("0 passed, 0 failed, 1 skipped")
        return 0
    try:
        setup()
        for t in (test_endpoints, test_errors, test_same_as_recommend, test_reload_swaps_model,
                  test_reload_during_requests, test_snapshot_restart, test_lru_and_ttl,
                  test_same_session_concurrent, test_slow_client, test_no_sanitizer_reports):
            run_test(t)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
