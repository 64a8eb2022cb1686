"""Reference twins of the ranking and beyond-accuracy metrics, straight from the formulas.

One user at a time, one list position at a time, Python sets and floats; AUC
by the explicit double loop over (positive, negative) pairs. Same names and
signatures as :mod:`fastcf.metrics`, none of its input checks: the tests give
these valid inputs only.
"""

import math

import numpy as np
import scipy.sparse as sp

from ..data import CSR


def _item_sets(x, n_users):
    """One Python set of item ids per user, from any form ``relevant`` may take."""
    sets = [set() for _ in range(n_users)]
    if sp.issparse(x):
        coo = x.tocoo()
        for row, col in zip(coo.row, coo.col):
            sets[int(row)].add(int(col))
    elif isinstance(x, CSR):
        for row in range(n_users):
            for j in range(int(x.indptr[row]), int(x.indptr[row + 1])):
                sets[row].add(int(x.indices[j]))
    else:
        for row in range(n_users):
            for item in x[row]:
                sets[row].add(int(item))
    return sets


def _lists(recommended):
    """Each user's list as Python ints, padding (-1) dropped."""
    lists = []
    for row in recommended:
        items = []
        for item in row:
            if int(item) != -1:
                items.append(int(item))
        lists.append(items)
    return lists


def _finish(values, per_user):
    """``values`` holds a float per user, or None for a user that does not count."""
    if per_user:
        return np.array([math.nan if v is None else v for v in values], dtype=np.float64)
    counted = [v for v in values if v is not None]
    if not counted:
        return math.nan
    total = 0.0
    for v in counted:
        total += v
    return total / len(counted)


def _top_k_hits(recommended, relevant, k):
    """Per user: (hit flags of the first k list items, the relevant set)."""
    lists = _lists(recommended)
    sets = _item_sets(relevant, len(lists))
    out = []
    for items, rel in zip(lists, sets):
        top = items if k is None else items[:k]
        out.append(([item in rel for item in top], rel))
    return out


def precision_at_k(recommended, relevant, k=10, *, per_user=False):
    """|top-k ∩ rel| / k per user with relevant items."""
    values = []
    for flags, rel in _top_k_hits(recommended, relevant, k):
        values.append(sum(flags) / k if rel else None)
    return _finish(values, per_user)


def recall_at_k(recommended, relevant, k=10, *, per_user=False):
    """|top-k ∩ rel| / |rel| per user with relevant items."""
    values = []
    for flags, rel in _top_k_hits(recommended, relevant, k):
        values.append(sum(flags) / len(rel) if rel else None)
    return _finish(values, per_user)


def hit_rate_at_k(recommended, relevant, k=10, *, per_user=False):
    """1 if top-k ∩ rel is not empty, else 0, per user with relevant items."""
    values = []
    for flags, rel in _top_k_hits(recommended, relevant, k):
        values.append((1.0 if any(flags) else 0.0) if rel else None)
    return _finish(values, per_user)


def ndcg_at_k(recommended, relevant, k=10, *, per_user=False):
    """DCG = sum over hit positions i of 1/log2(i+2); IDCG the same over min(k, |rel|)."""
    values = []
    for flags, rel in _top_k_hits(recommended, relevant, k):
        if not rel:
            values.append(None)
            continue
        dcg = 0.0
        for i, hit in enumerate(flags):
            if hit:
                dcg += 1.0 / math.log2(i + 2)
        idcg = 0.0
        for i in range(min(k, len(rel))):
            idcg += 1.0 / math.log2(i + 2)
        values.append(dcg / idcg)
    return _finish(values, per_user)


def map_at_k(recommended, relevant, k=10, *, per_user=False):
    """AP@k = (1/min(k, |rel|)) * sum over hit positions i of precision@(i+1)."""
    values = []
    for flags, rel in _top_k_hits(recommended, relevant, k):
        if not rel:
            values.append(None)
            continue
        total = 0.0
        for i, hit in enumerate(flags):
            if hit:
                total += sum(flags[:i + 1]) / (i + 1)
        values.append(total / min(k, len(rel)))
    return _finish(values, per_user)


