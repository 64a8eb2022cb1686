"""Reference twins of the bias-model kernels, straight from Surprise's loops."""


def bias_sweep(indptr, indices, data, mu, other_bias, reg, out):
    for row in range(len(indptr) - 1):
        start, stop = int(indptr[row]), int(indptr[row + 1])
        deviation = 0.0
        for j in range(start, stop):
            deviation += float(data[j]) - mu - float(other_bias[indices[j]])
        out[row] = deviation / (reg + (stop - start))


def bias_sgd(users, items, ratings, mu, user_bias, item_bias, lr, reg):
    for t in range(len(ratings)):
        u, i = int(users[t]), int(items[t])
        err = float(ratings[t]) - (mu + float(user_bias[u]) + float(item_bias[i]))
        user_bias[u] = float(user_bias[u]) + lr * (err - reg * float(user_bias[u]))
        item_bias[i] = float(item_bias[i]) + lr * (err - reg * float(item_bias[i]))
