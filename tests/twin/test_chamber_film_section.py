"""The chamber's [film] section: files written by the previous film model still load; cross-field checks."""

from __future__ import annotations

import logging

import pytest

from twin import Chamber
from twin.errors import ChamberError


def test_a_chamber_file_of_the_previous_film_model_loads_with_a_warning(tmp_path, caplog):
    # Model 1.0.0 wrote film.n_power_density_w_cm2 into every chamber file and campaign store.
    text = Chamber().to_toml().replace("[film]\n", "[film]\nn_power_density_w_cm2 = 1.2\n")
    path = tmp_path / "old.toml"
    path.write_text(text, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="twin.config"):
        chamber = Chamber.from_toml(path)
    assert chamber == Chamber()
    assert any("film.n_power_density_w_cm2" in r.getMessage() and "retired" in r.getMessage()
               for r in caplog.records)


def test_an_unknown_film_key_is_still_an_error():
    doc = Chamber().to_dict()
    doc["film"]["n_powr_exponent"] = 1.75
    with pytest.raises(ChamberError, match="film.n_powr_exponent.*unknown key"):
        Chamber.from_dict(doc)


def test_reference_n_past_the_optimum_is_refused():
    with pytest.raises(ChamberError, match=r"film.reference_n = 0.6: greater than film.optimum_n"):
        Chamber().replace({"film.reference_n": 0.6})
