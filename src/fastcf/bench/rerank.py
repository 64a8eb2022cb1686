"""``fastcf benchmark --rerank``: accuracy against diversity on the ranking protocol's split.

ALS at the ranking table's settings, fitted once on that split; its top-10
lists re-ranked from its top-100 by MMR (``lambda_`` in :data:`MMR_VALUES`)
and DPP (``theta`` in :data:`DPP_VALUES`), both on the cosine of its item
factors, measured by :func:`fastcf.evaluation.rerank_tradeoff` (NDCG@10,
P@10, intra-list diversity over the items' training columns, coverage,
novelty). Opt-in: it adds a fit and ten re-ranked top-10 passes to the run.
"""

from .algorithms import RANKING_PROTOCOL_ALGORITHMS, N

#: The model whose lists are re-ranked (a row of the ranking table).
RERANK_MODEL = "als"
#: The trade-off values swept (1: the model's own order).
MMR_VALUES = (1.0, 0.9, 0.7, 0.5, 0.0)
DPP_VALUES = (1.0, 0.95, 0.9, 0.7, 0.3)
COLUMNS = ("ndcg", "precision", "diversity", "coverage", "novelty", "recommend_s")


def run_rerank_tradeoff(train, test, n_threads=None, seed=0):
    """The trade-off tables as a JSON-able dict: re-ranker -> rows, and what they used."""
    from ..evaluation import TRADEOFF_DIVERSITY, rerank_tradeoff
    from ..rerank import DPP, MMR

    model = RANKING_PROTOCOL_ALGORITHMS[RERANK_MODEL](n_threads, seed).fit(train)
    out = {"model": RERANK_MODEL, "n": N, "diversity": TRADEOFF_DIVERSITY, "tables": {}}
    for name, reranker, values in (("mmr", MMR(), MMR_VALUES), ("dpp", DPP(), DPP_VALUES)):
        table = rerank_tradeoff(model, train, test, reranker, values, k=N, fit=False)
        out["tables"][name] = {
            "similarity_used": table.attrs["similarity_used"],
            "rows": [{"setting": setting, "parameter": float(row["parameter"]),
                      **{c: float(row[c]) for c in COLUMNS}}
                     for setting, row in table.iterrows()]}
    return out


def rerank_frames(result):
    """``{"als + mmr": DataFrame, ...}`` of a result (for :func:`plots.plot_tradeoff`)."""
    import pandas as pd

    frames = {}
    for name, table in result["tables"].items():
        frame = pd.DataFrame(table["rows"]).set_index("setting")
        frame.attrs["k"] = result["n"]
        frames[f"{result['model']} + {name}"] = frame
    return frames


def rerank_markdown(result):
    """The trade-off section of the report (lines), or nothing when it did not run."""
    if not result:
        return []
    n = result["n"]
    lines = ["", f"Re-ranking for diversity ({result['model']} of the ranking table, its "
             f"top-{n} re-ranked from its top-{10 * n}); diversity: {result['diversity']}.",
             "", f"| re-ranker | setting | NDCG@{n} | P@{n} | diversity | coverage | novelty "
             "| recommend s |", "|" + "---|" * 8]
    for name, table in result["tables"].items():
        for row in table["rows"]:
            cells = " | ".join(f"{row[c]:.4f}" for c in COLUMNS[:-1])
            lines.append(f"| {name} | {row['setting']} | {cells} | {row['recommend_s']:.3f} |")
    lines += [f"- {name}: item similarity = {table['similarity_used']}"
              for name, table in result["tables"].items()]
    return lines
