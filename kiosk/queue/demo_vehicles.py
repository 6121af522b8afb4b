"""The demo kiosk's vehicle register: the licences, vehicles and health-check records the local
backend knows (``serve --enrol-vehicles FILE``, backend/vehicles.py), so every vehicle service runs
on a laptop. Dates are relative to the day the backend starts (``+30d``), so the demo stays
current: the simulated card holder's licence is in its renewal window and their car in its sticker
year. The kiosk never imports the backend; this only writes the file.

Synthetic, all of it: the holders are the simulated ID cards' (drivers/idcard/sim_cards.toml).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

VEHICLES_FILE = "vehicles.json"
HOLDER = "99010119800315031X"  # the simulated resident card (张三丰)
OTHER = "993300196502010053"  # another simulated card (李四)
PLATE = "京A10000"  # the self-test's plate: the holder's car, in its sticker year, insured
OTHER_PLATE = "京B20000"  # someone else's car: the holder is stopped before anything is filed
HEALTH_RECORD = "3301202600000017"  # the holder's passed health check, 20 days old
FAILED_RECORD = "3301202600000025"  # the holder's failed health check
OLD_RECORD = "3301202500000033"  # the holder's passed health check, 400 days old


def demo_vehicles() -> dict[str, list[dict[str, Any]]]:
    """The demo register (relative dates; see backend/vehicles.py ``enrol_file``)."""
    return {
        "licences": [
            {"id_number": HOLDER, "name": "张三丰", "licence_class": "C1", "first_issued": "2008-06-01",
             "valid_to": "+30d"},
            {"id_number": OTHER, "name": "李四", "licence_class": "C2", "first_issued": "1995-03-01",
             "valid_to": "+400d"},
        ],
        "vehicles": [
            {"plate": PLATE, "owner": HOLDER, "plate_type": "small", "brand": "示例牌", "colour": "白",
             "registered": "-1430d", "insurance_valid_to": "+200d"},
            {"plate": "京A2000挂", "owner": HOLDER, "plate_type": "trailer", "brand": "样例牌",
             "colour": "灰", "body_type": "trailer", "registered": "-900d", "insurance_valid_to": "+100d"},
            {"plate": OTHER_PLATE, "owner": OTHER, "plate_type": "small", "brand": "测试牌", "colour": "黑",
             "registered": "-700d", "insurance_valid_to": "+50d", "violations_outstanding": 2},
        ],
        "health_checks": [
            {"record_no": HEALTH_RECORD, "id_number": HOLDER, "exam_date": "-20d"},
            {"record_no": FAILED_RECORD, "id_number": HOLDER, "exam_date": "-10d", "result": "fail"},
            {"record_no": OLD_RECORD, "id_number": HOLDER, "exam_date": "-400d"},
        ],
    }  # fmt: skip


def write_demo_vehicles(folder: Path) -> Path:
    """The file for ``serve --enrol-vehicles`` in ``folder`` (rewritten at each start: enrolling
    it again moves the relative dates to today)."""
    folder.mkdir(parents=True, exist_ok=True)
    listing = folder / VEHICLES_FILE
    tmp = folder / f".{VEHICLES_FILE}.tmp"
    tmp.write_text(json.dumps(demo_vehicles(), ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, listing)  # a half-written list is never read
    return listing
