"""Danish validators: CPR, CVR, postal code, phone, e-mail and IBAN."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anyplace.microapps.validators import (
    Invalid,
    cpr_birth_date,
    validate_cpr,
    validate_cvr,
    validate_email,
    validate_iban,
    validate_phone,
    validate_postal_code,
)


@pytest.mark.parametrize(
    ("cpr", "born"),
    [
        ("010170-1234", date(1970, 1, 1)),  # 7th digit 1: 1900s
        ("0101701234", date(1970, 1, 1)),  # without the dash
        ("311299-3999", date(1999, 12, 31)),
        ("150636-4000", date(2036, 6, 15)),  # 4: 2000-2036 ...
        ("150637-4000", date(1937, 6, 15)),  # ... else 1937-1999
        ("290208-9876", date(2008, 2, 29)),  # 9 as 4; 2008 is a leap year
        ("010157-5000", date(2057, 1, 1)),  # 5-8: 2000-2057 ...
        ("010158-8000", date(1858, 1, 1)),  # ... else 1858-1899
    ],
)
def test_cpr_birth_date_takes_the_century_from_the_seventh_digit(cpr: str, born: date) -> None:
    assert cpr_birth_date(cpr) == born
    assert validate_cpr(cpr) == cpr.replace("-", "")[:6] + "-" + cpr.replace("-", "")[6:]


def test_cpr_numbers_that_fail_modulus_11_are_accepted() -> None:
    # Since 2007 numbers are issued without the modulus 11 check (CPR-kontoret).
    weights = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
    number = "0101701235"
    assert sum(int(d) * w for d, w in zip(number, weights, strict=True)) % 11 != 0
    assert validate_cpr(number) == "010170-1235"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "010170-123",
        "010170-12345",
        "320170-1234",
        "300270-1234",
        "290201-1234",
        "01017a-1234",
        "010170 1234x",
        "290200-40001",
        "290200-0000x",
    ],
)
def test_cpr_numbers_that_are_not_a_date_or_not_ten_digits_are_refused(bad: str) -> None:
    with pytest.raises(Invalid):
        validate_cpr(bad)


def test_february_29_exists_only_in_leap_years_of_its_century() -> None:
    assert cpr_birth_date("290200-4000") == date(2000, 2, 29)  # 2000 is a leap year
    with pytest.raises(Invalid):
        validate_cpr("290200-3000")  # 1900 was not


@given(st.dates(min_value=date(1858, 1, 1), max_value=date(2057, 12, 31)))
def test_every_date_in_range_has_a_cpr_form_that_gives_it_back(born: date) -> None:
    year = born.year
    if 1900 <= year <= 1999:
        seventh = "0"
    elif 2000 <= year <= 2036:
        seventh = "4"
    else:
        seventh = "5"
    if 1858 <= year <= 1899:
        seventh = "5"
    number = f"{born:%d%m%y}-{seventh}123"
    assert cpr_birth_date(number) == born


@pytest.mark.parametrize("good", ["25313763", "10103940", "2918 9978"])
def test_cvr_numbers_pass_modulus_11(good: str) -> None:
    assert validate_cvr(good) == good.replace(" ", "")


@pytest.mark.parametrize("bad", ["25313764", "1010394", "01234567", "abcdefgh", ""])
def test_cvr_numbers_failing_modulus_11_or_format_are_refused(bad: str) -> None:
    with pytest.raises(Invalid):
        validate_cvr(bad)


def test_postal_codes() -> None:
    assert validate_postal_code("8000") == "8000"
    assert validate_postal_code("0800") == "0800"  # Høje Taastrup's business codes
    for bad in ("800", "80000", "0100", "abcd"):
        with pytest.raises(Invalid):
            validate_postal_code(bad)


def test_phone_numbers_danish_or_international() -> None:
    assert validate_phone("12 34 56 78") == "+4512345678"
    assert validate_phone("+45 12345678") == "+4512345678"
    assert validate_phone("0045 1234 5678") == "+4512345678"
    assert validate_phone("+46 70 123 45 67") == "+46701234567"
    for bad in ("1234567", "+45 1234567", "phone", "+1"):
        with pytest.raises(Invalid):
            validate_phone(bad)


def test_email_addresses() -> None:
    assert validate_email(" Mette@Kommune.dk ") == "Mette@kommune.dk"
    for bad in ("mette", "mette@", "@kommune.dk", "me tte@kommune.dk", "mette@kommune", "a@b..dk"):
        with pytest.raises(Invalid):
            validate_email(bad)


def test_iban_checks_the_country_length_and_mod_97() -> None:
    assert validate_iban("DK50 0040 0440 1162 43") == "DK5000400440116243"
    assert validate_iban("GB82WEST12345698765432") == "GB82WEST12345698765432"
    for bad in ("DK50 0040 0440 1162 44", "DK5000400440116", "XX00", "DK50-0040"):
        with pytest.raises(Invalid):
            validate_iban(bad)
