"""What CreatOK offers right now, and what a request resolves to.

Models, defaults, limits and prices are read from the capabilities endpoint at
run time and validated strictly here, so a payload that breaks the contract
fails with the offending field named before anything is charged. Unknown extra
fields are kept: the real API may add some at any time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .errors import ContractError, InvalidRequestError

_Text = Annotated[str, Field(pattern=r"\S")]
"""A string with something in it besides spaces."""


def _violation(where: str, message: str) -> PydanticCustomError:
    """A rule broken inside the model at ``where`` (a dotted sub-path, named in the error)."""
    return PydanticCustomError("contract", message, {"where": where})


class _Model(BaseModel):
    """Strict (no "1" for 1, no true for 1), but extra fields are kept."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True, allow_inf_nan=False)


class NRange(_Model):
    min: float
    max: float

    @field_validator("max")
    @classmethod
    def _ordered(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("min")
        if low is not None and value < low:
            raise ValueError(f"max {value:g} is smaller than min {low:g}")
        if value < 1:
            raise ValueError(f"max {value:g} allows no image at all (it must be at least 1)")
        return value


class ModelDefaults(_Model):
    resolution: _Text
    n: int


class ModelLimits(_Model):
    resolutions: list[_Text] = Field(min_length=1)
    n: NRange
    aspect_ratios: list[_Text] | None = None
    max_reference_images: float = Field(ge=0)


class Pricing(_Model):
    currency: str = "credits"
    unit: str = "image"
    by_resolution: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)

    def credits_per_image(self, resolution: str) -> float | None:
        """Credits for one image at ``resolution``; None when not known."""
        if self.currency != "credits" or self.unit != "image":
            return None  # a unit we do not know: say nothing rather than guess
        return self.by_resolution.get(resolution)


class ImageModel(_Model):
    id: _Text
    label: _Text
    defaults: ModelDefaults
    limits: ModelLimits
    pricing: Pricing | None = None

    @model_validator(mode="after")
    def _defaults_within_limits(self) -> ImageModel:
        if self.defaults.resolution not in self.limits.resolutions:
            raise _violation(
                "defaults.resolution",
                f"{self.defaults.resolution!r} is not one of limits.resolutions "
                f"({', '.join(self.limits.resolutions)})",
            )
        if not self.limits.n.min <= self.defaults.n <= self.limits.n.max:
            raise _violation(
                "defaults.n",
                f"{self.defaults.n} is outside limits.n "
                f"({self.limits.n.min:g} to {self.limits.n.max:g})",
            )
        return self

    @property
    def n_min(self) -> int:
        return max(1, _ceil(self.limits.n.min))

    @property
    def n_max(self) -> int:
        return int(self.limits.n.max)

    @property
    def max_reference_images(self) -> int:
        return int(self.limits.max_reference_images)


class ImageCapabilities(_Model):
    default_model: _Text
    models: list[ImageModel] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_is_listed(self) -> ImageCapabilities:
        ids = [m.id for m in self.models]
        if len(set(ids)) != len(ids):
            raise _violation("models", "model ids are not unique")
        if self.default_model not in ids:
            raise _violation(
                "default_model",
                f"{self.default_model!r} is not one of the models ({', '.join(ids)})",
            )
        return self

    def model_by_id(self, model_id: str) -> ImageModel | None:
        """The model with this id, else the one whose id or label matches ignoring case."""
        for m in self.models:
            if m.id == model_id:
                return m
        wanted = model_id.strip().casefold()
        for m in self.models:
            if wanted in (m.id.casefold(), m.label.casefold()):
                return m
        return None


def parse_capabilities(data: Any) -> ImageCapabilities:
    """Validate ``data`` (the envelope's ``data``) into :class:`ImageCapabilities`."""
    if not isinstance(data, dict) or not isinstance(data.get("capabilities"), dict):
        raise ContractError(
            "CreatOK's capabilities answer has no 'capabilities' object", field="capabilities"
        )
    image = data["capabilities"].get("image")
    if not isinstance(image, dict):
        raise ContractError(
            "CreatOK's capabilities answer has no 'capabilities.image' object",
            field="capabilities.image",
        )
    try:
        return ImageCapabilities.model_validate(image)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        where = (err.get("ctx") or {}).get("where") if err["type"] == "contract" else None
        if where:
            loc += tuple(str(where).split("."))
        path = _field_path(("capabilities", "image", *loc))
        reason = err["msg"].removeprefix("Value error, ")
        raise ContractError(
            f"CreatOK's capabilities break the contract at {path}: {reason}. "
            "Nothing was charged; this integration may be outdated.",
            field=path,
        ) from None


