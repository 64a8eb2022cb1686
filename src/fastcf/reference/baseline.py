"""Reference twin of the bias-model ALS sweep, straight from Surprise's loop."""


def bias_sweep(indptr, indices, data, mu, other_bias, reg, out):
    for row in range(len(indptr) - 1):
        start, stop = int(indptr[row]), int(indptr[row + 1])
        deviation = 0.0
        for j in range(start, stop):
            deviation += float(data[j]) - mu - float(other_bias[indices[j]])
        out[row] = deviation / (reg + (stop - start))
