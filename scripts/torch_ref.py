#!/usr/bin/python3
"""torch_ref.py - PyTorch reference for sessrec's GRU4Rec (tests/test_gru_torch.c).

Regenerate the committed fixture (Debian's python3-torch and python3-numpy; CI
only reads the committed file, it never runs this script):

    /usr/bin/python3 scripts/torch_ref.py tests/fixtures/gru_ref.bin

For a set of tiny models (12 items, GRU layers of 5 or 5/4 units, batch of 3,
4 shared extra negatives; constrained embedding, separate embedding and
one-hot input; cross-entropy with and without logq, bpr-max with and without
ELU/bpreg, full softmax cross-entropy) it builds the network the way the
official PyTorch GRU4Rec does (nn.Embedding(sparse=True) tables, nn.GRUCell
layers, the official one-hot GRUEmbedding layer 0 transcribed literally from
gru4rec_pytorch.py, its loss functions), with
fixed random weights (biases too) and fixed negative samples, and writes in
float64 -> float32:
  - the weights, converted to sessrec's layout (see below),
  - the items and samples of 3 session-parallel steps: step 1; row 1 starts a
    new session (hidden state zeroed); the batch shrinks to rows 0 and 2,
  - step 1's scores (before the loss) and loss, the gradient of every tensor,
  - the parameters and losses after 3 steps of the official Adagrad with
    momentum (sparse rows for the tables, coalesced), and after 3 steps of
    torch.optim.Adam (dense tensors) + torch.optim.SparseAdam (tables).

Layout conversion: nn.GRUCell weight_ih (3H, in) -> Wx (in, 3H) = weight_ih^T,
weight_hh -> Wh = weight_hh^T, bias_ih -> bx, bias_hh -> bh (gate order r|z|n
kept). The official one-hot layer (GRUEmbedding) has Wx0 (N, 3H) in chunks
x|r|z, Wrz0 (H, 2H) in chunks r|z, Wh0 (H, H) and one bias Bh0 (3H, x|r|z);
sessrec stores them as Wx0 = [Wx0_r | Wx0_z | Wx0_x], Wh0 = [Wrz0 | Wh0] and
bx0 = [Bh0_r | Bh0_z | Bh0_x] (a reordering of columns only: the equations
are the official ones, tanh((r * h) @ Wh0 + x part) and h' = (1-z) h + z n).

Fixture format (little endian): b"SRGR", u32 version 1, u32 record count, then
records: u16 name length, name, u8 type (0 float32, 1 int32), u32 count, data.
"""
import struct
import sys

import numpy as np
import torch
from torch import nn

torch.set_default_dtype(torch.float64)
N_ITEMS, BATCH, N_SAMPLE = 12, 3, 4

# (mode, layers, loss, n_sample, logq, bpreg, elu, momentum, embedding)
CASES = [
    ("constrained", [5], "xe", 4, 1.0, 0.0, 0.0, 0.0, 0),
    ("constrained", [5], "xe", 4, 0.0, 0.0, 0.0, 0.3, 0),
    ("constrained", [5], "bpr-max", 4, 0.0, 0.0, 0.0, 0.0, 0),
    ("constrained", [5], "bpr-max", 4, 0.0, 0.3, 0.5, 0.3, 0),
    ("constrained", [5], "full-xe", 0, 0.0, 0.0, 0.0, 0.0, 0),
    ("constrained", [5, 4], "xe", 4, 1.0, 0.0, 0.0, 0.3, 0),
    ("constrained", [5], "xe", 0, 0.0, 0.0, 0.0, 0.0, 0),
    ("embedding", [5], "xe", 4, 1.0, 0.0, 0.0, 0.0, 3),
    ("embedding", [5, 4], "bpr-max", 4, 0.0, 0.3, 0.5, 0.3, 3),
    ("embedding", [5], "full-xe", 0, 0.0, 0.0, 0.0, 0.3, 3),
    ("one-hot", [5], "xe", 4, 1.0, 0.0, 0.0, 0.3, 0),
    ("one-hot", [5, 4], "xe", 4, 0.5, 0.0, 0.0, 0.0, 0),
    ("one-hot", [5], "full-xe", 0, 0.0, 0.0, 0.0, 0.0, 0),
    ("one-hot", [5, 4], "bpr-max", 4, 0.0, 0.3, 0.5, 0.0, 0),
]
MODE_CODE = {"one-hot": 0, "embedding": 1, "constrained": 2}
LOSS_CODE = {"xe": 0, "bpr-max": 1, "full-xe": 2}
ALPHA = 0.75
ADAGRAD_LR, ADAM_LR = 0.1, 0.01


