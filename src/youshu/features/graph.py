"""Transfer-graph features of accounts: degrees, 2-hop reach, shared collectors, short cycles and communities.

The graph has one node per account (and per outside counterparty of a transfer) and one directed edge per
(payer, payee) pair with transfers in the window. It is built with Ibis (:func:`transfer_edges`) and analysed
with ``scipy.sparse`` on int32 node numbers, so 40M edges fit in a few GB:

- degrees are row/column counts of the adjacency matrix;
- 2-hop reach is the row count of ``U + U·H·U`` (``U`` undirected, ``H`` keeps non-hub intermediates),
  computed in row blocks of bounded size;
- short cycles are searched only inside non-trivial strongly connected components (a node outside one is on
  no cycle), meeting in the middle: a breadth-first search of depth ``ceil(k/2)`` forward and ``floor(k/2)``
  backward from a batch of nodes at once, the shortest cycle through a node being the least
  ``d(v, u) + d(u, v)`` over the nodes ``u`` both searches reach;
- communities come from synchronous label propagation (ties to the smallest label), recomputing only the
  nodes next to a change.

Hubs (more than ``hub_degree`` distinct neighbours) are not expanded through in 2-hop reach and cycle search:
a platform or payroll agent links everybody and says nothing about a mule. :func:`graph_features_reference`
is the same definition written with networkx and Python loops, for tests and benchmarks at small scale.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from youshu.features.catalog import KINDS, FeatureSpec
from youshu.features.common import as_of_date, days_before, end_of, start_of
from youshu.features.risk import TRANSFER_CATEGORIES

__all__ = [
    "GRAPH_FEATURES",
    "GRAPH_WINDOW_DAYS",
    "HUB_DEGREE",
    "MAX_CYCLE",
    "TransferGraph",
    "account_graph_features",
    "graph_feature_names",
    "graph_features",
    "graph_features_reference",
    "label_propagation",
    "reach_2hop",
    "shortest_cycles",
    "transfer_edges",
]

#: Days of transfers the graph is built from (ending on the as-of date).
GRAPH_WINDOW_DAYS = 30
#: Longest cycle searched for.
MAX_CYCLE = 6
#: Nodes with more distinct neighbours in the window are hubs (merchants, platforms, busy collectors): not
#: expanded through in 2-hop reach and cycle search (``graph_max_payee_fan_in`` still sees them).
HUB_DEGREE = 200
#: Label-propagation rounds at most.
LPA_ROUNDS = 20
# Products of a sparse block product kept in memory at once (2-hop reach, cycle search).
_BLOCK_PRODUCTS = 10_000_000
# Value marking newly reached nodes in the breadth-first search (distances + 1 stay far below it).
_NEW = np.float32(1000)

_GRAPH = """
count | graph_in_degree             | 转入账户数(图) | distinct payers in the transfer graph of the last 30 days
count | graph_out_degree            | 转出账户数(图) | distinct payees in the transfer graph of the last 30 days
count | graph_degree                | 关联账户数(图) | distinct neighbours either way
count | graph_reach_2hop            | 二度关联账户数 | distinct nodes within two transfers either way (hubs not expanded), the account excluded
count | graph_max_payee_fan_in      | 收款方最大汇入数 | the most payers any of its payees has (shared collection accounts)
count | graph_max_payer_fan_out     | 付款方最大转出数 | the most payees any of its payers has (shared distributors)
count | graph_scc_size              | 强连通分量大小 | nodes in its strongly connected component (1: on no cycle)
count | graph_shortest_cycle        | 最短资金回路长度 | transfers in the shortest cycle through it, up to 6 (0: none that short; hubs excluded)
flag  | graph_in_short_cycle        | 处于短回路 | graph_shortest_cycle > 0
count | graph_component_size        | 连通分量大小 | nodes in its weakly connected component
count | graph_community_size        | 社区大小 | nodes in its label-propagation community
count | graph_community_edges       | 社区内边数 | payer-payee pairs inside its community
count | graph_community_max_fan_in  | 社区最大汇入数 | the most payers of any node in its community
"""


def _specs() -> tuple[FeatureSpec, ...]:
    specs = []
    for line in _GRAPH.strip().splitlines():
        kind, name, zh, en = (part.strip() for part in line.split(" | ", 3))
        dtype, unit, default = KINDS[kind]
        specs.append(FeatureSpec(name, "account", dtype, zh, en, unit, default))
    return tuple(specs)


#: The graph feature catalog, in table order.
GRAPH_FEATURES: tuple[FeatureSpec, ...] = _specs()


def graph_feature_names() -> list[str]:
    """Names of the graph features, in table order."""
    return [s.name for s in GRAPH_FEATURES]


# -- the graph --------------------------------------------------------------------------------------------


def transfer_edges(ledger: ir.Table, as_of: date, days: int = GRAPH_WINDOW_DAYS) -> ir.Table:
    """Directed transfer edges ``src, dst, transfers, amount_fen`` of the ``days`` days ending on ``as_of``.

    A debit gives the edge account → counterparty. A credit gives counterparty → account only when the
    counterparty has no account here: an internal transfer is posted on both accounts and its debit is the
    edge. Only transfers count (categories ``TRANSFER_CATEGORIES`` or an internal counterparty).
    """
    as_of = as_of_date(as_of)
    x = ledger.filter(
        ledger.txn_at >= start_of(days_before(as_of, days)),
        ledger.txn_at < end_of(as_of),
        ledger.counterparty_id.notnull(),
        ledger.counterparty_category.isin(TRANSFER_CATEGORIES) | ledger.counterparty_account_id.notnull(),
    )
    out = x.filter(x.direction == "out").select(
        src=x.account_id, dst=x.counterparty_id, amount_fen=x.amount_fen
    )
    came = x.filter((x.direction == "in") & x.counterparty_account_id.isnull()).select(
        src=x.counterparty_id, dst=x.account_id, amount_fen=x.amount_fen
    )
    both = ibis.union(out, came)
    both = both.filter(both.src != both.dst)
    return both.group_by(["src", "dst"]).aggregate(
        transfers=both.count(), amount_fen=both.amount_fen.sum().cast("int64")
    )


@dataclass(frozen=True)
class TransferGraph:
    """A directed graph on int32 node numbers; ``nodes[i]`` is the id of node ``i``.

    Build it with :meth:`from_edges`. Edges are unique (payer, payee) pairs without self-loops.
    """

    nodes: pa.Array
    src: np.ndarray
    dst: np.ndarray

    @property
    def n(self) -> int:
        return len(self.nodes)

    @classmethod
    def from_edges(cls, edges: pa.Table | pd.DataFrame, src: str = "src", dst: str = "dst") -> TransferGraph:
        """Number the ids of ``src``/``dst`` in sorted order and keep unique directed pairs."""
        table = edges if isinstance(edges, pa.Table) else pa.Table.from_pandas(edges, preserve_index=False)
        ids = pa.chunked_array(
            [*table[src].cast(pa.large_string()).chunks, *table[dst].cast(pa.large_string()).chunks],
            type=pa.large_string(),
        ).combine_chunks()
        encoded = pc.dictionary_encode(ids)
        # Number nodes in id order, so results never depend on the order the engine returned rows in
        # (label propagation breaks ties by the smallest number).
        order = pc.sort_indices(encoded.dictionary).to_numpy()
        rank = np.empty(len(order), dtype=np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        codes = rank[encoded.indices.to_numpy(zero_copy_only=False)]
        m = table.num_rows
        s, d = codes[:m], codes[m:]
        n = len(encoded.dictionary)
        nodes = encoded.dictionary.take(pa.array(order))
        keep = s != d
        pair = s[keep].astype(np.int64) * n + d[keep]
        pair.sort()  # an explicit sort: faster than np.unique on tens of millions of keys
        pair = pair[np.r_[True, pair[1:] != pair[:-1]]]
        return cls(nodes, (pair // n).astype(np.int32), (pair % n).astype(np.int32))

    def adjacency(self) -> sp.csr_matrix:
        """Directed adjacency (payer rows, payee columns), float32 ones."""
        data = np.ones(len(self.src), dtype=np.float32)
        return sp.csr_matrix((data, (self.src, self.dst)), shape=(self.n, self.n))

    def undirected(self) -> sp.csr_matrix:
        """Symmetric adjacency without self-loops, float32 ones."""
        a = self.adjacency()
        u = (a + a.T).tocsr()
        u.data[:] = 1.0
        return u


# -- the algorithms ---------------------------------------------------------------------------------------


def _blocks(cost: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Consecutive row ranges whose summed ``cost`` stays within ``budget`` (a row alone may exceed it)."""
    bounds = [0]
    total = np.cumsum(cost, dtype=np.int64)
    while bounds[-1] < len(cost):
        start = bounds[-1]
        before = total[start - 1] if start else 0
        stop = int(np.searchsorted(total, before + budget, side="right"))
        bounds.append(max(stop, start + 1))
    return list(pairwise(bounds))


