from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("bench_maps")


def test_torch_path_table_edge_list_beats_dense_propagation(bench):
    from monai_imbalance.maps import components

    before = components._EDGE_BUDGET
    rows = [r.strip("|").split("|") for r in bench.torch_path_rows(1, shape=(40, 36, 32), lesions=6)]
    assert before == components._EDGE_BUDGET  # restored
    names = [r[0].strip() for r in rows]
    assert names == ["inverse weights, edge list (default)", "inverse weights, dense propagation", "RRW (3 classes)"]
    (ops_edges, mb_edges), (ops_dense, mb_dense) = ((int(r[1]), float(r[2])) for r in rows[:2])
    # the edge list touches the volume a handful of times; the dense propagation every iteration
    assert ops_edges < ops_dense
    assert mb_edges < mb_dense / 4
    assert all(float(r[3]) > 0 for r in rows)
