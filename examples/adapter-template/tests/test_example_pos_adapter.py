"""What the conformance suite cannot know about this platform."""

from __future__ import annotations

import pytest
from o2o_example_pos import ExamplePosAdapter, ExamplePosSettings

from o2o_sdk import Discount, InvalidInput


def test_free_items_cannot_be_coupons(o2o_sdk) -> None:
    adapter = ExamplePosAdapter(ExamplePosSettings("https://api.example-pos.test/v1", "key"))
    offer = o2o_sdk.offers.create("Free mug", Discount.free_item("MUG"))
    with pytest.raises(InvalidInput) as caught:
        adapter.mirror_offer(o2o_sdk, offer, "MUG")
    assert caught.value.code == "unsupported_discount"


def test_the_api_key_never_shows() -> None:
    adapter = ExamplePosAdapter(ExamplePosSettings("https://api.example-pos.test/v1", "key-123", "whsec"))
    assert "key-123" not in repr(adapter.settings) and "key-123" not in repr(adapter.http)
    assert "whsec" not in repr(adapter.settings)
