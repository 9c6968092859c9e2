"""The unchanged re-run path: document ids computed per folder equal `default_doc_id`, and a re-run
with nothing to do loads neither the embedding model nor FAISS nor bm25s."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from ingest import sources
from ingest.load import default_doc_id
from ingest.pipeline import file_sources, run_ingest
from ingest.sources import _DocIds
from search.backends import open_writer
from search.embedding import Embedder
from search.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def make_tree(root: Path) -> list[Path]:
    (root / "a" / "b").mkdir(parents=True)
    (root / "elsewhere").mkdir()
    files = [root / "a" / "one.txt", root / "a" / "two.md", root / "a" / "b" / "three.txt"]
    for i, path in enumerate(files):
        path.write_text(f"document number {i}", encoding="utf-8")
    (root / "elsewhere" / "target.txt").write_text("linked", encoding="utf-8")
    (root / "a" / "link.txt").symlink_to(root / "elsewhere" / "target.txt")
    (root / "linked_dir").symlink_to(root / "a" / "b", target_is_directory=True)
    return files


def test_ids_equal_default_doc_id(tmp_path, monkeypatch) -> None:
    files = make_tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    paths = [
        *files,
        tmp_path / "a" / "link.txt",  # a file symlink resolves to its target
        tmp_path / "linked_dir" / "three.txt",  # a folder symlink resolves too
        Path("a") / "one.txt",  # relative
        Path("a") / "b" / ".." / "two.md",  # with ..
        *files,  # folders seen before
    ]
    ids = _DocIds()
    assert [ids(p) for p in paths] == [default_doc_id(p) for p in paths]


def test_ids_fall_back_when_the_id_scheme_disagrees(tmp_path, monkeypatch) -> None:
    files = make_tree(tmp_path)

    def other_scheme(path: Path) -> str:
        return hashlib.md5(str(Path(path).resolve()).encode()).hexdigest()[:16]

    monkeypatch.setattr(sources, "default_doc_id", other_scheme)
    ids = _DocIds()
    assert [ids(p) for p in files * 2] == [other_scheme(p) for p in files * 2]


def test_file_sources_ids_match_default_doc_id(tmp_path) -> None:
    make_tree(tmp_path)
    sources, _ = file_sources([tmp_path / "a", tmp_path / "linked_dir"], max_bytes=1 << 20)
    assert sources
    assert [s.doc_id for s in sources] == [default_doc_id(Path(s.source)) for s in sources]


def test_unchanged_rerun_imports_no_model_faiss_or_bm25s(tmp_path, embedder: Embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(3):
        (docs / f"d{i}.txt").write_text(f"Note {i}: pumice floats on water, basalt sinks.", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index")
    sources, _ = file_sources([docs], max_bytes=1 << 20)
    run_ingest(sources, open_writer(settings), settings, embedder=embedder, show_progress=False)

    code = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        from ingest.pipeline import file_sources, run_ingest
        from search.backends import open_writer
        from search.settings import Settings
        settings = Settings(index_dir=Path({str(settings.index_dir)!r}))
        sources, _ = file_sources([Path({str(docs)!r})], max_bytes=1 << 20)
        report = run_ingest(sources, open_writer(settings), settings, show_progress=False)
        heavy = [m for m in ("torch", "sentence_transformers", "faiss", "bm25s") if m in sys.modules]
        print(json.dumps({{"changed": report.changed, "unchanged": report.unchanged, "heavy": heavy}}))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"changed": False, "unchanged": 3, "heavy": []}