def _field_path(loc: tuple[Any, ...]) -> str:
    """``("a", "b", 1, "c")`` -> ``a.b[1].c``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _ceil(x: float) -> int:
    i = int(x)
    return i if i == x or x < 0 else i + 1


def _or_list(values: list[str]) -> str:
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + " or " + values[-1]


@dataclass(frozen=True)
class ResolvedRequest:
    """A request with every default filled in, checked against the limits."""

    prompt: str
    model: str
    model_label: str
    resolution: str
    n: int
    aspect_ratio: str | None = None
    reference_count: int = 0
    estimated_credits: float | None = None

    def submit_body(self, object_keys: list[str] | None = None) -> dict[str, Any]:
        """The submit body with only the contract's fields."""
        body: dict[str, Any] = {
            "prompt": self.prompt,
            "model": self.model,
            "resolution": self.resolution,
            "n": self.n,
        }
        if self.aspect_ratio:
            body["aspect_ratio"] = self.aspect_ratio
        if object_keys:
            body["imageObjectKeys"] = list(object_keys)
        return body


def _refuse(message: str, reason: str, field_name: str, **params: Any) -> InvalidRequestError:
    return InvalidRequestError(message, field=field_name, reason=reason, params=params)


MAX_PROMPT_CHARS = 4000
"""Longest prompt sent (characters, after trimming): refused before any call above it."""


def check_prompt_length(prompt: str) -> None:
    """Refuse a prompt longer than :data:`MAX_PROMPT_CHARS`, naming the limit."""
    length = len((prompt or "").strip())
    if length > MAX_PROMPT_CHARS:
        raise _refuse(
            f"the prompt is {length} characters long; the limit is {MAX_PROMPT_CHARS}",
            "prompt_too_long", "prompt", length=length, max=MAX_PROMPT_CHARS,
        )


def resolve_request(
    caps: ImageCapabilities,
    *,
    prompt: str,
    model: str | None = None,
    resolution: str | None = None,
    n: int | str | None = None,
    aspect_ratio: str | None = None,
    reference_count: int = 0,
) -> ResolvedRequest:
    """Fill defaults and check limits exactly as the contract says.

    Raises :class:`InvalidRequestError` whose message names the problem and the
    allowed values, and whose ``reason``/``params`` let callers localise it.
    """
    prompt = (prompt or "").strip()
    if not prompt:
        raise _refuse("the prompt is empty: describe the image you want", "prompt_empty", "prompt")
    check_prompt_length(prompt)

    ids = [m.id for m in caps.models]
    if model is None or str(model).strip() == "":
        chosen = caps.model_by_id(caps.default_model)
    else:
        chosen = caps.model_by_id(str(model))
    if chosen is None:
        raise _refuse(
            f"unknown model {str(model).strip()}: choose one of {', '.join(ids)}",
            "model_unknown",
            "model",
            value=str(model).strip(),
            allowed=ids,
        )

    if resolution is None or str(resolution).strip() == "":
        res = chosen.defaults.resolution
    else:
        wanted = str(resolution).strip()
        match = [r for r in chosen.limits.resolutions if r.casefold() == wanted.casefold()]
        if not match:
            raise _refuse(
                f"resolution {wanted} is not offered by {chosen.label}: "
                f"choose {_or_list(chosen.limits.resolutions)}",
                "resolution_unknown",
                "resolution",
                value=wanted,
                model=chosen.label,
                allowed=list(chosen.limits.resolutions),
            )
        res = match[0]

    lo, hi = chosen.n_min, chosen.n_max
    if n is None or (isinstance(n, str) and not n.strip()):
        count = chosen.defaults.n
    else:
        count_or_none = _as_whole_number(n)
        if count_or_none is None or not lo <= count_or_none <= hi:
            raise _refuse(
                f"n must be between {lo} and {hi}",
                "n_range",
                "n",
                value=str(n),
                min=lo,
                max=hi,
            )
        count = count_or_none

    ratio: str | None = None
    if aspect_ratio is not None and str(aspect_ratio).strip():
        ratio = str(aspect_ratio).strip()
        allowed = chosen.limits.aspect_ratios
        if allowed and ratio not in allowed:
            raise _refuse(
                f"aspect ratio {ratio} is not offered by {chosen.label}: "
                f"choose {_or_list(allowed)}",
                "aspect_ratio_unknown",
                "aspect_ratio",
                value=ratio,
                model=chosen.label,
                allowed=list(allowed),
            )

    cap = chosen.max_reference_images
    if reference_count > cap:
        raise _refuse(
            f"{chosen.label} accepts at most {cap} reference images; {reference_count} were given",
            "too_many_references",
            "reference_images",
            model=chosen.label,
            max=cap,
            count=reference_count,
        )

    per_image = chosen.pricing.credits_per_image(res) if chosen.pricing else None
    estimate = None if per_image is None else _tidy(per_image * count)
    return ResolvedRequest(
        prompt=prompt,
        model=chosen.id,
        model_label=chosen.label,
        resolution=res,
        n=count,
        aspect_ratio=ratio,
        reference_count=reference_count,
        estimated_credits=estimate,
    )


def _as_whole_number(value: int | str | float) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _tidy(x: float) -> float:
    """Credits as ``2`` rather than ``2.0`` when whole."""
    return int(x) if float(x).is_integer() else round(x, 4)