def mrr(recommended, relevant, k=None, *, per_user=False):
    """1/(i+1) for the first hit position i (within the first k if given), else 0."""
    values = []
    for flags, rel in _top_k_hits(recommended, relevant, k):
        if not rel:
            values.append(None)
            continue
        value = 0.0
        for i, hit in enumerate(flags):
            if hit:
                value = 1.0 / (i + 1)
                break
        values.append(value)
    return _finish(values, per_user)


def auc(scores, relevant, *, exclude=None, per_user=False):
    """(#{(p, n): s_p > s_n} + 0.5 #{ties}) / (|P| |N|), by the double loop over pairs."""
    n_users, n_items = len(scores), len(scores[0]) if len(scores) else 0
    rel_sets = _item_sets(relevant, n_users)
    ex_sets = _item_sets(exclude, n_users) if exclude is not None else [set()] * n_users
    values = []
    for u in range(n_users):
        positives = [i for i in range(n_items) if i in rel_sets[u] and i not in ex_sets[u]]
        negatives = [i for i in range(n_items) if i not in rel_sets[u] and i not in ex_sets[u]]
        if not positives or not negatives:
            values.append(None)
            continue
        wins = 0.0
        for p in positives:
            for n in negatives:
                sp_, sn = float(scores[u][p]), float(scores[u][n])
                if sp_ > sn:
                    wins += 1.0
                elif sp_ == sn:
                    wins += 0.5
        values.append(wins / (len(positives) * len(negatives)))
    return _finish(values, per_user)


def sampled_auc_of_candidates(scores):
    """Mean over rows of the share of negatives (columns 1..) below column 0, ties 1/2."""
    total = 0.0
    for row in scores:
        positive = float(row[0])
        wins = 0.0
        for value in row[1:]:
            if float(value) < positive:
                wins += 1.0
            elif float(value) == positive:
                wins += 0.5
        total += wins / (len(row) - 1)
    return total / len(scores)


def catalogue_coverage(recommended, n_items):
    """|set of all recommended items| / n_items."""
    seen = set()
    for items in _lists(recommended):
        seen.update(items)
    return len(seen) / n_items


def novelty(recommended, item_popularity, n_users, *, per_user=False):
    """Mean over each list of -log2(max(pop_i, 1) / n_users)."""
    values = []
    for items in _lists(recommended):
        if not items:
            values.append(None)
            continue
        total = 0.0
        for i in items:
            total += -math.log2(max(float(item_popularity[i]), 1.0) / n_users)
        values.append(total / len(items))
    return _finish(values, per_user)


def popularity_bias(recommended, item_popularity, *, per_user=False):
    """Mean over each list of pop_i."""
    values = []
    for items in _lists(recommended):
        if not items:
            values.append(None)
            continue
        total = 0.0
        for i in items:
            total += float(item_popularity[i])
        values.append(total / len(items))
    return _finish(values, per_user)


def _similarity_lookup(item_similarity):
    """sim(i, j) as a function; missing sparse entries are 0, repeated ones summed."""
    if isinstance(item_similarity, CSR) or sp.issparse(item_similarity):
        table = {}
        if isinstance(item_similarity, CSR):
            indptr, indices, data, _ = item_similarity
            for row in range(len(indptr) - 1):
                for j in range(int(indptr[row]), int(indptr[row + 1])):
                    key = (row, int(indices[j]))
                    table[key] = table.get(key, 0.0) + float(data[j])
        else:
            coo = item_similarity.tocoo()
            for row, col, value in zip(coo.row, coo.col, coo.data):
                key = (int(row), int(col))
                table[key] = table.get(key, 0.0) + float(value)
        return lambda i, j: table.get((i, j), 0.0)
    return lambda i, j: float(item_similarity[i][j])


def intra_list_diversity(recommended, item_similarity, *, per_user=False):
    """Mean over unordered pairs {i, j} of the list of 1 - (sim(i, j) + sim(j, i)) / 2."""
    sim = _similarity_lookup(item_similarity)
    values = []
    for items in _lists(recommended):
        if len(items) < 2:
            values.append(None)
            continue
        total, pairs = 0.0, 0
        for a in range(len(items)):
            for b in range(a + 1, len(items)):
                i, j = items[a], items[b]
                total += 1.0 - (sim(i, j) + sim(j, i)) / 2.0
                pairs += 1
        values.append(total / pairs)
    return _finish(values, per_user)