def reach_2hop(u: sp.csr_matrix, hub_degree: int = HUB_DEGREE) -> np.ndarray:
    """Distinct nodes within two undirected hops of each node (itself excluded; hubs not expanded through)."""
    n = u.shape[0]
    degree = np.diff(u.indptr)
    through = sp.diags((degree <= hub_degree).astype(np.float32)).tocsr()
    hop = (u @ through).tocsr()
    cost = hop @ degree.astype(np.float64)
    out = np.zeros(n, dtype=np.int64)
    for lo, hi in _blocks(cost.astype(np.int64) + 1, _BLOCK_PRODUCTS):
        two = (hop[lo:hi] @ u).tocsr()
        two.sum_duplicates()  # sorted, so the sum below is a merge, not a pass over every column
        block = (u[lo:hi] + two).tocsr()
        own = block.diagonal(k=lo) != 0
        out[lo:hi] = np.diff(block.indptr) - own
    return out


def shortest_cycles(
    a: sp.csr_matrix, max_length: int = MAX_CYCLE, hub_degree: int = HUB_DEGREE, batch: int = 262_144
) -> np.ndarray:
    """Length of the shortest directed cycle through each node, up to ``max_length`` (0: none that short).

    Hubs and their edges are left out. Only nodes of non-trivial strongly connected components of what is
    left are searched, each inside its own component.
    """
    n = a.shape[0]
    result = np.zeros(n, dtype=np.int64)
    if n == 0 or max_length < 2:
        return result
    degree = np.diff((a + a.T).tocsr().indptr)
    keep = (degree <= hub_degree).astype(np.float32)
    pruned = (sp.diags(keep) @ a @ sp.diags(keep)).tocsr()
    pruned.eliminate_zeros()
    n_scc, label = connected_components(pruned, directed=True, connection="strong")
    size = np.bincount(label, minlength=n_scc)
    candidates = np.flatnonzero(size[label] > 1)
    if len(candidates) == 0:
        return result
    coo = pruned.tocoo()
    inside = label[coo.row] == label[coo.col]
    data = np.ones(int(inside.sum()), dtype=np.float32)
    fwd = sp.csr_matrix((data, (coo.row[inside], coo.col[inside])), shape=(n, n))
    bwd = fwd.T.tocsr()
    ahead, back = (max_length + 1) // 2, max_length // 2
    # Batches of sources whose two-hop neighbourhoods (an estimate of the search) fit the block budget.
    out_degree = np.diff(fwd.indptr).astype(np.float64)
    in_degree = np.diff(bwd.indptr).astype(np.float64)
    cost = (fwd @ out_degree + bwd @ in_degree + 1).astype(np.int64)[candidates]
    budget = _blocks(cost, _BLOCK_PRODUCTS)
    blocks = [(a, b) for lo, hi in budget for a, b in _chunks(lo, hi, batch)]
    for lo, hi in blocks:
        sources = candidates[lo:hi]
        df = _bfs_distances(fwd, sources, ahead)
        db = _bfs_distances(bwd, sources, back)
        # Distances are stored + 1 (at most 4); encode the backward one in the hundreds and merge once.
        db.data = db.data * np.float32(100)
        total = (df + db).tocoo()
        code = total.data.astype(np.int64)
        both = (code >= 100) & (code % 100 != 0) & (total.col != sources[total.row])
        length = code[both] % 100 + code[both] // 100 - 2
        rows = total.row[both]
        best = np.full(len(sources), np.iinfo(np.int64).max)
        np.minimum.at(best, rows, length)
        found = best <= max_length
        result[sources[found]] = best[found]
    return result


