"""storage/sizes.py: the one size rule the console, the CLI and their lists share."""

from __future__ import annotations

import pytest

from storage.sizes import parse_size, size_text

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40


@pytest.mark.parametrize(
    ("typed", "size"),
    [
        ("0", 0),
        ("1048576", MiB),
        ("512 B", 512),
        ("512K", 512 * KiB),
        ("500 MB", 500 * MiB),
        ("500 mib", 500 * MiB),
        ("1.5 GiB", 3 * GiB // 2),
        ("1,5 GiB", 3 * GiB // 2),
        (" 10G ", 10 * GiB),
        ("2 TB", 2 * TiB),
    ],
)
def test_parse_size_reads_binary_units(typed, size):
    assert parse_size(typed) == size


@pytest.mark.parametrize("typed", ["", "lots", "-1 GiB", "1 PB", "1 GiBs", "1e9", "1 Gi", "9" * 30])
def test_parse_size_refuses_what_is_not_a_size(typed):
    with pytest.raises(ValueError):
        parse_size(typed)


@pytest.mark.parametrize(
    ("size", "text", "exact"),
    [
        (0, "0 B", "0 B"),
        (1023, "1023 B", "1023 B"),
        (GiB, "1 GiB", "1 GiB"),
        (3 * GiB // 2, "1.5 GiB", "1.5 GiB"),
        (GiB + 1, "1 GiB", "1073741825 B"),
        (GiB + MiB, "1 GiB", "1025 MiB"),
    ],
)
def test_size_text_shows_what_parse_size_reads_back(size, text, exact):
    assert size_text(size) == text
    assert size_text(size, exact_value=True) == exact
    assert parse_size(size_text(size, exact_value=True)) == size
