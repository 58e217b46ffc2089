"""bench/graphql_bench.py --baseline-tree refuses an A/B that is not one (session 10 review): the side ``hub`` must
run the bench's own tree (started from inside the baseline's tree it imported that one, unnoticed), ``hub_base``
the baseline's, and the two must differ."""

from __future__ import annotations


import pytest

from tests.bench_modules import load_bench



@pytest.fixture(scope="module")
def bench():
    return load_bench("graphql_bench")


def test_the_trees_of_a_true_ab_pass(bench):
    bench.check_trees({"hub": "/w/new", "hub_base": "/tmp/base"}, "/w/new", "/tmp/base")


@pytest.mark.parametrize("trees, base, why", [
    ({"hub": "/tmp/base", "hub_base": "/tmp/base"}, "/tmp/base", "the hub imports hub from /tmp/base"),  # run from base
    ({"hub": "/w/new", "hub_base": "/w/new"}, "/tmp/base", "the baseline hub imports hub from /w/new"),  # no hub there
    ({"hub": "/w/new", "hub_base": "/w/new"}, "/w/new", "the bench's own tree"),  # the baseline is the tree itself
])
def test_a_wrong_tree_is_refused(bench, trees, base, why):
    with pytest.raises(RuntimeError, match=why.replace("(", r"\(")):
        bench.check_trees(trees, "/w/new", base)
