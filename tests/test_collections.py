"""`python -m ingest` adds and updates by default, removes only with --prune, and says what it kept;
named collections live side by side and are listed with their counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.__main__ import main as ingest_main
from ingest.__main__ import prune_note
from ingest.pipeline import IngestReport
from search.__main__ import main as search_main
from search.collections import collection_dir, list_collections, validate_name
from search.settings import Settings
from tests.test_ingest import TOPICS, make_corpus


@pytest.fixture
def roots(tmp_path, monkeypatch, embedder):
    """Default index and collections folder in tmp; the CLI reuses the session's embedding model."""
    monkeypatch.setenv("SEARCH_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("SEARCH_COLLECTIONS_DIR", str(tmp_path / "collections"))
    monkeypatch.setattr("ingest.pipeline.Embedder", lambda *args, **kwargs: embedder)
    return tmp_path


def test_ingest_keeps_other_documents_unless_pruned(roots, capsys):
    corpus = make_corpus(roots / "corpus")
    mine = roots / "mine"
    mine.mkdir()
    (mine / "kites.md").write_text("# Kites\n\nA kite needs wind of about 10 km/h to fly.", encoding="utf-8")

    assert ingest_main([str(corpus)]) == 0
    capsys.readouterr()
    assert ingest_main([str(mine)]) == 0
    out, err = capsys.readouterr()
    assert "6 documents" in out and "added 1, updated 0, removed 0" in out
    assert "note: kept 5 indexed documents not among the inputs" in err
    assert "--prune (or --mirror)" in err
    assert str(corpus / "cheese.pdf") in err and str(corpus / "rust.txt") in err

    assert ingest_main([str(mine), "--prune"]) == 0
    out, err = capsys.readouterr()
    assert "1 documents" in out and "removed 5" in out and "note:" not in err
    assert [c.documents for c in list_collections(Settings.from_env())] == [1]


def test_mirror_is_the_same_flag_and_removes_missing_documents(roots, capsys):
    corpus = make_corpus(roots / "corpus")
    assert ingest_main([str(corpus), "--collection", "demo"]) == 0
    (corpus / "bikes.txt").unlink()
    assert ingest_main([str(corpus), "--collection", "demo", "--mirror"]) == 0
    out = capsys.readouterr().out
    assert "removed 1" in out and "4 documents" in out


def test_prune_note_names_at_most_ten_documents():
    one = prune_note(IngestReport(index_dir="x", kept_missing=["a.pdf"]))
    assert one.splitlines() == [
        "note: kept 1 indexed document not among the inputs; run again with --prune (or --mirror) "
        "to remove it:",
        "  a.pdf",
    ]
    many = prune_note(IngestReport(index_dir="x", kept_missing=[f"d{i:02}.txt" for i in range(37)]))
    lines = many.splitlines()
    assert "kept 37 indexed documents" in lines[0] and "remove them" in lines[0]
    assert lines[1:11] == [f"  d{i:02}.txt" for i in range(10)] and lines[11] == "  ... and 27 more"


def test_collections_are_separate_listed_and_searchable(roots, capsys):
    corpus = make_corpus(roots / "corpus")
    notes = roots / "notes"
    notes.mkdir()
    (notes / "kites.md").write_text("# Kites\n\nA kite needs wind of about 10 km/h to fly.", encoding="utf-8")
    assert ingest_main([str(corpus)]) == 0
    assert ingest_main([str(notes), "--collection", "kites"]) == 0
    damaged = roots / "collections" / "broken"
    damaged.mkdir()
    (damaged / "CURRENT").write_text("v-missing\n")
    capsys.readouterr()

    found = list_collections(Settings.from_env())
    assert [(c.name, c.documents, c.error == "") for c in found] == [
        ("main", len(TOPICS) + 1, True),
        ("broken", 0, False),
        ("kites", 1, True),
    ]
    assert found[2].index_dir == roots / "collections" / "kites" and found[2].chunks == 1
    assert "damaged" in found[1].error

    assert ingest_main(["--list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["collection", "documents", "chunks", "index"]
    assert table[1].split()[:2] == ["main", "5"] and table[3].split()[:3] == ["kites", "1", "1"]

    assert search_main(["kite wind", "--collection", "kites", "--no-rerank", "--json"]) == 0
    assert '"citation": "kites.md"' in capsys.readouterr().out
    assert search_main(["kite wind", "--collection", "nothing", "--no-rerank"]) == 2
    err = capsys.readouterr().err
    # names the collections by --collection name (the damaged one left out), not an --index folder
    assert "no collection named 'nothing': the collections here: main, kites" in err
    assert "--collection NAME" in err and "python -m ingest PATH --collection nothing" in err
    assert "--index" not in err and len(err.strip().splitlines()) == 1


def test_list_collections_is_empty_before_any_ingest(tmp_path):
    settings = Settings(index_dir=tmp_path / "index", collections_dir=tmp_path / "collections")
    assert list_collections(settings) == []


@pytest.mark.parametrize("name", ["", "../x", "a/b", "a\\b", "..", ".hidden", "-rf", "x" * 65, "a..b"])
def test_bad_collection_names_are_refused(name, roots, capsys):
    with pytest.raises(ValueError, match="invalid collection name"):
        validate_name(name)
    for main in (ingest_main, search_main):
        args = ["--list"] if main is ingest_main else ["q", "--no-rerank"]
        with pytest.raises(SystemExit) as exit_:
            main([*args, f"--collection={name}"])
        assert exit_.value.code == 2
        assert "invalid collection name" in capsys.readouterr().err


def test_main_is_the_default_index_and_other_names_sit_under_the_collections_folder(tmp_path):
    settings = Settings(index_dir=tmp_path / "idx", collections_dir=tmp_path / "cols")
    assert collection_dir(settings, "main") == tmp_path / "idx"
    assert collection_dir(settings, "scifact-v2.1") == Path(tmp_path / "cols" / "scifact-v2.1")
