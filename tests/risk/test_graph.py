"""Transfer-graph features: equal to the networkx reference, right on hand-drawn graphs, bounded in memory."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import youshu.features.graph as graph_module
from youshu.engine import Engine, Tables
from youshu.features.graph import (
    TransferGraph,
    account_graph_features,
    graph_feature_names,
    graph_features,
    graph_features_reference,
    label_propagation,
    reach_2hop,
    shortest_cycles,
    transfer_edges,
)
from youshu.features.risk import ledger_from_transactions

AS_OF = date(2025, 9, 30)


def _edges(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["src", "dst"])


def _features(pairs: list[tuple[str, str]], **kw: int) -> pd.DataFrame:
    return graph_features(TransferGraph.from_edges(_edges(pairs)), **kw).to_pandas().set_index("node_id")


def _assert_same(edges: pd.DataFrame, **kw: int) -> None:
    got = graph_features(TransferGraph.from_edges(edges), **kw).to_pandas()
    want = graph_features_reference(edges, **kw)
    got = got.sort_values("node_id").reset_index(drop=True)
    want = want.sort_values("node_id").reset_index(drop=True)
    assert list(got.columns) == ["node_id", *graph_feature_names()]
    for column in want.columns:
        assert (got[column].to_numpy() == want[column].to_numpy()).all(), column


@pytest.mark.parametrize("seed", range(12))
def test_sparse_features_equal_the_networkx_reference_on_random_graphs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 250))
    m = int(rng.integers(1, 3 * n))
    src = rng.integers(0, n, m)
    dst = np.where(rng.random(m) < 0.5, (src + rng.integers(1, 4, m)) % n, rng.integers(0, n, m))
    edges = pd.DataFrame({"src": [f"N{i}" for i in src], "dst": [f"N{i}" for i in dst]})
    _assert_same(edges, hub_degree=int(rng.integers(3, 20)), max_cycle=int(rng.integers(2, 7)))


def test_sparse_features_equal_the_reference_on_the_province_graph(duck: Engine, risk_province: Path) -> None:
    edges = duck.to_pyarrow(transfer_edges(ledger_from_transactions(Tables(duck, risk_province)), AS_OF))
    assert edges.num_rows > 1000
    _assert_same(edges.select(["src", "dst"]).to_pandas(), hub_degree=50)


def test_shortest_cycle_is_the_loop_length_and_ignores_longer_ones() -> None:
    ring4 = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "a")]
    ring7 = [(f"r{i}", f"r{(i + 1) % 7}") for i in range(7)]
    f = _features([*ring4, ("a", "c"), ("x", "a"), *ring7, ("p", "q"), ("q", "p")], max_cycle=6)
    assert f.loc[["a", "b", "c", "d"], "graph_shortest_cycle"].tolist() == [3, 4, 3, 3]
    assert f.loc["x", "graph_shortest_cycle"] == 0  # pays into the loop, is not on it
    assert (f.loc[[f"r{i}" for i in range(7)], "graph_shortest_cycle"] == 0).all()  # 7 > 6
    assert (f.loc[[f"r{i}" for i in range(7)], "graph_scc_size"] == 7).all()
    assert f.loc["p", "graph_shortest_cycle"] == 2 and bool(f.loc["p", "graph_in_short_cycle"])


def test_hubs_are_not_expanded_through() -> None:
    star = [(f"s{i}", "hub") for i in range(10)] + [("hub", "s0")]
    u = TransferGraph.from_edges(_edges(star)).undirected()
    assert reach_2hop(u, hub_degree=100).max() == 10  # every leaf reaches the hub and the nine others
    reach = reach_2hop(u, hub_degree=5)
    assert reach.max() == 10  # the hub itself still sees its leaves
    assert sorted(reach)[0] == 1  # a leaf only reaches the hub
    a = TransferGraph.from_edges(_edges(star)).adjacency()
    assert shortest_cycles(a, 6, hub_degree=100).max() == 2
    assert shortest_cycles(a, 6, hub_degree=5).max() == 0


def test_shared_collectors_show_as_payee_fan_in() -> None:
    f = _features([("m1", "boss"), ("m2", "boss"), ("m3", "boss"), ("v", "m1"), ("x", "y")])
    assert f.loc["m1", "graph_max_payee_fan_in"] == 3
    assert f.loc["v", "graph_max_payee_fan_in"] == 1
    assert f.loc["boss", "graph_in_degree"] == 3
    assert f.loc["m1", "graph_reach_2hop"] == 4  # boss, v, m2, m3


def test_label_propagation_finds_two_cliques_joined_by_one_edge() -> None:
    left = [(f"a{i}", f"a{j}") for i in range(5) for j in range(5) if i < j]
    right = [(f"b{i}", f"b{j}") for i in range(5) for j in range(5) if i < j]
    g = TransferGraph.from_edges(_edges([*left, *right, ("a0", "b0")]))
    labels = label_propagation(g.undirected())
    ids = g.nodes.to_pylist()
    community = dict(zip(ids, labels, strict=True))
    assert len({community[f"a{i}"] for i in range(5)}) == 1
    assert len({community[f"b{i}"] for i in range(5)}) == 1
    assert community["a1"] != community["b1"]


def test_small_blocks_give_the_same_reach(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    src, dst = rng.integers(0, 400, 1500), rng.integers(0, 400, 1500)
    edges = pd.DataFrame({"src": src.astype(str), "dst": dst.astype(str)})
    u = TransferGraph.from_edges(edges).undirected()
    whole = reach_2hop(u, 1000)
    monkeypatch.setattr(graph_module, "_BLOCK_PRODUCTS", 50)
    assert (reach_2hop(u, 1000) == whole).all()
    a = TransferGraph.from_edges(edges).adjacency()
    assert (shortest_cycles(a, 6, 1000, batch=7) == shortest_cycles(a, 6, 1000)).all()


def test_accounts_outside_the_graph_get_zeros_and_size_one() -> None:
    edges = pa.table({"src": ["A1", "A2"], "dst": ["A2", "A1"]})
    table = account_graph_features(edges, pa.array(["A1", "A9"])).to_pandas().set_index("account_id")
    assert table.loc["A1", "graph_shortest_cycle"] == 2
    assert table.loc["A9", "graph_degree"] == 0 and table.loc["A9", "graph_component_size"] == 1
    assert not table.loc["A9", "graph_in_short_cycle"]


def test_transfer_edges_take_debits_and_outside_credits_once(duck: Engine, risk_province: Path) -> None:
    import duckdb

    edges = duck.execute(transfer_edges(ledger_from_transactions(Tables(duck, risk_province)), AS_OF))
    assert not edges.duplicated(["src", "dst"]).any()
    internal = (
        duckdb.connect()
        .execute(
            f"""select count(distinct (account_id, counterparty_account_id)) from
        read_parquet('{risk_province}/transactions/*.parquet') where direction = 'out'
        and counterparty_account_id is not null and txn_at >= TIMESTAMP '2025-09-01' and txn_at < TIMESTAMP '2025-10-01'
        and account_id <> counterparty_account_id"""
        )
        .fetchone()
    )
    assert internal is not None
    both_ours = edges["src"].str.startswith("A") & edges["dst"].str.startswith("A")
    assert int(both_ours.sum()) == internal[0]


def test_features_do_not_depend_on_the_order_of_the_edges() -> None:
    rng = np.random.default_rng(9)
    src, dst = rng.integers(0, 300, 900), rng.integers(0, 300, 900)
    edges = pd.DataFrame({"src": [f"N{i}" for i in src], "dst": [f"N{i}" for i in dst]})
    a = graph_features(TransferGraph.from_edges(edges)).to_pandas().sort_values("node_id")
    shuffled = edges.sample(frac=1.0, random_state=4)
    b = graph_features(TransferGraph.from_edges(shuffled)).to_pandas().sort_values("node_id")
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_label_propagation_in_small_blocks_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    src, dst = rng.integers(0, 500, 2000), (rng.integers(0, 500, 2000) // 50) * 50 + rng.integers(0, 50, 2000)
    u = TransferGraph.from_edges(pd.DataFrame({"src": src.astype(str), "dst": dst.astype(str)})).undirected()
    whole = label_propagation(u)
    monkeypatch.setattr(graph_module, "_BLOCK_PRODUCTS", 40)
    assert (label_propagation(u) == whole).all()
