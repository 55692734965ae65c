"""One typed configuration: every variable config.py reads is a field, validated with an error
naming it, and listed in the README's table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotline.config import Settings
from hotline.errors import ConfigError

ROOT = Path(__file__).parent.parent


def variables() -> set[str]:
    src = (ROOT / "hotline" / "config.py").read_text()
    return set(re.findall(r'(?:env\.get|_number|_paths|_file)\((?:env, )?"([A-Z_]+)"', src))


def test_every_variable_the_settings_read_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    listed = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, re.M))
    assert variables() and variables() <= listed, sorted(variables() - listed)


def base(tmp_path, **more):
    return {"HOTLINE_MODE": "test", "HOTLINE_DATA_DIR": str(tmp_path), **more}


@pytest.mark.parametrize(
    "name,value",
    [
        ("HOTLINE_OFFER_TIMEOUT_S", "soon"),
        ("HOTLINE_OFFER_TIMEOUT_S", "1"),
        ("HOTLINE_AGENT_RING_TIMEOUT_S", "2.5"),
        ("HOTLINE_CALLBACK_ATTEMPTS", "0"),
        ("HOTLINE_MATCH_WINDOW", "-3"),
        ("HOTLINE_HOLD_MUSIC_URL", "ftp://x/y.mp3"),
        ("HOTLINE_WRAPUP_FILE", "/nope/wrapup.yaml"),
    ],
)
def test_a_bad_value_is_refused_at_start_with_the_variables_name(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env(base(tmp_path, **{name: value}), load_dotenv=False)


def test_the_values_reach_the_typed_fields(tmp_path):
    wrap = tmp_path / "w.yaml"
    wrap.write_text("default: 30\n")
    s = Settings.from_env(
        base(
            tmp_path,
            HOTLINE_OFFER_TIMEOUT_S="25",
            HOTLINE_CALLBACK_ATTEMPTS="5",
            HOTLINE_HOLD_MUSIC_URL="https://x.test/m.mp3",
            HOTLINE_WRAPUP_FILE=str(wrap),
        ),
        load_dotenv=False,
    )
    assert (s.offer_timeout_s, s.callback_attempts, s.hold_music_url, s.wrapup_file) == (
        25.0,
        5,
        "https://x.test/m.mp3",
        wrap,
    )
    assert not hasattr(s, "extra")