class GRUEmbedding(nn.Module):
    """Layer 0 fed by item one-hot vectors, transcribed line by line from the
    official gru4rec_pytorch.py (class GRUEmbedding; its reset_parameters is
    left out: init_net sets every weight). Not sessrec's equations restated:
    the reset gate multiplies the state before the product with Wh0."""

    def __init__(self, dim_in, dim_out):
        super(GRUEmbedding, self).__init__()
        self.Wx0 = nn.Embedding(dim_in, dim_out * 3, sparse=True)
        self.Wrz0 = nn.Parameter(torch.empty((dim_out, dim_out * 2), dtype=torch.float64))
        self.Wh0 = nn.Parameter(torch.empty((dim_out, dim_out * 1), dtype=torch.float64))
        self.Bh0 = nn.Parameter(torch.zeros(dim_out * 3, dtype=torch.float64))

    def forward(self, X, H):
        Vx = self.Wx0(X) + self.Bh0
        Vrz = torch.mm(H, self.Wrz0)
        vx_x, vx_r, vx_z = Vx.chunk(3, 1)
        vh_r, vh_z = Vrz.chunk(2, 1)
        r = torch.sigmoid(vx_r + vh_r)
        z = torch.sigmoid(vx_z + vh_z)
        h = torch.tanh(torch.mm(r * H, self.Wh0) + vx_x)
        h = (1.0 - z) * H + z * h
        return h


class Net(nn.Module):
    def __init__(self, mode, layers, embedding):
        super().__init__()
        self.mode, self.layers = mode, layers
        self.start = 0
        if mode == "constrained":
            n_in = layers[-1]
        elif mode == "embedding":
            self.E = nn.Embedding(N_ITEMS, embedding, sparse=True)
            n_in = embedding
        else:
            self.GE = GRUEmbedding(N_ITEMS, layers[0])
            self.start = 1
        cells = []
        for i in range(self.start, len(layers)):
            cells.append(nn.GRUCell(layers[i - 1] if i > 0 else n_in, layers[i]))
        self.G = nn.ModuleList(cells)
        self.Wy = nn.Embedding(N_ITEMS, layers[-1], sparse=True)
        self.By = nn.Embedding(N_ITEMS, 1, sparse=True)

    def forward(self, X, H, Y, full):
        if full:  # scores over all items: the tables are used whole (dense gradients)
            O, Bo = self.Wy.weight, self.By.weight
            E = self.Wy.weight[X] if self.mode == "constrained" else None
        else:
            if self.mode == "constrained":
                EXY = self.Wy(torch.cat([X, Y]))
                E, O = EXY[: X.shape[0]], EXY[X.shape[0]:]
            else:
                O = self.Wy(Y)
            Bo = self.By(Y)
        if self.mode == "embedding":
            E = self.E(X)
        elif self.mode == "one-hot":
            E = self.GE(X, H[0])
            H[0] = E
        x = E
        for k, i in enumerate(range(self.start, len(self.layers))):
            x = self.G[k](x, H[i])
            H[i] = x
        return x @ O.T + Bo.T


def xe_loss(R, Y, M, logq, P0):
    if logq > 0:
        R = R - logq * torch.log(torch.cat([P0[Y[:M]], P0[Y[M:]] ** ALPHA]))
    X = torch.exp(R - R.max(dim=1, keepdim=True)[0])
    X = X / X.sum(dim=1, keepdim=True)
    return -torch.sum(torch.log(torch.diag(X) + 1e-24))


def full_xe_loss(R, Yt):
    X = torch.softmax(R, dim=1)
    return -torch.sum(torch.log(X[torch.arange(R.shape[0]), Yt] + 1e-24))


