"""The population register stand-in: enrolled residents (number, name, nation, address, photo).

A real deployment asks the population information system (人口信息系统) instead; this table lets
the reference backend match a live face against a *register* photo, so a kiosk without a card
decoder can still check that the person is the number's holder. Residents are synthetic, enrolled
with ``kiosk-backend register add`` (or, for the demo kiosk, from a file with ``serve --enrol``,
through the same :meth:`Register.add`). An enrolment photo must hold exactly one usable face.

Face templates of register photos are computed on first use and kept in this process's memory
(keyed by number and photo digest); nothing about a live photo is kept anywhere.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.store import Store, utc_now
from contract.masking import mask_id_numbers

if TYPE_CHECKING:
    from contract.faces import FaceMatcher, FaceTemplate

log = logging.getLogger(__name__)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
MAX_PHOTO_BYTES = 4 * 1024 * 1024

# what an unusable enrolment photo means, for the one-line error of `register add`
_UNUSABLE = {
    "unreadable": "the file is not an image that can be read",
    "no_face": "no face was found in the photo",
    "several_faces": "the photo shows more than one face; enrol a photo of the resident alone",
    "face_too_small": "the face in the photo is too small to compare; use a closer or larger photo",
}


def id_check_ok(number: str) -> bool:
    """GB 11643: the 18th character is the weighted-sum check of the first 17 digits."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == number[17].upper()


def mask_number(number: str) -> str:
    """The number as logs and lists show it (first and last four kept)."""
    masked = mask_id_numbers(number)
    if masked == number and len(number) > 8:  # not shaped like an ID number: mask it anyway
        masked = number[:4] + "*" * (len(number) - 8) + number[-4:]
    return masked


def matcher_factory(spec: str = "") -> Callable[[], FaceMatcher]:
    """A callable giving the face matcher named by ``spec`` (``""``: dlib, the default; else a site's
    ``package.module:Class``), built on first call and then reused: loading models takes a while,
    and a process that never verifies never loads them."""
    built: list[FaceMatcher] = []
    lock = threading.Lock()

    def get() -> FaceMatcher:
        with lock:
            if not built:
                from contract.faces import load_matcher

                built.append(load_matcher(spec))
            return built[0]

    return get


class RegisterError(Exception):
    """An enrolment refused (bad number, unusable photo, already enrolled): one line for a person."""


@dataclass(frozen=True)
class Resident:
    id_number: str
    name: str
    nation: str
    address: str
    photo: bytes = b""  # JPEG
    photo_sha256: str = ""
    enrolled_at: str = ""

    def holder(self) -> dict[str, str]:
        """What a verified match answers: name, nation, address (never the photo)."""
        return {"name": self.name, "nation": self.nation, "address": self.address}


def _as_jpeg(photo: bytes) -> bytes:
    """The photo as JPEG bytes (a PNG or BMP is re-encoded; a JPEG is kept as it is)."""
    if photo[:3] == b"\xff\xd8\xff":
        return photo
    from PIL import Image

    with Image.open(io.BytesIO(photo)) as img:
        out = io.BytesIO()
        img.convert("RGB").save(out, format="JPEG", quality=92)
    return out.getvalue()


