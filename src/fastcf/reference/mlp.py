"""Reference twin of the MLP rating model's batch step: one sample at a time, plain loops.

``loss_and_grads`` computes the mean squared error of a batch and the gradient
of every parameter from the definitions -- each sample's forward pass neuron by
neuron, its backward pass by the chain rule, the gradients summed over the
batch -- with no matrix products and no vectorisation, in Python floats.
"""


def loss_and_grads(user_embedding, item_embedding, layers, users, items, ratings):
    """(batch MSE, gradients) of the embedding + MLP model.

    Parameters
    ----------
    user_embedding, item_embedding : 2-d arrays (rows x dim)
    layers : list of (weight, bias)
        weight has shape (n_in, n_out); every layer but the last is followed
        by ReLU; the last has one output, the prediction.
    users, items, ratings : sequences of one batch

    Returns
    -------
    loss : float
    grads : dict
        ``"user_embedding"``, ``"item_embedding"`` (full-size nested lists),
        ``"dense{j}.weight"``, ``"dense{j}.bias"`` as nested lists.
    """
    n = len(ratings)
    dim = len(user_embedding[0])
    g_user = [[0.0] * dim for _ in range(len(user_embedding))]
    g_item = [[0.0] * dim for _ in range(len(item_embedding))]
    g_layers = [([[0.0] * len(w[0]) for _ in range(len(w))], [0.0] * len(b)) for w, b in layers]
    loss = 0.0
    for u, i, r in zip(users, items, ratings):
        x = [float(v) for v in user_embedding[u]] + [float(v) for v in item_embedding[i]]
        inputs, pre = [], []
        for j, (w, b) in enumerate(layers):
            inputs.append(x)
            z = [float(b[o]) + sum(x[k] * float(w[k][o]) for k in range(len(x)))
                 for o in range(len(b))]
            pre.append(z)
            x = z if j == len(layers) - 1 else [max(v, 0.0) for v in z]
        err = x[0] - float(r)
        loss += err * err / n
        grad = [2.0 * err / n]  # d loss / d output
        for j in range(len(layers) - 1, -1, -1):
            w, _ = layers[j]
            if j != len(layers) - 1:
                grad = [g if z > 0 else 0.0 for g, z in zip(grad, pre[j])]
            gw, gb = g_layers[j]
            for o, g in enumerate(grad):
                gb[o] += g
                for k, xk in enumerate(inputs[j]):
                    gw[k][o] += xk * g
            grad = [sum(float(w[k][o]) * grad[o] for o in range(len(grad)))
                    for k in range(len(inputs[j]))]
        for k in range(dim):
            g_user[u][k] += grad[k]
            g_item[i][k] += grad[dim + k]
    grads = {"user_embedding": g_user, "item_embedding": g_item}
    for j, (gw, gb) in enumerate(g_layers):
        grads[f"dense{j}.weight"] = gw
        grads[f"dense{j}.bias"] = gb
    return loss, grads