def bpr_max_loss(R, elu, bpreg):
    if elu > 0:
        R = nn.functional.elu(R, elu)
    hm = 1.0 - torch.eye(*R.shape)
    Xm = R * hm
    e = torch.exp(Xm - Xm.max(dim=1, keepdim=True)[0]) * hm
    w = e / e.sum(dim=1, keepdim=True)
    t = torch.diag(R).reshape(-1, 1)
    return torch.sum(-torch.log(torch.sum(torch.sigmoid(t - R) * w, dim=1) + 1e-24)
                     + bpreg * torch.sum(R ** 2 * w, dim=1))


def export(net, mode, layers, grad=False):
    """Parameters (or gradients) in sessrec's layout and tensor names."""
    def val(p):
        g = p.grad if grad else p.data
        if g is None:
            return torch.zeros_like(p.data)
        return (g.to_dense() if g.is_sparse else g).detach().clone()

    out = {}
    if mode == "embedding":
        out["E"] = val(net.E.weight)
    for i, h in enumerate(layers):
        if mode == "one-hot" and i == 0:
            def conv(m):  # official chunks x|r|z -> sessrec's r|z|x
                x_, r_, z_ = m.chunk(3, -1)
                return torch.cat([r_, z_, x_], -1)
            out["Wx0"] = conv(val(net.GE.Wx0.weight))
            out["Wh0"] = torch.cat([val(net.GE.Wrz0), val(net.GE.Wh0)], -1)
            out["bx0"] = conv(val(net.GE.Bh0)).reshape(1, -1)
        else:
            c = net.G[i - net.start]
            out["Wx%d" % i] = val(c.weight_ih).T
            out["Wh%d" % i] = val(c.weight_hh).T
            out["bx%d" % i] = val(c.bias_ih).reshape(1, -1)
            out["bh%d" % i] = val(c.bias_hh).reshape(1, -1)
    out["Wy"] = val(net.Wy.weight)
    out["By"] = val(net.By.weight)
    return out


def adagrad(params, state, lr, momentum, eps=1e-6):
    """The official IndexedAdagradM: acc += g^2; v = m v + lr g / sqrt(acc + eps);
    w -= v; sparse gradients update only their (coalesced) rows."""
    with torch.no_grad():
        for p in params:
            if p.grad is None:
                continue
            st = state.setdefault(p, {"acc": torch.zeros_like(p), "mom": torch.zeros_like(p)})
            g = p.grad
            if g.is_sparse:
                g = g.coalesce()
                idx, val = g._indices()[0], g._values()
                acc = st["acc"][idx] + val ** 2
                st["acc"][idx] = acc
                step = lr * val / torch.sqrt(acc + eps)
                if momentum > 0:
                    step = momentum * st["mom"][idx] + step
                    st["mom"][idx] = step
                p[idx] -= step
            else:
                st["acc"] += g ** 2
                step = lr * g / torch.sqrt(st["acc"] + eps)
                if momentum > 0:
                    st["mom"].mul_(momentum).add_(step)
                    step = st["mom"]
                p -= step


def tables(net):
    t = [net.Wy.weight, net.By.weight]
    if hasattr(net, "E"):
        t.append(net.E.weight)
    if hasattr(net, "GE"):
        t.append(net.GE.Wx0.weight)
    return t


def run_steps(net, case, steps, opt, P0):
    mode, layers, loss, n_sample, logq, bpreg, elu, momentum, emb = case
    full = loss == "full-xe"
    H = [torch.zeros(BATCH, h) for h in layers]
    losses, first = [], None
    ada_state = {}
    if opt == "adam":
        tabs = tables(net)
        dense = [p for p in net.parameters() if all(p is not t for t in tabs)]
        o_dense = torch.optim.Adam(dense, lr=ADAM_LR, betas=(0.9, 0.999), eps=1e-8)
        o_sparse = torch.optim.SparseAdam(tabs, lr=ADAM_LR, betas=(0.9, 0.999), eps=1e-8)
    for s, (X, Yt, smp) in enumerate(steps):
        H = [h.detach().clone() for h in H]  # no BPTT
        if s == 1:  # a new session starts in row 1
            for h in H:
                h[1] = 0
        if s == 2:  # the batch shrinks to rows 0 and 2
            H = [h[[0, 2]] for h in H]
        net.zero_grad(set_to_none=True)
        Y = torch.cat([Yt, smp]) if n_sample else Yt
        R = net(X, H, Y, full)
        if full:
            L = full_xe_loss(R, Yt)
        elif loss == "xe":
            L = xe_loss(R, Y, X.shape[0], logq, P0)
        else:
            L = bpr_max_loss(R, elu, bpreg)
        L = L / BATCH
        L.backward()
        losses.append(L.item())
        if s == 0:
            first = (R.detach().clone(), export(net, mode, layers, grad=True))
        if opt == "adam":
            for t in tables(net):  # whole-table (full softmax) gradients -> row-sparse
                if t.grad is not None and not t.grad.is_sparse:
                    t.grad = t.grad.to_sparse(1)
            o_dense.step()
            o_sparse.step()
        else:
            adagrad(list(net.parameters()), ada_state, ADAGRAD_LR, momentum)
    return losses, first


