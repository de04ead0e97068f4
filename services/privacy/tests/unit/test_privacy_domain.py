"""Rules of privacy, no IO."""

from __future__ import annotations

import pytest

from privacy.domain import MAX_TITLE, InvalidPrivacy, clean_title


def test_a_title_is_trimmed_and_spaces_collapse() -> None:
    assert clean_title("  First   visit ") == "First visit"


@pytest.mark.parametrize("title", ["", "   ", "x" * (MAX_TITLE + 1)])
def test_a_bad_title_is_refused_naming_the_field(title: str) -> None:
    with pytest.raises(InvalidPrivacy) as caught:
        clean_title(title)
    assert caught.value.field == "title"
