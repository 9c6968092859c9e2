"""The item-6 attack script only targets this machine and sends whole, well-formed raw calls."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "attack_inputs", Path(__file__).parents[1] / "bench" / "attack_inputs.py"
)
assert _spec and _spec.loader
attack = importlib.util.module_from_spec(_spec)
sys.modules["attack_inputs"] = attack
_spec.loader.exec_module(attack)


@pytest.mark.parametrize("url", ["http://example.com:7860", "http://10.0.0.5:7860", "file:///etc"])
def test_only_local_urls_are_accepted(url: str) -> None:
    with pytest.raises(SystemExit):
        attack.local_url(url)


def test_raw_calls_send_every_parameter_of_the_endpoint() -> None:
    """A raw call with too few inputs is refused by Gradio before our validation: each attack must
    send exactly the endpoint's parameters, in the order of the API's signature."""
    from webapp.api import Api

    for api, values in attack.PARAMS.items():
        names = [p for p in inspect.signature(getattr(Api, api)).parameters if p not in ("self", "request")]
        assert len(values) == len(names), api
    assert all(max(changes) < len(attack.PARAMS[api]) for api, changes, _ in attack.ATTACKS)