def _chunks(lo: int, hi: int, size: int) -> list[tuple[int, int]]:
    return [(a, min(a + size, hi)) for a in range(lo, hi, size)]


def _bfs_distances(adj: sp.csr_matrix, sources: np.ndarray, depth: int) -> sp.csr_matrix:
    """Sparse (sources x nodes) matrix of distance + 1 for nodes within ``depth`` (sources hold 1).

    Matrices are kept sorted (canonical): scipy's element-wise operations on unsorted ones cost a pass over
    every column per call, which made the search quadratic in the number of nodes.
    """
    n = adj.shape[0]
    k = len(sources)
    eye = sp.csr_matrix((np.ones(k, dtype=np.float32), (np.arange(k), sources)), shape=(k, n))
    eye.sum_duplicates()
    dist = eye
    frontier = eye
    for step in range(1, depth + 1):
        nxt = (frontier @ adj).tocsr()
        nxt.sum_duplicates()
        if nxt.nnz == 0:
            break
        nxt.data[:] = _NEW
        # One sorted merge: old distances stay below _NEW, new nodes are exactly _NEW, seen ones above it.
        merged = (dist + nxt).tocsr()
        fresh = merged.data == _NEW
        if not fresh.any():
            break
        merged.data = np.where(
            fresh, np.float32(step + 1), np.where(merged.data > _NEW, merged.data - _NEW, merged.data)
        )
        dist = merged
        frontier = sp.csr_matrix(
            (fresh.astype(np.float32), merged.indices.copy(), merged.indptr.copy()), shape=merged.shape
        )
        frontier.eliminate_zeros()
    return dist