def init_net(case, rng):
    mode, layers, loss, n_sample, logq, bpreg, elu, momentum, emb = case
    net = Net(mode, layers, emb)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.tensor(rng.uniform(-0.6, 0.6, size=tuple(p.shape))))
    return net


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/gru_ref.bin"
    recs = []

    def put(name, arr, kind=0):
        a = np.ascontiguousarray(np.asarray(arr, dtype=np.float32 if kind == 0 else np.int32)).ravel()
        recs.append((name, kind, a))

    rng = np.random.RandomState(20240601)
    support = rng.randint(1, 30, size=N_ITEMS)
    put("support", support, 1)
    put("n_cases", [len(CASES)], 1)
    P0 = torch.tensor(support, dtype=torch.float64)
    for k, case in enumerate(CASES):
        mode, layers, loss, n_sample, logq, bpreg, elu, momentum, emb = case
        c = "c%d." % k
        put(c + "cfg", [MODE_CODE[mode], len(layers), layers[0], layers[-1], LOSS_CODE[loss],
                        n_sample, emb], 1)
        put(c + "hyper", [logq, bpreg, elu, momentum, ALPHA, ADAGRAD_LR, ADAM_LR])
        steps = []
        for s, b in enumerate([BATCH, BATCH, 2]):
            X = torch.tensor(rng.randint(0, N_ITEMS, size=b))
            Yt = torch.tensor(rng.randint(0, N_ITEMS, size=b))
            X[-1] = X[0]  # a repeated input row: its table gradients must be summed
            smp = torch.tensor(rng.randint(0, N_ITEMS, size=N_SAMPLE))
            smp[1] = smp[3]
            smp[2] = Yt[0]  # duplicate negatives, and one equal to a target
            steps.append((X, Yt, smp))
            put(c + "in%d" % s, X.numpy(), 1)
            put(c + "out%d" % s, Yt.numpy(), 1)
            put(c + "smp%d" % s, smp.numpy(), 1)
        w_rng_state = rng.get_state()
        net = init_net(case, rng)
        for name, v in export(net, mode, layers).items():
            put(c + "w." + name, v.numpy())
        losses, (R, grads) = run_steps(net, case, steps, "adagrad", P0)
        put(c + "scores", R.numpy())
        put(c + "ada.loss", losses)
        for name, v in grads.items():
            put(c + "g." + name, v.numpy())
        for name, v in export(net, mode, layers).items():
            put(c + "ada." + name, v.numpy())
        rng.set_state(w_rng_state)
        net = init_net(case, rng)
        losses, _ = run_steps(net, case, steps, "adam", P0)
        put(c + "adam.loss", losses)
        for name, v in export(net, mode, layers).items():
            put(c + "adam." + name, v.numpy())

    with open(out_path, "wb") as f:
        f.write(b"SRGR" + struct.pack("<II", 1, len(recs)))
        for name, kind, a in recs:
            nb = name.encode()
            f.write(struct.pack("<H", len(nb)) + nb + struct.pack("<BI", kind, a.size))
            f.write(a.astype("<f4" if kind == 0 else "<i4").tobytes())
    print("wrote %s: %d records, %d cases" % (out_path, len(recs), len(CASES)))


if __name__ == "__main__":
    main()
