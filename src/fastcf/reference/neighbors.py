"""Reference twin of the neighbourhood-sums kernel: list, sort, take k, sum."""


def neighborhood_sums(sim_rows, pair_row, pair_col, col_indptr, col_indices, col_values, k,
                      out_sum_sim, out_sum_num, out_count):
    """Same contract as ``kernels.neighbors.neighborhood_sums``.

    For each pair: the entries of its column whose similarity (to the pair's
    row) is positive, sorted by (similarity descending, entry ascending), the
    first ``k`` of them, summed in entry order.
    """
    for p in range(len(pair_row)):
        sims = sim_rows[int(pair_row[p])]
        col = int(pair_col[p])
        candidates = []
        for e in range(int(col_indptr[col]), int(col_indptr[col + 1])):
            s = float(sims[int(col_indices[e])])
            if s > 0.0:
                candidates.append((s, e))
        candidates.sort(key=lambda entry: (-entry[0], entry[1]))
        sum_sim = sum_num = 0.0
        for s, e in sorted(candidates[:k], key=lambda entry: entry[1]):
            sum_sim += s
            sum_num += s * float(col_values[e])
        out_sum_sim[p] = sum_sim
        out_sum_num[p] = sum_num
        out_count[p] = min(len(candidates), k)
