"""Danish field validators: each returns the value in its normal form or raises `Invalid`.

CPR numbers are checked as a date with the century from the seventh digit,
as the CPR office defines it, and deliberately not with modulus 11: numbers
issued since 2007 may fail it. CVR numbers do carry a modulus 11 check digit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from anyplace.errors import AnyplaceError

__all__ = [
    "VALIDATORS",
    "Invalid",
    "cpr_birth_date",
    "validate_cpr",
    "validate_cvr",
    "validate_email",
    "validate_iban",
    "validate_phone",
    "validate_postal_code",
]


class Invalid(AnyplaceError):
    """The value is not valid; the message says why, for the person filling in the form."""


_CPR = re.compile(r"^(\d{2})(\d{2})(\d{2})-?(\d{4})$")
CVR_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)
IBAN_LENGTHS = {
    "DK": 18, "FO": 18, "GL": 18, "NO": 15, "SE": 24, "FI": 18, "DE": 22, "NL": 18, "GB": 22,
    "FR": 27, "ES": 24, "IT": 27, "PL": 28, "BE": 16, "AT": 20, "CH": 21, "IS": 26, "IE": 22,
    "EE": 20, "LT": 20, "LV": 21, "LU": 20, "PT": 25,
}  # fmt: skip
_EMAIL = re.compile(r"^[^@\s]+@([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")


def _century(seventh: int, yy: int) -> int:
    if seventh <= 3:
        return 1900
    if seventh in (4, 9):
        return 2000 if yy <= 36 else 1900
    return 2000 if yy <= 57 else 1800  # 5-8


def cpr_birth_date(value: str) -> date:
    found = _CPR.match(value.strip())
    if found is None:
        raise Invalid("a CPR number is ten digits: DDMMYY-SSSS")
    day, month, yy = (int(part) for part in found.groups()[:3])
    year = _century(int(found.group(4)[0]), yy) + yy
    try:
        return date(year, month, day)
    except ValueError:
        raise Invalid("the CPR number does not start with a valid date") from None


def validate_cpr(value: str) -> str:
    cpr_birth_date(value)
    digits = value.strip().replace("-", "")
    return f"{digits[:6]}-{digits[6:]}"


def validate_cvr(value: str) -> str:
    digits = value.replace(" ", "")
    if not re.fullmatch(r"[1-9]\d{7}", digits):
        raise Invalid("a CVR number is eight digits")
    if sum(int(d) * w for d, w in zip(digits, CVR_WEIGHTS, strict=True)) % 11:
        raise Invalid("the CVR number's check digit is wrong")
    return digits


def validate_postal_code(value: str) -> str:
    code = value.strip()
    if not re.fullmatch(r"\d{4}", code) or int(code) < 800:
        raise Invalid("a Danish postal code is four digits, 0800-9999")
    return code


def validate_phone(value: str) -> str:
    compact = re.sub(r"[\s-]", "", value)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if re.fullmatch(r"\d{8}", compact):
        return "+45" + compact
    if compact.startswith("+45") and not re.fullmatch(r"\+45\d{8}", compact):
        raise Invalid("a Danish phone number has eight digits")
    if re.fullmatch(r"\+[1-9]\d{6,14}", compact):
        return compact
    raise Invalid("a phone number is eight digits, or + country code and number")


def validate_email(value: str) -> str:
    address = value.strip()
    if not _EMAIL.fullmatch(address) or ".." in address:
        raise Invalid("not an e-mail address")
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def validate_iban(value: str) -> str:
    compact = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{1,30}", compact):
        raise Invalid("an IBAN is a country code, two check digits and the account")
    expected = IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        raise Invalid(f"an IBAN from {compact[:2]} has {expected} characters")
    rearranged = compact[4:] + compact[:4]
    if int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 != 1:
        raise Invalid("the IBAN's check digits are wrong")
    return compact


VALIDATORS: dict[str, Callable[[str], str]] = {
    "cpr": validate_cpr,
    "cvr": validate_cvr,
    "postal_code": validate_postal_code,
    "phone": validate_phone,
    "email": validate_email,
    "iban": validate_iban,
}
