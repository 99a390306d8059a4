"""Final labels from independent passes: agreement, majority, lead adjudication, unresolved."""
import pytest

from darien_nlp.data import GoldDataError, merge_passes


def _r(start, labels, doc="d1"):
    return {"corpus": "c.jsonl.gz", "doc": doc, "start": start, "end": start + 10, "sha256": "0" * 64, "labels": labels}


def test_merge_rules():
    passes = {
        "a": [_r(0, ["enforcement"]), _r(10, ["humanitarian"]), _r(20, ["development"]), _r(30, []), _r(40, ["environment"])],
        "b": [_r(0, ["enforcement"]), _r(10, ["humanitarian", "enforcement"]), _r(20, [])],
        "c": [_r(10, ["enforcement"]), _r(30, ["lawful_pathways"]), _r(50, ["development"])],
    }
    merged, unresolved = merge_passes(passes)
    by_start = {r["start"]: (r["labels"], r["pass"]) for r in merged}
    assert by_start[0] == (["enforcement"], "a+b agree")
    # Label-wise majority of three: enforcement 2/3, humanitarian 2/3.
    assert by_start[10] == (["enforcement", "humanitarian"], "majority(a,b,c)")
    assert by_start[30] == (["lawful_pathways"], "adjudicated by c")
    assert by_start[40] == (["environment"], "a")
    assert by_start[50] == (["development"], "c")
    # a and b disagree and there is no c: not guessed, handed back for a blind pass.
    assert [(u["start"], u["votes"]) for u in unresolved] == [(20, {"a": ["development"], "b": []})]
    assert 20 not in by_start
    assert all("votes" not in r for r in merged)


def test_three_agreeing_passes_and_label_order():
    labels = ["humanitarian", "enforcement"]
    merged, _ = merge_passes({name: [_r(0, labels)] for name in "abc"})
    assert merged[0]["labels"] == ["enforcement", "humanitarian"] and merged[0]["pass"] == "a=b=c"


def test_a_pass_labelling_a_passage_twice_is_refused():
    with pytest.raises(GoldDataError, match="twice"):
        merge_passes({"a": [_r(0, []), _r(0, ["enforcement"])]})


def test_agreement_gives_kappa_and_f1_on_shared_passages():
    from darien_nlp.recipes.gold import agreement

    def record(n, labels):
        return {"corpus": "c.jsonl.gz", "doc": "d", "start": n, "end": n + 1, "labels": labels}

    first = [record(0, ["enforcement"]), record(1, ["enforcement", "humanitarian"]), record(2, []), record(3, ["development"])]
    second = [record(0, ["enforcement"]), record(1, ["humanitarian"]), record(2, ["enforcement"]), record(9, ["development"])]
    result = agreement(first, second)
    assert result["n"] == 3  # passage 3 and 9 were labelled by one pass only
    assert result["f1"]["enforcement"] == pytest.approx(2 * 1 / (2 + 2))
    assert result["f1"]["humanitarian"] == 1.0
    assert result["f1"]["development"] is None  # neither pass used it on the shared passages
    assert result["macro_f1"] == pytest.approx((0.5 + 1.0) / 2)
    assert result["positives"]["enforcement"] == [2, 2]
    assert agreement(first, [])["n"] == 0 and agreement(first, [])["macro_f1"] is None
