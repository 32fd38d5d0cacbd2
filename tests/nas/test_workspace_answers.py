"""Answer files: every problem rejects the whole file with a line number; valid files record exactly once."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nas.workspace import AnswerFileError, Workspace, WorkspaceError
from nas.workspace.pool import describe_features
from nas.workspace.store import Config, Store

CLASSES = ["cat", "dog", "7"]
IDS = [f"img_{i}.png" for i in range(20)]


def make_workspace(directory, pool_file, ids=IDS):
    store = Store.create(directory, describe_features(pool_file), ids, CLASSES, Config("random", "cv"))
    store.record_query(1, [3, 5, 8, 13], seconds=0.0)
    return Workspace(store)


@pytest.fixture(scope="module")
def pool_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("pool") / "pool.npy"
    np.save(path, np.random.default_rng(0).standard_normal((20, 3)).astype(np.float32))
    return path


@pytest.fixture
def ws(tmp_path, pool_file):
    w = make_workspace(tmp_path / "ws", pool_file)
    yield w
    w.close()


def write(tmp_path, text, name="answers.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def labels_of(ws):
    return {s: lab for s, (lab, _, _) in ws._store.labels().items()}


def test_labels_by_index_id_name_and_number(ws, tmp_path):
    path = write(tmp_path, "\ufeffID,Label,annotator,notes\nimg_3.png,cat,ann,x\nimg_5.png,2,,\n\n")
    result = ws.annotate(path, annotator="team")
    assert (result.recorded, result.rows, result.pending, result.open_round) == (2, 2, 2, 1)
    rows = ws._store.labels()
    assert rows[3][:2] == (0, "ann") and rows[5][:2] == (2, "team")
    result = ws.annotate([(8, "dog"), ("img_13.png", 0), (3, "cat")])
    assert (result.recorded, result.already_recorded, result.open_round) == (2, 1, None)
    assert labels_of(ws) == {3: 0, 5: 2, 8: 1, 13: 0}


def test_class_name_wins_over_number(ws):
    ws.annotate([{"index": 3, "label": "7"}])
    assert labels_of(ws) == {3: 2}


def test_query_csv_with_labels_added_is_an_answer_file(ws, tmp_path):
    query = ws.query()
    assert not query.new and query.round == 1 and list(query.pending) == [3, 5, 8, 13]
    text = query.path.read_text().splitlines()
    assert text[0] == "index,id,label" and text[1] == "3,img_3.png,"
    filled = "\n".join([text[0]] + [line + "dog" for line in text[1:3]] + text[3:]) + "\n"
    result = ws.annotate(write(tmp_path, filled))
    assert (result.recorded, result.unanswered, result.pending) == (2, 2, 2)
    assert list(ws.query().pending) == [8, 13]


@pytest.mark.parametrize("text, line, match", [
    ("index,label\n3,cat\n5,cow\n", 3, "unknown class 'cow'"),
    ("id,label\nimg_3.png,cat\nimg_99.png,dog\n", 3, "unknown id 'img_99.png'"),
    ("index,label\n3,cat\n5,dog\n3,cat\n", 4, "answered twice \\(first on line 2\\)"),
    ("index,label\n3,cat\n4,dog\n", 3, "sample 4 was never queried"),
    ("index,label\n3,cat\n20,dog\n", 3, "not a pool index"),
    ("index,label\n3,cat\n-1,dog\n", 3, "not a pool index"),
    ("index,label\n3,cat\n5,3\n", 3, "unknown class '3'"),
    ("index,id,label\n3,img_3.png,cat\n5,img_8.png,dog\n", 3, "name different samples"),
    ("index,label\n3,cat\n5,dog\n,dog\n", 4, "no index or id"),
    ("index\n3\n", 1, "no 'label' column"),
    ("name,label\n3,cat\n", 1, "'index' or an 'id'"),
    ("", 1, "empty file"),
    ('index,label\n3,cat\n5,"dog\n', 3, "malformed|unknown class"),
])
def test_bad_files_are_rejected_whole_with_line_numbers(ws, tmp_path, text, line, match):
    with pytest.raises(AnswerFileError, match=match) as info:
        ws.annotate(write(tmp_path, text))
    assert info.value.problems[0][0] == line
    assert f"line {line}:" in str(info.value) and "nothing recorded" in str(info.value)
    assert labels_of(ws) == {}


def test_contradicting_a_recorded_label_is_rejected(ws, tmp_path):
    ws.annotate([(3, "cat")])
    with pytest.raises(AnswerFileError, match="already has the label 'cat'; got 'dog'"):
        ws.annotate(write(tmp_path, "index,label\n5,cat\n3,dog\n"))
    assert labels_of(ws) == {3: 0}


def test_all_problems_are_listed(ws, tmp_path):
    with pytest.raises(AnswerFileError) as info:
        ws.annotate(write(tmp_path, "index,label\n3,x\n5,y\n8,z\n13,w\n3,cat\n5,dog\n9,cat\n"))
    assert [line for line, _ in info.value.problems] == [2, 3, 4, 5, 6, 7, 8]
    assert "and 2 more problems" in str(info.value)


def test_missing_answer_file(ws, tmp_path):
    with pytest.raises(WorkspaceError, match="does not exist"):
        ws.annotate(tmp_path / "none.csv")


def test_workspace_without_ids_uses_the_index_as_id(tmp_path, pool_file):
    w = make_workspace(tmp_path / "noids", pool_file, ids=None)
    w.annotate(write(tmp_path, "id,label\n5,dog\n"))
    assert labels_of(w) == {5: 1}
    with pytest.raises(AnswerFileError, match="unknown id 'img_8.png'"):
        w.annotate([("img_8.png", "dog")])
    w.close()


cell = st.one_of(st.sampled_from(["3", "5", "8", "13", "4", "img_3.png", "img_8.png", "img_99.png", "cat", "dog",
                                  "7", "2", "cow", "", " ", "-1", "1e3", '"', "\u00e9"]),
                 st.text(max_size=6))
row = st.lists(cell, min_size=0, max_size=4).map(lambda cells: ",".join(cells))
header = st.sampled_from(["index,label", "id,label", "index,id,label", "label,index,annotator", "index", "x,y", ""])
answer_text = st.tuples(header, st.lists(row, max_size=8)).map(lambda t: ("\n".join([t[0], *t[1]]) + "\n").encode())
answer_bytes = st.one_of(answer_text, answer_text.map(lambda b: b.replace(b"a", b"\xff")), st.binary(max_size=40))


@given(texts=st.lists(answer_bytes, min_size=1, max_size=4))
def test_fuzzed_answer_files_never_corrupt_the_workspace(tmp_path_factory, pool_file, texts):
    directory = tmp_path_factory.mktemp("fuzz")
    w = make_workspace(directory / "ws", pool_file)
    expected = {}
    for k, text in enumerate(texts):
        path = directory / f"a{k}.csv"
        path.write_bytes(text)
        before = labels_of(w)
        try:
            result = w.annotate(path)
        except AnswerFileError as exc:
            assert exc.problems and all(line >= 1 for line, _ in exc.problems)
            assert labels_of(w) == before
            continue
        after = labels_of(w)
        assert len(after) == len(before) + result.recorded
        assert {s: after[s] for s in before} == before
        expected = after
    assert labels_of(w) == expected
    assert set(expected) <= {3, 5, 8, 13}
    assert w._store.integrity_check() == "ok"
    w.close()