class Register:
    """Residents in the backend store; ``matcher`` builds the face matcher when first needed."""

    def __init__(self, store: Store, matcher: Callable[[], FaceMatcher]) -> None:
        self.store = store
        self._matcher = matcher
        self._templates: dict[tuple[str, str], FaceTemplate] = {}
        self._lock = threading.Lock()

    @property
    def matcher(self) -> FaceMatcher:
        return self._matcher()

    # -- enrolment --------------------------------------------------------------------------------

    def add(
        self,
        id_number: str,
        name: str,
        photo: bytes,
        *,
        nation: str = "",
        address: str = "",
        replace: bool = False,
    ) -> Resident:
        """Enrol one resident. Raises RegisterError (one line, number masked) when the number is not
        a valid GB 11643 number, the name is empty, the photo has not exactly one usable face, or
        the number is enrolled already (unless ``replace``)."""
        from contract.faces import FaceUnusable, decode_image

        id_number = id_number.strip().upper()
        if not id_check_ok(id_number):
            raise RegisterError(f"{mask_number(id_number)} is not a valid ID number (GB 11643 check)")
        if not name.strip():
            raise RegisterError("the name is empty")
        if not photo or len(photo) > MAX_PHOTO_BYTES:
            raise RegisterError(f"the photo must be an image file of 1 byte to {MAX_PHOTO_BYTES} bytes")
        if not replace and self.get(id_number) is not None:
            raise RegisterError(f"{mask_number(id_number)} is enrolled already (remove it first)")
        try:
            template = self.matcher.template(decode_image(photo))
            jpeg = _as_jpeg(photo)
        except FaceUnusable as exc:
            raise RegisterError(f"photo refused: {_UNUSABLE.get(exc.reason, str(exc))}") from exc
        except OSError as exc:
            raise RegisterError(f"photo refused: {exc}") from exc
        resident = Resident(
            id_number, name.strip(), nation.strip(), address.strip(), jpeg,
            hashlib.sha256(jpeg).hexdigest(), utc_now(),
        )  # fmt: skip
        with self.store.transaction() as cur:
            self.store._exec(cur, "DELETE FROM register WHERE id_number = ?", (id_number,))
            self.store._exec(
                cur,
                "INSERT INTO register (id_number, name, nation, address, photo, photo_sha256, enrolled_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    resident.id_number, resident.name, resident.nation, resident.address, resident.photo,
                    resident.photo_sha256, resident.enrolled_at,
                ),
            )  # fmt: skip
        with self._lock:
            self._templates[(id_number, resident.photo_sha256)] = template
        log.info("register: enrolled %s", mask_number(id_number))
        return resident

    def enrol_file(self, path: Path) -> list[str]:
        """Enrol every resident listed in a JSON file not enrolled yet (the demo kiosk's residents):
        ``[{"id_number", "name", "nation", "address", "photo": "FILE relative to the list"}]``.
        Returns the numbers newly enrolled. Raises RegisterError naming the file."""
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RegisterError(f"cannot read the residents file {path}: {exc}") from exc
        added = []
        for item in items if isinstance(items, list) else []:
            number = str(item.get("id_number", "")).strip().upper()
            if self.get(number) is not None:
                continue
            try:
                photo = (path.parent / str(item.get("photo", ""))).read_bytes()
            except OSError as exc:
                raise RegisterError(f"{path}: cannot read the photo of {mask_number(number)}: {exc}") from exc
            self.add(
                number, str(item.get("name", "")), photo,
                nation=str(item.get("nation", "")), address=str(item.get("address", "")),
            )  # fmt: skip
            added.append(number)
        return added

    # -- look-ups ---------------------------------------------------------------------------------

    def get(self, id_number: str) -> Resident | None:
        with self.store.transaction() as cur:
            row = self.store._exec(
                cur,
                "SELECT id_number, name, nation, address, photo, photo_sha256, enrolled_at FROM register"
                " WHERE id_number = ?",
                (id_number.strip().upper(),),
            ).fetchone()
        if row is None:
            return None
        return Resident(row[0], row[1], row[2], row[3], bytes(row[4]), row[5], row[6])

    def list(self) -> list[dict[str, Any]]:
        """Every resident with the number masked, without the photo (its digest instead)."""
        with self.store.transaction() as cur:
            rows = self.store._exec(
                cur,
                "SELECT id_number, name, nation, address, photo_sha256, enrolled_at FROM register"
                " ORDER BY enrolled_at, id_number",
            ).fetchall()
        keys = ("id_number", "name", "nation", "address", "photo_sha256", "enrolled_at")
        out = [dict(zip(keys, row, strict=True)) for row in rows]
        for item in out:
            item["id_number"] = mask_number(item["id_number"])
        return out

    def remove(self, id_number: str) -> bool:
        number = id_number.strip().upper()
        with self.store.transaction() as cur:
            self.store._exec(cur, "DELETE FROM register WHERE id_number = ?", (number,))
            removed = bool(cur.rowcount == 1)
        with self._lock:
            for key in [k for k in self._templates if k[0] == number]:
                del self._templates[key]
        return removed

    def template(self, resident: Resident) -> FaceTemplate:
        """The register photo's template (computed once per photo, kept in memory)."""
        from contract.faces import decode_image

        key = (resident.id_number, resident.photo_sha256)
        with self._lock:
            cached = self._templates.get(key)
        if cached is not None:
            return cached
        template = self.matcher.template(decode_image(resident.photo))
        with self._lock:
            self._templates[key] = template
        return template
