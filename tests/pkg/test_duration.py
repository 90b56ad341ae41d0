"""Go-style duration strings."""

from __future__ import annotations

import pytest

from kdns.pkg.duration import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("0s", 0.0),
        ("5s", 5.0),
        ("300ms", 0.3),
        ("1.5h", 5400.0),
        ("2h45m", 9900.0),
        ("1m30s", 90.0),
        ("-1s", -1.0),
        ("10us", 1e-5),
        ("100ns", 1e-7),
    ],
)
def test_parse(text: str, seconds: float) -> None:
    """Units ns..h, fractions and sums of parts give seconds."""
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "s", "5x", "1s5", "abc", "-", "1.5.5s"])
def test_invalid(text: str) -> None:
    """A number without unit (other than 0) or unknown units are errors."""
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)
