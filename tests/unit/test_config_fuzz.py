"""Property-based fuzz of the configuration loader: whatever a technician (or a damaged disk) puts
in a site file or a KIOSK__ variable, the loader answers with a valid configuration or a
ConfigError whose every problem is a readable line, never another exception.

``KIOSK_FUZZ_EXAMPLES`` scales the run (default 200 examples per property). A long run needs the
per-test time limit lifted:
``KIOSK_FUZZ_EXAMPLES=100000 .venv/bin/python -m pytest tests/unit/test_config_fuzz.py --timeout 0``
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.config.model import KioskConfig, load_config
from kiosk.errors import ConfigError
from kiosk.paths import config_dir

EXAMPLES = int(os.environ.get("KIOSK_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DEFAULTS = tomllib.loads((config_dir() / "kiosk.toml").read_text(encoding="utf-8"))
SECTIONS = sorted(DEFAULTS)
KEYS = sorted({k for section in DEFAULTS.values() if isinstance(section, dict) for k in section})

scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.booleans(),
    st.text(max_size=40),
    st.sampled_from(["simulated", "none", "sam-serial", "opencv", "escpos", "cups", "production", "demo"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=6)
# mostly real section and key names (so validation runs deep), sometimes misspelt or unknown ones
names = st.one_of(
    st.sampled_from(KEYS), st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
)
tables = st.dictionaries(names, values, max_size=6)
devices = st.dictionaries(
    st.sampled_from(["card_reader", "camera", "printer", "a4_printer", "scanner"]), tables, max_size=3
)
documents = st.fixed_dictionaries(
    {},
    optional={
        **{section: tables for section in SECTIONS if section != "devices"},
        "devices": devices,
        "unknown": tables,
    },
)


def check(text: str, environ: dict[str, str] | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site.toml"
        site.write_text(text, encoding="utf-8")
        try:
            config = load_config(site, environ=environ or {})
        except ConfigError as exc:
            assert exc.problems, "a ConfigError must name at least one problem"
            for problem in exc.problems:
                line = str(problem)
                assert line and "\n" not in line.strip() and "Traceback" not in line
        else:
            assert isinstance(config, KioskConfig)


@FUZZ
@given(documents)
def test_structured_site_files_load_or_name_their_problems(doc: dict[str, Any]) -> None:
    check(tomli_w.dumps(doc))


@FUZZ
@given(st.text(max_size=400))
def test_any_text_loads_or_names_its_problems(text: str) -> None:
    check(text)


@FUZZ
@given(
    st.dictionaries(
        st.builds(lambda a, b: f"KIOSK__{a}__{b}".upper(), st.sampled_from(SECTIONS), st.sampled_from(KEYS)),
        st.text(max_size=30),
        max_size=4,
    )
)
def test_environment_overrides_load_or_name_their_problems(environ: dict[str, str]) -> None:
    check("", environ)
