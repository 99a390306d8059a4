"""Topics fitted on a sample in one process, then assigned on a local Dask cluster: equal to transform."""
import numpy as np
import pytest

pytest.importorskip("dask", reason="the dask extra is not installed (pip install 'darien-nlp[dask]')")
distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

from darien_nlp.topics import TopicModel  # noqa: E402

from .conftest import FAST, theme_passages  # noqa: E402


def test_assign_topics_bag_on_two_worker_processes_equals_transform():
    import dask.bag as db

    from darien_nlp.distributed import assign_topics_bag

    texts, _ = theme_passages(40, seed=3)
    model = TopicModel(**{**FAST, "clusterer": "hdbscan", "min_cluster_size": 10}, random_state=2).fit(texts[::2])
    expected = model.transform(texts)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=":0") as cluster, distributed.Client(cluster):
        got = assign_topics_bag(db.from_sequence(texts, npartitions=4), model).compute()
    np.testing.assert_array_equal(np.asarray(got), expected)
    with pytest.raises(TypeError, match="fitted TopicModel"):
        assign_topics_bag(db.from_sequence(texts), object())
