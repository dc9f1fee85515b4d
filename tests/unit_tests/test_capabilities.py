"""Capabilities: strict validation naming the field, and request resolution per the contract."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from creatok_graph.capabilities import ImageCapabilities, parse_capabilities, resolve_request
from creatok_graph.errors import ContractError, InvalidRequestError

SAMPLE = json.loads(
    (Path(__file__).parents[2] / "creatok_graph/emulator/data/capabilities.json").read_text()
)["data"]
IDS = "seedream-5.0-lite, nano-banana-pro, nano-banana-2, gpt-image-2"


def data() -> dict[str, Any]:
    """A fresh copy of the sample's ``data`` (CreatOK's own fixture)."""
    return copy.deepcopy(SAMPLE)


def image(d: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = d["capabilities"]["image"]
    return result


def caps_with(change: Callable[[dict[str, Any]], Any] | None = None) -> ImageCapabilities:
    d = data()
    if change is not None:
        change(image(d))
    return parse_capabilities(d)


@pytest.fixture
def caps() -> ImageCapabilities:
    return caps_with()


def refused(caps: ImageCapabilities, **request: Any) -> InvalidRequestError:
    request.setdefault("prompt", "a fox")
    with pytest.raises(InvalidRequestError) as info:
        resolve_request(caps, **request)
    return info.value


# -- resolution ---------------------------------------------------------------------------


def test_defaults(caps: ImageCapabilities) -> None:
    r = resolve_request(caps, prompt="  a red fox  ")
    assert (r.prompt, r.model, r.model_label, r.resolution, r.n) == (
        "a red fox", "nano-banana-2", "Nano Banana 2", "2K", 1
    )
    assert r.aspect_ratio is None and r.reference_count == 0
    assert r.estimated_credits == 1
    assert r.submit_body() == {
        "prompt": "a red fox", "model": "nano-banana-2", "resolution": "2K", "n": 1
    }


def test_explicit_request_and_price(caps: ImageCapabilities) -> None:
    r = resolve_request(
        caps, prompt="fox", model="nano-banana-pro", resolution="4K", n=3, aspect_ratio="16:9",
        reference_count=2,
    )
    assert (r.model, r.resolution, r.n, r.aspect_ratio) == ("nano-banana-pro", "4K", 3, "16:9")
    assert r.estimated_credits == 9  # 3 credits per 4K image x 3
    assert r.submit_body(["k1", "k2"]) == {
        "prompt": "fox", "model": "nano-banana-pro", "resolution": "4K", "n": 3,
        "aspect_ratio": "16:9", "imageObjectKeys": ["k1", "k2"],
    }


@pytest.mark.parametrize(
    ("model", "expected"),
    [("nano-banana-2", "nano-banana-2"), ("NANO-BANANA-2", "nano-banana-2"),
     ("Nano Banana Pro", "nano-banana-pro"), ("nano banana pro", "nano-banana-pro"),
     ("  gpt image 2 ", "gpt-image-2"), ("", "nano-banana-2"), (None, "nano-banana-2")],
)
def test_model_matching(caps: ImageCapabilities, model: str | None, expected: str) -> None:
    assert resolve_request(caps, prompt="fox", model=model).model == expected


@pytest.mark.parametrize(("given", "expected"), [("4k", "4K"), (" 1K ", "1K"), ("2K", "2K")])
def test_resolution_matching(caps: ImageCapabilities, given: str, expected: str) -> None:
    assert resolve_request(caps, prompt="fox", resolution=given).resolution == expected


def test_unknown_model(caps: ImageCapabilities) -> None:
    error = refused(caps, model="x")
    assert str(error) == f"unknown model x: choose one of {IDS}"
    assert (error.field, error.reason) == ("model", "model_unknown")
    assert error.params["allowed"] == IDS.split(", ")


def test_resolution_not_offered(caps: ImageCapabilities) -> None:
    error = refused(caps, resolution="8K")
    assert str(error) == "resolution 8K is not offered by Nano Banana 2: choose 1K, 2K or 4K"
    assert (error.field, error.reason) == ("resolution", "resolution_unknown")
    assert error.params["allowed"] == ["1K", "2K", "4K"]
    two = refused(caps, model="seedream-5.0-lite", resolution="1K")
    assert str(two) == "resolution 1K is not offered by Seedream 5.0 Lite: choose 2K or 4K"


@pytest.mark.parametrize("n", [0, 5, -1, 2.5, "2.5", "abc", True, "4.0x"])
def test_n_out_of_range_or_not_whole(caps: ImageCapabilities, n: Any) -> None:
    error = refused(caps, n=n)
    assert str(error) == "n must be between 1 and 4"
    assert (error.field, error.reason) == ("n", "n_range")
    assert (error.params["min"], error.params["max"]) == (1, 4)


@pytest.mark.parametrize(("n", "expected"), [("2", 2), (" 3 ", 3), (4, 4), (1.0, 1), ("", 1)])
def test_n_accepted(caps: ImageCapabilities, n: Any, expected: int) -> None:
    r = resolve_request(caps, prompt="fox", n=n)
    assert r.n == expected and isinstance(r.n, int)
    assert r.estimated_credits == expected  # nano-banana-2 2K: 1 credit per image


def test_n_limits_come_from_capabilities() -> None:
    def narrow(img: dict[str, Any]) -> None:
        img["models"][2]["limits"]["n"] = {"min": 2, "max": 3}
        img["models"][2]["defaults"]["n"] = 2

    caps = caps_with(narrow)
    assert str(refused(caps, n=1)) == "n must be between 2 and 3"
    assert str(refused(caps, n=4)) == "n must be between 2 and 3"
    assert resolve_request(caps, prompt="fox").n == 2


def test_aspect_ratio_limit(caps: ImageCapabilities) -> None:
    error = refused(caps, aspect_ratio="4:3")
    assert str(error) == (
        "aspect ratio 4:3 is not offered by Nano Banana 2: choose 1:1, 16:9 or 9:16"
    )
    assert (error.field, error.reason) == ("aspect_ratio", "aspect_ratio_unknown")
    assert resolve_request(caps, prompt="fox", aspect_ratio=" 9:16 ").aspect_ratio == "9:16"


@pytest.mark.parametrize("how", ["absent", "null"])
def test_aspect_ratios_absent_or_null_pass_anything(how: str) -> None:
    def drop(img: dict[str, Any]) -> None:
        limits = img["models"][2]["limits"]
        if how == "absent":
            del limits["aspect_ratios"]
        else:
            limits["aspect_ratios"] = None

    caps = caps_with(drop)
    r = resolve_request(caps, prompt="fox", aspect_ratio="21:9")
    assert r.aspect_ratio == "21:9" and r.submit_body()["aspect_ratio"] == "21:9"


def test_reference_cap(caps: ImageCapabilities) -> None:
    assert resolve_request(caps, prompt="fox", reference_count=5).reference_count == 5
    error = refused(caps, reference_count=6)
    assert (error.field, error.reason) == ("reference_images", "too_many_references")
    assert "at most 5" in str(error) and error.params["max"] == 5
    caps1 = caps_with(lambda img: img["models"][2]["limits"].update(max_reference_images=1))
    assert str(refused(caps1, reference_count=2)).startswith("Nano Banana 2 accepts at most 1")


def test_empty_prompt(caps: ImageCapabilities) -> None:
    assert refused(caps, prompt="   ").reason == "prompt_empty"


def test_pricing_absent_means_unknown_cost() -> None:
    caps = caps_with(lambda img: img["models"][2].pop("pricing"))
    assert resolve_request(caps, prompt="fox").estimated_credits is None
    caps = caps_with(lambda img: img["models"][2].update(pricing=None))
    assert resolve_request(caps, prompt="fox", n=4).estimated_credits is None


def test_resolution_price_absent_means_unknown_cost() -> None:
    caps = caps_with(lambda img: img["models"][2]["pricing"]["by_resolution"].pop("4K"))
    assert resolve_request(caps, prompt="fox", resolution="4K").estimated_credits is None
    assert resolve_request(caps, prompt="fox", resolution="1K", n=3).estimated_credits == 3


def test_unknown_pricing_unit_says_nothing() -> None:
    caps = caps_with(lambda img: img["models"][2]["pricing"].update(currency="usd"))
    assert resolve_request(caps, prompt="fox").estimated_credits is None


def test_fractional_price() -> None:
    caps = caps_with(lambda img: img["models"][2]["pricing"]["by_resolution"].update({"2K": 0.5}))
    assert resolve_request(caps, prompt="fox", n=3).estimated_credits == 1.5
    assert resolve_request(caps, prompt="fox", n=2).estimated_credits == 1


# -- contract violations -----------------------------------------------------------------------


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(img: dict[str, Any]) -> None:
        target = img
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


def _drop(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def change(img: dict[str, Any]) -> None:
        target = img
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return change


VIOLATIONS = [
    (_set(["models", 1, "limits", "n", "max"], "4"), "capabilities.image.models[1].limits.n.max"),
    (_set(["models", 1, "limits", "n", "max"], 0), "capabilities.image.models[1].limits.n.max"),
    (_set(["models", 1, "limits", "n", "min"], 5), "capabilities.image.models[1].limits.n.max"),
    (_drop(["models", 1, "limits", "n", "min"]), "capabilities.image.models[1].limits.n.min"),
    (_set(["default_model", ], "nope"), "capabilities.image.default_model"),
    (_drop(["default_model"]), "capabilities.image.default_model"),
    (_set(["models"], []), "capabilities.image.models"),
    (_set(["models"], {"id": "x"}), "capabilities.image.models"),
    (_set(["models", 0, "limits", "resolutions"], []),
     "capabilities.image.models[0].limits.resolutions"),
    (_set(["models", 0, "limits", "resolutions"], ["2K", 4]),
     "capabilities.image.models[0].limits.resolutions[1]"),
    (_drop(["models", 3, "label"]), "capabilities.image.models[3].label"),
    (_set(["models", 3, "label"], "  "), "capabilities.image.models[3].label"),
    (_drop(["models", 0, "id"]), "capabilities.image.models[0].id"),
    (_set(["models", 2, "defaults", "resolution"], "8K"),
     "capabilities.image.models[2].defaults.resolution"),
    (_set(["models", 2, "defaults", "n"], 7), "capabilities.image.models[2].defaults.n"),
    (_set(["models", 2, "defaults", "n"], "1"), "capabilities.image.models[2].defaults.n"),
    (_set(["models", 2, "defaults", "n"], True), "capabilities.image.models[2].defaults.n"),
    (_drop(["models", 2, "limits", "max_reference_images"]),
     "capabilities.image.models[2].limits.max_reference_images"),
    (_set(["models", 2, "limits", "max_reference_images"], -1),
     "capabilities.image.models[2].limits.max_reference_images"),
    (_set(["models", 2, "limits", "aspect_ratios"], "16:9"),
     "capabilities.image.models[2].limits.aspect_ratios"),
    (_set(["models", 2, "pricing", "by_resolution", "2K"], "1"),
     "capabilities.image.models[2].pricing.by_resolution.2K"),
    (_set(["models", 2, "pricing", "by_resolution", "2K"], -2),
     "capabilities.image.models[2].pricing.by_resolution.2K"),
    (_set(["models", 1, "id"], "nano-banana-2"), "capabilities.image.models"),
]


@pytest.mark.parametrize(("change", "field"), VIOLATIONS)
def test_contract_violation_names_the_field(
    change: Callable[[dict[str, Any]], None], field: str
) -> None:
    with pytest.raises(ContractError) as info:
        caps_with(change)
    assert info.value.field == field
    assert f"at {field}:" in str(info.value)


def test_default_model_message_lists_models() -> None:
    with pytest.raises(ContractError) as info:
        caps_with(_set(["default_model"], "nope"))
    assert f"'nope' is not one of the models ({IDS})" in str(info.value)


def test_n_max_below_min_message() -> None:
    with pytest.raises(ContractError, match="max 4 is smaller than min 5"):
        caps_with(_set(["models", 1, "limits", "n", "min"], 5))


@pytest.mark.parametrize(
    ("payload", "field"),
    [(None, "capabilities"), ({}, "capabilities"), ({"capabilities": []}, "capabilities"),
     ({"capabilities": {"video": {}}}, "capabilities.image"),
     ({"capabilities": {"image": None}}, "capabilities.image")],
)
def test_missing_sections(payload: Any, field: str) -> None:
    with pytest.raises(ContractError) as info:
        parse_capabilities(payload)
    assert info.value.field == field


def test_extra_fields_accepted_and_kept() -> None:
    d = data()
    img = image(d)
    d["capabilities"]["audio"] = {"models": []}
    img["beta"] = True
    img["models"][2]["badge"] = "new"
    img["models"][2]["limits"]["max_prompt_chars"] = 4000
    img["models"][2]["pricing"]["discount"] = 0.1
    img["models"][2]["defaults"]["style"] = "vivid"
    caps = parse_capabilities(d)
    model = caps.model_by_id("nano-banana-2")
    assert model is not None and model.model_extra == {"badge": "new"}
    assert resolve_request(caps, prompt="fox").estimated_credits == 1


def test_whole_number_limits_as_floats() -> None:
    caps = caps_with(_set(["models", 2, "limits", "n"], {"min": 1.0, "max": 4.0}))
    assert str(refused(caps, n=5)) == "n must be between 1 and 4"


def test_sample_parses() -> None:
    caps = parse_capabilities(data())
    assert caps.default_model == "nano-banana-2" and len(caps.models) == 4
    assert caps.model_by_id("nope") is None
