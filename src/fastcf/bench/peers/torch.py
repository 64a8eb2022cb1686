"""PyTorch: the same networks as fastcf's ``mlp`` and ``neumf``, trained in a fresh process.

The child process is ``python -c "from fastcf.bench.peers.torch import
torch_main; ..."``: beside Numba's OpenMP thread pool, which every fastcf run
before it has started, PyTorch's 2-thread training ran ~10x slower (see
README, "Numba and PyTorch in one process").
"""

import numpy as np

from ..timing import median_time
from ._common import _accuracy, _truth

#: PyTorch steps on a throw-away model before a timed fit (its one-off set-up).
TORCH_WARM_UP_BATCHES = 20


def torch_mlp_module(torch, n_users, n_items, embedding_dim, hidden, embedding_std,
                     global_mean, sparse=False):
    """fastcf's MLPRecommender architecture as a ``torch.nn.Module`` (global-RNG init)."""
    nn = torch.nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.user = nn.Embedding(n_users, embedding_dim, sparse=sparse)
            self.item = nn.Embedding(n_items, embedding_dim, sparse=sparse)
            widths = [2 * embedding_dim, *hidden, 1]
            self.layers = nn.ModuleList(nn.Linear(n_in, n_out)
                                        for n_in, n_out in zip(widths[:-1], widths[1:]))
            nn.init.normal_(self.user.weight, 0.0, embedding_std)
            nn.init.normal_(self.item.weight, 0.0, embedding_std)
            with torch.no_grad():
                self.layers[-1].bias.fill_(float(global_mean))

        def forward(self, users, items):
            x = torch.cat([self.user(users), self.item(items)], dim=1)
            for layer in self.layers[:-1]:
                x = torch.relu(layer(x))
            return self.layers[-1](x).squeeze(1)

    return MLP()


def torch_neumf_module(torch, n_users, n_items, factors, embedding_dim, hidden, embedding_std):
    """fastcf's NeuMF (GMF + MLP branches, one logit) as a ``torch.nn.Module``."""
    nn = torch.nn

    class NeuMFModule(nn.Module):
        def __init__(self):
            super().__init__()
            self.gmf_user = nn.Embedding(n_users, factors)
            self.gmf_item = nn.Embedding(n_items, factors)
            self.mlp_user = nn.Embedding(n_users, embedding_dim)
            self.mlp_item = nn.Embedding(n_items, embedding_dim)
            widths = [2 * embedding_dim, *hidden]
            self.layers = nn.ModuleList(nn.Linear(n_in, n_out)
                                        for n_in, n_out in zip(widths[:-1], widths[1:]))
            self.output = nn.Linear(factors + hidden[-1], 1)
            for table in (self.gmf_user, self.gmf_item, self.mlp_user, self.mlp_item):
                nn.init.normal_(table.weight, 0.0, embedding_std)

        def forward(self, users, items):
            gmf = self.gmf_user(users) * self.gmf_item(items)
            x = torch.cat([self.mlp_user(users), self.mlp_item(items)], dim=1)
            for layer in self.layers:
                x = torch.relu(layer(x))
            return self.output(torch.cat([gmf, x], dim=1)).squeeze(1)

    return NeuMFModule()


