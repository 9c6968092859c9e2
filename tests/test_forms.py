"""Session keys and the small widget conversions of the web app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from search.errors import SearchError, UploadError
from search.models import FusionParams
from webapp import forms, sessions


def test_session_key_hashes_the_id_and_needs_one() -> None:
    key = sessions.session_key("../../abc")
    assert len(key) == 32 and key.isalnum() and key == sessions.session_key("../../abc")
    assert key != sessions.session_key("abd")
    with pytest.raises(UploadError):
        sessions.session_key(None)
    with pytest.raises(UploadError):
        sessions.session_key("  ")


def test_fusion_from_ui_keeps_the_index_params_until_changed() -> None:
    base = FusionParams(mode="rrf", k=60, alpha=0.5, source="tuned")
    assert forms.fusion_from_ui(base, "rrf", 0.5) is base
    weighted = forms.fusion_from_ui(base, "weighted", 0.3)
    assert (weighted.mode, weighted.alpha, weighted.k, weighted.source) == ("weighted", 0.3, 60, "ui")
    rrf = forms.fusion_from_ui(base, "RRF", 0.8)
    assert rrf.weighted_rrf and rrf.alpha == 0.8
    assert forms.fusion_from_ui(base, "rrf", 7).alpha == 1.0
    with pytest.raises(SearchError):
        forms.fusion_from_ui(base, "max", 0.2)


def test_load_example_queries(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    path.write_text(json.dumps([{"query": " A? "}, "B?", {"query": "A?"}, {"why": "no query"}, 3]))
    assert forms.load_example_queries(path) == ["A?", "B?"]
    assert forms.load_example_queries(tmp_path / "missing.json") == []
    (tmp_path / "bad.json").write_text("{not json")
    assert forms.load_example_queries(tmp_path / "bad.json") == []