def label_propagation(u: sp.csr_matrix, max_rounds: int = LPA_ROUNDS) -> np.ndarray:
    """Community label per node by synchronous label propagation on the undirected graph ``u``.

    Every node starts with its own number. Each round, every node takes the label most frequent among its
    neighbours and itself (ties: the smallest label); rounds stop when nothing changes or after
    ``max_rounds``. Only nodes next to a node that changed are recomputed.
    """
    n = u.shape[0]
    labels = np.arange(n, dtype=np.int64)
    if n == 0:
        return labels
    active = np.ones(n, dtype=bool)
    degree = np.diff(u.indptr)
    for _ in range(max_rounds):
        rows = np.flatnonzero(active)
        # Rows in blocks of bounded size; every block votes with the labels of the previous round.
        found = [_votes(u, labels, rows[lo:hi]) for lo, hi in _blocks(degree[rows] + 1, _BLOCK_PRODUCTS)]
        winner_row = np.concatenate([f[0] for f in found])
        winner_lab = np.concatenate([f[1] for f in found])
        changed = winner_row[labels[winner_row] != winner_lab]
        labels[winner_row] = winner_lab
        if len(changed) == 0:
            break
        mark = np.zeros(n, dtype=np.float32)
        mark[changed] = 1.0
        active = ((u @ mark) > 0) | (mark > 0)
    return labels