def _torch_steps(torch, model, optimizer, batches, loss_fn, limit=None):
    """One optimiser step per (users, items, targets) batch, at most ``limit`` of them."""
    for b, (users, items, targets) in enumerate(batches):
        if limit is not None and b >= limit:
            break
        loss = loss_fn(model(users, items), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def _torch_child(kind, arrays, params, repeats, n_threads, seed):
    """Runs in the spawned process: fit ``repeats`` times, then score; a result dict."""
    import torch

    torch.set_num_threads(n_threads or torch.get_num_threads())
    n_users, n_items = arrays["n_users"], arrays["n_items"]
    users = torch.from_numpy(arrays["users"])
    items = torch.from_numpy(arrays["items"])
    batch = params["batch_size"]

    if kind == "mlp":
        targets_all = torch.from_numpy(arrays["ratings"])

        def make():
            return torch_mlp_module(torch, n_users, n_items, params["embedding_dim"],
                                    params["hidden"], params.get("embedding_std", 0.1),
                                    arrays["global_mean"])

        def epoch_batches(generator, rng):
            order = torch.randperm(len(targets_all), generator=generator)
            for first in range(0, len(order), batch):
                idx = order[first:first + batch]
                yield users[idx], items[idx], targets_all[idx]

        loss_fn = torch.nn.functional.mse_loss
    else:
        from ...sampling import sample_negatives

        n_neg = params["n_negatives"]
        all_users = np.concatenate([arrays["users"], np.repeat(arrays["users"], n_neg)])
        labels = np.concatenate([np.ones(len(arrays["users"]), np.float32),
                                 np.zeros(len(arrays["users"]) * n_neg, np.float32)])

        def make():
            return torch_neumf_module(torch, n_users, n_items, params["factors"],
                                      params["embedding_dim"], params["hidden"],
                                      params.get("embedding_std", 0.01))

        def epoch_batches(generator, rng):
            negatives = sample_negatives(arrays["users"], arrays["indptr"], arrays["items"],
                                         n_items, n_neg, rng)
            order = rng.permutation(len(all_users))
            u = torch.from_numpy(all_users[order])
            i = torch.from_numpy(np.concatenate([arrays["items"], negatives])[order])
            y = torch.from_numpy(labels[order])
            for first in range(0, len(order), batch):
                part = slice(first, first + batch)
                yield u[part], i[part], y[part]

        loss_fn = torch.nn.functional.binary_cross_entropy_with_logits

    # PyTorch's one-off set-up (thread pool, allocator, dispatch caches), untimed
    torch.manual_seed(seed + 12345)
    throw_away = make()
    _torch_steps(torch, throw_away, torch.optim.Adam(throw_away.parameters(), lr=params["lr"]),
                 epoch_batches(torch.Generator().manual_seed(seed + 1),
                               np.random.default_rng(seed + 1)), loss_fn,
                 limit=TORCH_WARM_UP_BATCHES)

    def fit():
        torch.manual_seed(seed)
        model = make()
        optimizer = torch.optim.Adam(model.parameters(), lr=params["lr"])
        generator, rng = torch.Generator().manual_seed(seed), np.random.default_rng(seed)
        for _ in range(params["epochs"]):
            _torch_steps(torch, model, optimizer, epoch_batches(generator, rng), loss_fn)
        return model

    fit_s, model = median_time(fit, repeats)
    if kind == "mlp":
        tu, ti = arrays["test_users"], arrays["test_items"]
        known = (tu >= 0) & (ti >= 0)

        def predict():
            est = np.full(len(tu), arrays["global_mean"], dtype=np.float64)
            with torch.no_grad():
                est[known] = model(torch.from_numpy(tu[known]),
                                   torch.from_numpy(ti[known])).double().numpy()
            return np.clip(est, *arrays["rating_range"])

        predict_s, est = median_time(predict, repeats)
        return {"fit_s": fit_s, "predict_s": predict_s, **_accuracy(arrays["truth"], est)}
    from ...metrics import hit_rate_ndcg_of_candidates

    def probabilities(u, i):
        with torch.no_grad():
            return torch.sigmoid(model(torch.from_numpy(u), torch.from_numpy(i))).double().numpy()

    tu, ti = arrays["test_users"], arrays["test_items"]
    known = (tu >= 0) & (ti >= 0)

    def predict():
        est = np.zeros(len(tu))  # unknown pairs: 0, as fastcf's NeuMF gives an unknown item
        est[known] = probabilities(tu[known], ti[known])
        return est

    predict_s, _ = median_time(predict, repeats)
    cand = arrays["candidates"]
    scores = probabilities(np.repeat(arrays["eval_users"], cand.shape[1]),
                           cand.ravel()).reshape(cand.shape)
    hit_rate, ndcg = hit_rate_ndcg_of_candidates(scores, 10)
    return {"fit_s": fit_s, "predict_s": predict_s, "hit_rate_sampled": hit_rate,
            "ndcg_sampled": ndcg}


def _torch_arrays(kind, train, test):
    by_user = train.by_user
    arrays = {"n_users": np.int64(train.n_users), "n_items": np.int64(train.n_items),
              "users": np.repeat(np.arange(train.n_users, dtype=np.int64),
                                 np.diff(by_user.indptr)),
              "items": np.asarray(by_user.indices, dtype=np.int64)}
    frame, truth = _truth(test)
    arrays.update(test_users=train.user_index(frame["user"].to_numpy(), strict=False),
                  test_items=train.item_index(frame["item"].to_numpy(), strict=False))
    if kind == "mlp":
        arrays.update(ratings=np.asarray(by_user.data, dtype=np.float32),
                      global_mean=np.float64(train.global_mean),
                      rating_range=np.array(train.rating_range, dtype=np.float64), truth=truth)
    else:
        from ...evaluation import sampled_candidates

        eval_users, candidates = sampled_candidates(train, test, n_negatives=99, seed=0)
        arrays.update(indptr=np.asarray(by_user.indptr, dtype=np.int64), eval_users=eval_users,
                      candidates=candidates)
    return arrays


def torch_model(kind, params):
    """Runner: the PyTorch twin of fastcf's ``mlp`` or ``neumf``, in a fresh process.

    The arrays go through an .npz file and the result comes back as JSON on
    stdout: a plain ``python -c`` child, so it works from any caller (no
    ``if __name__ == "__main__"`` needed, as multiprocessing's spawn would).
    """

    def run(train, test, repeats, n_threads):
        import json
        import os
        import subprocess
        import sys
        import tempfile

        import fastcf

        with tempfile.TemporaryDirectory(prefix="fastcf-torch-") as folder:
            path = os.path.join(folder, "arrays.npz")
            np.savez(path, **_torch_arrays(kind, train, test))
            job = json.dumps({"kind": kind, "path": path, "params": params, "repeats": repeats,
                              "n_threads": n_threads, "seed": 0})
            env = dict(os.environ)
            source = os.path.dirname(os.path.dirname(os.path.abspath(fastcf.__file__)))
            env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
            done = subprocess.run(
                [sys.executable, "-c", "import sys; from fastcf.bench.peers.torch import "
                 "torch_main; torch_main(sys.argv[1])", job],
                capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"the PyTorch {kind} peer failed:\n{done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    return run


def torch_main(job):
    """Entry point of the PyTorch child process: prints the result dict as JSON."""
    import json

    job = json.loads(job)
    with np.load(job["path"]) as npz:
        arrays = {name: npz[name] for name in npz.files}
    for name in ("n_users", "n_items"):
        arrays[name] = int(arrays[name])
    arrays["global_mean"] = float(arrays.get("global_mean", 0.0))
    params = dict(job["params"], hidden=tuple(job["params"]["hidden"]))
    result = _torch_child(job["kind"], arrays, params, job["repeats"], job["n_threads"],
                          job["seed"])
    print(json.dumps({k: float(v) for k, v in result.items()}))
