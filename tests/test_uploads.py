"""Upload staging: safe names that never leave the upload folder, refused files with reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import uploads


@pytest.mark.parametrize(
    "name,expected",
    [
        ("report.PDF", "report.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\evil.md", "evil.md"),
        ("/abs/path/notes.md", "notes.md"),
        ("...hidden.txt", "hidden.txt"),
        ("a b$c%d;e.txt", "a b_c_d_e.txt"),
        ("ＦＵＬＬ.txt", "FULL.txt"),  # NFKC folds full-width letters
        ("\x00nul.txt", "nul.txt"),
        ("..", "upload"),
        ("", "upload"),
        ("no-extension", "no-extension"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert uploads.safe_filename(name) == expected


def test_safe_filename_caps_length_and_keeps_the_suffix() -> None:
    out = uploads.safe_filename("x" * 500 + ".pdf")
    assert out.endswith(".pdf") and len(out) <= uploads.MAX_NAME_CHARS


def test_stage_uploads_keeps_names_inside_the_folder_and_refuses_bad_files(tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    files = {
        "..\\..\\evil.md": b"# Evil\ntext",  # backslashes are ordinary characters in a Linux file name
        "notes.txt": b"plain text",
        "big.txt": b"x" * 5000,
        "tool.exe": b"MZ",
    }
    for name, data in files.items():
        (incoming / name).write_bytes(data)
    twin = tmp_path / "other"
    twin.mkdir()
    (twin / "notes.txt").write_bytes(b"second notes")
    dest = tmp_path / "uploads" / "files"

    paths = [incoming / n for n in files] + [twin / "notes.txt"]
    staged, skipped = uploads.stage_uploads(paths, dest, max_bytes=1000)

    assert sorted(p.name for p in staged) == ["evil.md", "notes-2.txt", "notes.txt"]
    assert all(p.parent == dest and uploads.inside(dest, p) for p in staged)
    assert (dest / "notes-2.txt").read_bytes() == b"second notes"
    reasons = dict(skipped)
    assert "over the" in reasons["big.txt"] and "MB upload limit" in reasons["big.txt"]
    assert "unsupported file type" in reasons["tool.exe"]
    assert sorted(p.name for p in dest.iterdir()) == ["evil.md", "notes-2.txt", "notes.txt"]
    assert not (tmp_path / "evil.md").exists() and not (tmp_path.parent / "evil.md").exists()


def test_inside_follows_dot_dot_and_symlinks(tmp_path: Path) -> None:
    (tmp_path / "box").mkdir()
    (tmp_path / "box" / "link").symlink_to(tmp_path)
    assert uploads.inside(tmp_path / "box", tmp_path / "box" / "a.txt")
    assert not uploads.inside(tmp_path / "box", tmp_path / "box" / ".." / "a.txt")
    assert not uploads.inside(tmp_path / "box", tmp_path / "box" / "link" / "a.txt")
