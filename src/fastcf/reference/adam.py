"""Reference twin of the lazy sparse Adam step, written from the formula with dict loops."""

import math


def sparse_adam_update(param, m, v, index, order, values, step_size, root_bias, beta1, beta2,
                       eps, weight_decay):
    r"""Same contract as ``kernels.adam.run_sparse_adam_update``.

    For each distinct row :math:`r` of ``index``, :math:`g = \sum_{j: index_j = r}
    values_j + \lambda \theta_r` (the terms in batch order), then
    :math:`m_r \leftarrow \beta_1 m_r + (1-\beta_1) g`,
    :math:`v_r \leftarrow \beta_2 v_r + (1-\beta_2) g^2`,
    :math:`\theta_r \leftarrow \theta_r - s\, m_r / (\sqrt{v_r} / c + \epsilon)`
    with ``step_size`` :math:`s` and ``root_bias`` :math:`c`. Rows not in ``index``
    are left as they are. (``order`` is the compiled kernels' helper; a dict
    needs none.)
    """
    sums = {}
    for j, row in enumerate(index):
        row = int(row)
        terms = [float(x) for x in values[j]]
        if row in sums:
            sums[row] = [a + b for a, b in zip(sums[row], terms)]
        else:
            sums[row] = terms
    for row in sorted(sums):
        for f, total in enumerate(sums[row]):
            g = total + weight_decay * float(param[row, f])
            m[row, f] = beta1 * float(m[row, f]) + (1 - beta1) * g
            v[row, f] = beta2 * float(v[row, f]) + (1 - beta2) * g * g
            param[row, f] = float(param[row, f]) - step_size * float(m[row, f]) / (
                math.sqrt(float(v[row, f])) / root_bias + eps)
