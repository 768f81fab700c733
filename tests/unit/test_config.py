"""Configuration: TOML, then POLYENGINE_* variables, then flags; one-line errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from engine.config import ConfigError, load_config


def test_defaults_are_valid() -> None:
    config = load_config()
    assert config.venue.windows == 2
    assert config.strategies.parity.min_edge_micro == 10_000


def test_file_then_environment_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[venue]\nseed = 3\nwindows = 4\n[strategies.maker]\nquote_size = "12.5"\n')
    config = load_config(path, {"POLYENGINE_VENUE__SEED": "9", "OTHER": "x"}, {"venue.windows": 1})
    assert config.venue.seed == 9
    assert config.venue.windows == 1
    assert config.strategies.maker.quote_size == Decimal("12.5")
    assert config.strategies.maker.quote_size_micro == 12_500_000


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"POLYENGINE_VENUE__SEED": "abc"}, "venue.seed: Input should be a valid integer"),
        (
            {"POLYENGINE_VENUE__WINDOWS": "0"},
            "venue.windows: Input should be greater than or equal to 1",
        ),
        (
            {"POLYENGINE_VENUE__START_TS": "1000"},
            "venue.start_ts: Value error, must be a multiple of 900",
        ),
        ({"POLYENGINE_VENUE__SEEDS": "1"}, "venue.seeds: unknown setting"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_field(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, env)
    text = str(info.value)
    assert text.startswith("config error: " + message)
    assert "\n" not in text


def test_a_missing_or_broken_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[venue\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)


def test_an_unknown_setting_never_echoes_its_value() -> None:
    """A secret put in a POLYENGINE_* variable by mistake must not be printed back."""
    with pytest.raises(ConfigError) as error:
        load_config(env={"POLYENGINE_PRIVATE_KEY": "4c" * 32})
    assert str(error.value) == "config error: private_key: unknown setting"
