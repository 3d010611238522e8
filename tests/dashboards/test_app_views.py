"""The review app is assembled from view modules: every id a callback names is in a layout, each view's own."""

from __future__ import annotations

import importlib

import dash
import pytest

from dashboards.app import VIEWS, create_app
from dashboards.campaign_view import campaign_page
from dashboards.home_view import home_page
from dashboards.layout import shell
from dashboards.router import campaign_key

VIEW_MODULES = ("home_view", "campaign_view", "review_view", "measure_view", "history_view", "charts_view",
                "front_view", "surrogate_view", "run_view", "compare_view")


def _ids(component) -> list[str]:
    """Every component id in a layout tree."""
    found = []
    stack = [component]
    while stack:
        c = stack.pop()
        if isinstance(c, list | tuple):
            stack.extend(c)
            continue
        if not hasattr(c, "to_plotly_json"):
            continue
        if getattr(c, "id", None) is not None:
            found.append(c.id)
        stack.append(getattr(c, "children", None))
    return found


def _callback_ids(app) -> set[str]:
    ids = set()
    for key, cb in app.callback_map.items():
        outputs = key.strip(".").split("...")
        ids.update(o.rsplit(".", 1)[0] for o in outputs)
        ids.update(d["id"] for d in (*cb["inputs"], *cb["state"]))
    return ids


@pytest.fixture(scope="module")
def app(sample_store_template):
    return create_app(sample_store_template)


def test_every_callback_id_is_in_the_pages_layout_once(app):
    layout = _ids(shell(1000)) + _ids(home_page("s")) + _ids(campaign_page("1"))
    assert len(layout) == len(set(layout)), [i for i in layout if layout.count(i) > 1]
    assert {"measure-btn", "history-table", "compare-b", "campaign-list"} <= set(layout)  # the walk reaches into tabs
    missing = _callback_ids(app) - set(layout)
    assert not missing


def test_each_view_registers_its_own_callbacks(app):
    assert len(VIEWS) == len(VIEW_MODULES)
    for name in VIEW_MODULES:
        module = importlib.import_module(f"dashboards.{name}")
        register = next(getattr(module, n) for n in dir(module) if n.startswith("register_")
                        and getattr(module, n).__module__ == module.__name__)
        assert register in VIEWS, name
        before = set(app.callback_map)
        fresh = dash.Dash(__name__, suppress_callback_exceptions=True)
        register(fresh, app._sputter_twin_data)
        assert fresh.callback_map, f"{name} registers no callback"
        assert not set(fresh.callback_map) - before  # the app has the same callbacks, from that module


@pytest.mark.parametrize("path, key", [("/campaign/3", "3"), ("/campaign/lipon%20A/", "lipon A"), ("/", None),
                                       ("/other", None), (None, None)])
def test_campaign_key_from_the_path(path, key):
    assert campaign_key(path) == key
