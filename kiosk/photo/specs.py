"""Named ID photo specifications, loaded from ``config/photo_specs.toml``."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kiosk.errors import ConfigError, ConfigProblem
from kiosk.paths import config_dir

SPEC_NAMES = ("resident-id", "driving-licence", "passport")


class BackgroundLimits(BaseModel):
    """How plain and light the backdrop must be (0-255 grey levels, HSV saturation)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    min_brightness: float = Field(ge=0, le=255)
    max_unevenness: float = Field(gt=0)
    max_saturation: float = Field(ge=0, le=255)


class PhotoSpec(BaseModel):
    """One ID photo specification: output size, where the face goes, the JPEG size range."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    title: dict[str, str]
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    dpi: int = Field(gt=0)
    face_width: tuple[int, int]
    head_top: tuple[int, int]
    jpeg_kb: tuple[float, float]
    background: BackgroundLimits

    @model_validator(mode="after")
    def _ranges(self) -> PhotoSpec:
        for label, (low, high) in (
            ("face_width", self.face_width),
            ("head_top", self.head_top),
            ("jpeg_kb", self.jpeg_kb),
        ):
            if not 0 <= low <= high:
                raise ValueError(f"{label} must be [min, max] with 0 <= min <= max")
        if self.face_width[1] > self.width:
            raise ValueError("face_width is wider than the photo")
        return self

    @property
    def target_face_width(self) -> float:
        return (self.face_width[0] + self.face_width[1]) / 2

    @property
    def target_head_top(self) -> float:
        return (self.head_top[0] + self.head_top[1]) / 2

    @property
    def jpeg_bytes(self) -> tuple[int, int]:
        return round(self.jpeg_kb[0] * 1024), round(self.jpeg_kb[1] * 1024)


def load_specs(path: Path | None = None) -> dict[str, PhotoSpec]:
    """Parse and validate the spec table; a broken file is a ConfigError naming the key."""
    path = path or config_dir() / "photo_specs.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([ConfigProblem(str(path), "", f"cannot read photo specs: {exc}")]) from exc
    specs: dict[str, PhotoSpec] = {}
    problems: list[ConfigProblem] = []
    for name, table in data.items():
        try:
            specs[name] = PhotoSpec.model_validate({"name": name, **table})
        except (ValidationError, TypeError) as exc:
            problems.append(ConfigProblem(str(path), name, str(exc).splitlines()[0]))
    if problems:
        raise ConfigError(problems)
    return specs


@cache
def default_specs() -> dict[str, PhotoSpec]:
    """The packaged spec table (read once)."""
    return load_specs()


def get_spec(name: str) -> PhotoSpec:
    """The packaged spec called ``name``; unknown names are a ConfigError listing the known ones."""
    specs = default_specs()
    if name not in specs:
        known = ", ".join(sorted(specs))
        raise ConfigError([ConfigProblem("photo_specs.toml", name, f"unknown photo spec (known: {known})")])
    return specs[name]
