"""What Studio and the SDK show for the graph's input: a description for every field."""

from __future__ import annotations

from creatok_graph.graph import graph
from creatok_graph.messages import SUPPORTED_LANGUAGES
from creatok_graph.state import InputState


def test_every_input_field_is_described() -> None:
    schema = graph.get_input_jsonschema()
    fields = schema["properties"]
    assert set(fields) == set(InputState.__annotations__)
    undescribed = [name for name, field in fields.items() if not field.get("description")]
    assert not undescribed


def test_descriptions_name_the_allowed_values_that_are_fixed() -> None:
    fields = graph.get_input_jsonschema()["properties"]
    for lang in SUPPORTED_LANGUAGES:
        assert lang in fields["language"]["description"]
    assert "PNG" in fields["reference_images"]["description"]
    # Values that come from CreatOK at run time are described, never hard-coded as enums.
    assert "enum" not in str(fields["model"]) and "capabilities" in fields["model"]["description"]