def _votes(u: sp.csr_matrix, labels: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The winning label of each of ``rows``: most frequent among its neighbours and itself, then smallest."""
    n = u.shape[0]
    sub = u[rows]
    own = np.repeat(rows, np.diff(sub.indptr))
    # One sort of (row, label) keys: runs of a key count the votes for that label at that row.
    key = np.concatenate([own * n + labels[sub.indices], rows * n + labels[rows]])
    key.sort()
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    counts = np.diff(np.r_[starts, len(key)])
    run_row, run_lab = np.divmod(key[starts], n)
    row_start = np.flatnonzero(np.r_[True, run_row[1:] != run_row[:-1]])
    top = np.maximum.reduceat(counts, row_start)
    best = np.flatnonzero(counts == np.repeat(top, np.diff(np.r_[row_start, len(counts)])))
    first = best[np.r_[True, run_row[best][1:] != run_row[best][:-1]]]  # runs are sorted by label
    return run_row[first], run_lab[first]


def graph_features(
    graph: TransferGraph,
    *,
    max_cycle: int = MAX_CYCLE,
    hub_degree: int = HUB_DEGREE,
    lpa_rounds: int = LPA_ROUNDS,
) -> pa.Table:
    """Graph features of every node of ``graph``: ``node_id`` and the columns of ``GRAPH_FEATURES``."""
    a = graph.adjacency()
    u = graph.undirected()
    n = graph.n
    in_degree = np.diff(a.tocsc().indptr).astype(np.int64)
    out_degree = np.diff(a.indptr).astype(np.int64)
    degree = np.diff(u.indptr).astype(np.int64)
    payee_fan_in = _max_over(a, in_degree)
    payer_fan_out = _max_over(a.T.tocsr(), out_degree)
    _, scc = connected_components(a, directed=True, connection="strong")
    _, weak = connected_components(a, directed=True, connection="weak")
    cycle = shortest_cycles(a, max_cycle, hub_degree)
    community = label_propagation(u, lpa_rounds)
    community_size = np.bincount(community, minlength=n)
    inside = community[graph.src] == community[graph.dst]
    community_edges = np.bincount(community[graph.src[inside]], minlength=n)
    community_fan_in = np.zeros(n, dtype=np.int64)
    np.maximum.at(community_fan_in, community, in_degree)
    columns = {
        "node_id": graph.nodes,
        "graph_in_degree": in_degree,
        "graph_out_degree": out_degree,
        "graph_degree": degree,
        "graph_reach_2hop": reach_2hop(u, hub_degree),
        "graph_max_payee_fan_in": payee_fan_in,
        "graph_max_payer_fan_out": payer_fan_out,
        "graph_scc_size": np.bincount(scc)[scc].astype(np.int64),
        "graph_shortest_cycle": cycle,
        "graph_in_short_cycle": cycle > 0,
        "graph_component_size": np.bincount(weak)[weak].astype(np.int64),
        "graph_community_size": community_size[community].astype(np.int64),
        "graph_community_edges": community_edges[community].astype(np.int64),
        "graph_community_max_fan_in": community_fan_in[community],
    }
    return pa.table(columns)


def _max_over(adj: sp.csr_matrix, values: np.ndarray) -> np.ndarray:
    """Per row, the largest ``values[column]`` over its stored columns (0 for empty rows)."""
    out = np.zeros(adj.shape[0], dtype=np.int64)
    rows = np.repeat(np.arange(adj.shape[0]), np.diff(adj.indptr))
    np.maximum.at(out, rows, values[adj.indices])
    return out


# -- accounts ---------------------------------------------------------------------------------------------


def account_graph_features(
    edges: pa.Table,
    accounts: pa.Array,
    *,
    max_cycle: int = MAX_CYCLE,
    hub_degree: int = HUB_DEGREE,
    lpa_rounds: int = LPA_ROUNDS,
) -> pa.Table:
    """Graph features of ``accounts`` (``account_id`` and ``GRAPH_FEATURES``) from ``src, dst`` edges.

    Accounts without any transfer in the edges get zeros (and ``graph_*_size`` 1: a node on its own).
    """
    graph = TransferGraph.from_edges(edges)
    feats = graph_features(graph, max_cycle=max_cycle, hub_degree=hub_degree, lpa_rounds=lpa_rounds)
    accounts = pa.array(accounts).cast(pa.large_string())
    where = pc.index_in(accounts, value_set=feats["node_id"])
    found = pc.is_valid(where)
    index = pc.fill_null(where, 0)
    columns: dict[str, pa.Array] = {"account_id": accounts.cast(pa.string())}
    for spec in GRAPH_FEATURES:
        values = feats[spec.name].take(index).combine_chunks()
        alone = 1 if spec.name.endswith("_size") else (False if spec.dtype == "bool" else 0)
        columns[spec.name] = pc.if_else(found, values, pa.scalar(alone, values.type))
    return pa.table(columns)


# -- reference --------------------------------------------------------------------------------------------


def graph_features_reference(
    edges: pd.DataFrame,
    *,
    max_cycle: int = MAX_CYCLE,
    hub_degree: int = HUB_DEGREE,
    lpa_rounds: int = LPA_ROUNDS,
) -> pd.DataFrame:
    """The same features with networkx and Python loops (small graphs only: tests and benchmarks).

    Parameters
    ----------
    edges : pandas.DataFrame
        ``src, dst`` columns (duplicates and self-loops are dropped).

    Returns
    -------
    pandas.DataFrame
        ``node_id`` and the ``GRAPH_FEATURES`` columns, one row per node.
    """
    import networkx as nx

    src, dst = edges["src"].astype(str).tolist(), edges["dst"].astype(str).tolist()
    g = nx.DiGraph()
    g.add_nodes_from(sorted(set(src + dst)))  # numbered as TransferGraph numbers them
    g.add_edges_from((s, d) for s, d in zip(src, dst, strict=True) if s != d)
    und = g.to_undirected()
    nodes = list(g.nodes)
    hubs = {v for v in nodes if und.degree(v) > hub_degree}
    scc = {v: len(c) for c in nx.strongly_connected_components(g) for v in c}
    weak = {v: len(c) for c in nx.weakly_connected_components(g) for v in c}
    small = g.subgraph([v for v in nodes if v not in hubs])
    pruned = nx.DiGraph(small)
    keep = {v for c in nx.strongly_connected_components(pruned) if len(c) > 1 for v in c}
    cycle = {}
    for v in nodes:
        best = 0
        if v in keep:
            dist = nx.single_source_shortest_path_length(pruned, v, cutoff=max_cycle - 1)
            lengths = [dist[p] + 1 for p in pruned.predecessors(v) if p in dist]
            best = min(lengths) if lengths else 0
        cycle[v] = best
    labels = _reference_lpa(und, nodes, lpa_rounds)
    members = Counter(labels.values())
    inner = Counter(labels[s] for s, d in g.edges if labels[s] == labels[d])
    max_in: dict[object, int] = {}
    for v in nodes:
        max_in[labels[v]] = max(max_in.get(labels[v], 0), g.in_degree(v))
    rows = []
    for v in nodes:
        reach = set(und.neighbors(v))
        for w in und.neighbors(v):
            if w not in hubs:
                reach.update(und.neighbors(w))
        reach.discard(v)
        rows.append(
            {
                "node_id": v,
                "graph_in_degree": g.in_degree(v),
                "graph_out_degree": g.out_degree(v),
                "graph_degree": und.degree(v),
                "graph_reach_2hop": len(reach),
                "graph_max_payee_fan_in": max((g.in_degree(w) for w in g.successors(v)), default=0),
                "graph_max_payer_fan_out": max((g.out_degree(w) for w in g.predecessors(v)), default=0),
                "graph_scc_size": scc[v],
                "graph_shortest_cycle": cycle[v],
                "graph_in_short_cycle": cycle[v] > 0,
                "graph_component_size": weak[v],
                "graph_community_size": members[labels[v]],
                "graph_community_edges": inner.get(labels[v], 0),
                "graph_community_max_fan_in": max_in[labels[v]],
            }
        )
    return pd.DataFrame(rows, columns=["node_id", *graph_feature_names()])


def _reference_lpa(und: object, nodes: list[str], rounds: int) -> dict[str, int]:
    """Synchronous label propagation as in :func:`label_propagation`, one node at a time."""
    number = {v: i for i, v in enumerate(nodes)}
    labels = dict(number)
    for _ in range(rounds):
        new = {}
        for v in nodes:
            votes = Counter([labels[w] for w in und.neighbors(v)] + [labels[v]])  # type: ignore[attr-defined]
            top = max(votes.values())
            new[v] = min(label for label, count in votes.items() if count == top)
        if new == labels:
            break
        labels = new
    return labels
