"""The service catalogue: ``config/services.toml`` read into typed, validated objects.

Services are data: id, category, titles and help in zh/en, ordered steps, fields, fee, the request
type they submit and the devices they need. The flow engine (``kiosk/services/flow.py``) runs any of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kiosk.config.model import read_toml
from kiosk.errors import CatalogueError, ConfigError, ConfigProblem
from kiosk.paths import config_dir
from kiosk.services.step_kinds import STEP_KINDS

SERVICE_IDS = (
    "temp-id-certificate",
    "household-certificate",
    "id-card-renewal",
    "id-photo",
    "traffic-fine",
    "plate-reissue",
    "vehicle-licence-reissue",
    "driving-licence-renewal",
    "request-status",
    "driving-licence-replacement",
    "inspection-sticker",
    "temp-resident-id-card",
    "no-criminal-record-certificate",
)
CATEGORIES = ("household", "vehicle", "photo", "status")
FieldType = Literal["choice", "number", "phone", "date", "id_number", "digits"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


class Option(_Model):
    value: str = Field(min_length=1)
    zh: str
    en: str
    # device roles (or "backend") this answer's branch needs beyond the steps conditioned on it;
    # while one is down the option is offered disabled with the reason (kiosk/services/flow.py)
    needs: tuple[str, ...] = ()
    # a message key: this answer stops the service here (e.g. a health self-declaration answered
    # "no"); the form explains it and does not go on, so nothing is submitted (kiosk/services/fields.py)
    stops: str | None = None

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


class FormField(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: FieldType
    label: Text
    required: bool = True
    personal: bool = False  # masked on review screens and in logs
    options: tuple[Option, ...] = ()
    min: int | None = None
    max: int | None = None


class Condition(_Model):
    field: str
    equals: str | None = None
    not_equals: str | None = None

    def holds(self, values: dict[str, object]) -> bool:
        value = values.get(self.field)
        if self.equals is not None and value != self.equals:
            return False
        return not (self.not_equals is not None and value == self.not_equals)


class Step(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: str
    title: Text | None = None
    timeout_s: float | None = Field(default=None, gt=5, le=3600)
    when: Condition | None = None
    fields: tuple[FormField, ...] = ()
    spec: str | None = None  # take_photo: the photo spec id
    spec_field: str | None = None  # take_photo: the form field holding the spec id
    documents: tuple[str, ...] = ()  # print: which documents, in order
    # the rules of the step's engine as data (limits, windows, ages, fees, lists): see the kind's engine
    rules: dict[str, Any] = Field(default_factory=dict)
    # read_card, face_check: whose card and face (a guardian's for an under-16 applicant: the
    # card goes to session.guardian, the face is matched with it; kiosk/steps/guardian.py)
    role: Literal["applicant", "guardian"] = "applicant"


class Service(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    category: Literal["household", "vehicle", "photo", "status"]
    title: Text
    help: Text
    request_type: str = Field(pattern=r"^[a-z]+\.[a-z_]+$")
    request_version: int = Field(ge=1)
    fee_fen: int = Field(ge=0)
    devices: tuple[str, ...] = ()
    # the service's rules as data (windows, ages, limits), read by its step engines; a site
    # overrides them like the fee (kiosk/services/site_overrides.py)
    rules: dict[str, int | float | str | bool | tuple[str, ...]] = {}
    steps: tuple[Step, ...] = Field(min_length=1)

    def field(self, field_id: str) -> FormField | None:
        for step in self.steps:
            for f in step.fields:
                if f.id == field_id:
                    return f
        return None


class _File(_Model):
    services: tuple[Service, ...]


class Catalogue:
    """All services, checked for consistency: unique ids, known step kinds, sound conditions."""

    def __init__(self, services: tuple[Service, ...]) -> None:
        self.services = services
        self._by_id = {s.id: s for s in services}

    def __getitem__(self, service_id: str) -> Service:
        return self._by_id[service_id]

    def get(self, service_id: str) -> Service | None:
        return self._by_id.get(service_id)

    def in_category(self, category: str) -> list[Service]:
        return [s for s in self.services if s.category == category]

    @classmethod
    def load(cls, path: Path | None = None, *, site: Path | None = None) -> Catalogue:
        """The packaged catalogue, with a site's overrides (``site``: kiosk/services/site_overrides.py)."""
        path = path or config_dir() / "services.toml"
        data = read_toml(path)
        if site is not None:
            from kiosk.services.site_overrides import apply_overrides

            data = apply_overrides(data, site)
        where = str(path) if site is None else f"{path} with the site's {site}"
        try:
            parsed = _File.model_validate(data)
        except ValidationError as exc:
            ids = [s.get("id", "?") for s in data.get("services", [])]  # services.2.fees -> the service's id
            problems = [ConfigProblem(where, ".".join(_named(e["loc"], ids)), e["msg"]) for e in exc.errors()]
            raise ConfigError(problems) from exc
        catalogue = cls(parsed.services)
        catalogue.check(where)
        return catalogue

    def check(self, label: str = "services.toml") -> None:
        """Raise CatalogueError naming every inconsistency."""
        problems: list[str] = []
        seen: set[str] = set()
        for service in self.services:
            if service.id in seen:
                problems.append(f"{label}: service {service.id!r} is listed twice")
            seen.add(service.id)
            field_ids: set[str] = set()
            step_ids: set[str] = set()
            for step in service.steps:
                where = f"{label}: {service.id}.{step.id}"
                if step.id in step_ids:
                    problems.append(f"{where}: step id used twice")
                step_ids.add(step.id)
                if step.kind not in STEP_KINDS:
                    problems.append(f"{where}: unknown step kind {step.kind!r}")
                else:
                    produced = STEP_KINDS[step.kind].produces
                    if step.when and step.when.field in produced:
                        problems.append(f"{where}: condition on {step.when.field!r}, set by this step")
                if step.when and step.when.field not in field_ids:
                    problems.append(f"{where}: condition on {step.when.field!r}, not asked before this step")
                if step.kind == "form" and not step.fields:
                    problems.append(f"{where}: a form step needs fields")
                if step.kind == "take_photo" and not (step.spec or step.spec_field):
                    problems.append(f"{where}: a take_photo step needs spec or spec_field")
                for f in step.fields:
                    if f.id in field_ids:
                        problems.append(f"{where}: field {f.id!r} asked twice")
                    field_ids.add(f.id)
                    if f.type == "choice" and len(f.options) < 2:
                        problems.append(f"{where}.{f.id}: a choice needs at least two options")
                if step.kind in STEP_KINDS:
                    field_ids.update(STEP_KINDS[step.kind].produces)  # later steps may depend on them
            if service.steps[-1].kind != "done":
                problems.append(f"{label}: {service.id}: the last step must be 'done'")
        if problems:
            raise CatalogueError("\n".join(problems))


def _named(loc: tuple[Any, ...], ids: list[str]) -> list[str]:
    """A validation error's location with the service's id in place of its index."""
    parts = [str(p) for p in loc]
    if len(loc) > 1 and loc[0] == "services" and isinstance(loc[1], int) and loc[1] < len(ids):
        parts[1] = str(ids[loc[1]])
    return parts
