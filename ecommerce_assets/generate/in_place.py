"""Defects that alter real rows in place, which staging must repair, flag or drop.

Why a module of its own: unlike quarantine rows these change the delivered data itself, so each
hits a distinct real row (one defect per row) and never a purchase, its order or a late event;
the manifest counts them per label. One function per defect class.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ecommerce_assets import contract

from .formatting import cents_of, cents_text
from .injection import InjectedRow, Injection
from .vocabulary import UNKNOWN_VALUES

# table -> class -> [(column, extra eligibility mask name or None)].
IN_PLACE: dict[str, dict[str, list[tuple[str, str | None]]]] = {
    "users": {
        "whitespace_case": [
            ("user_name", None),
            ("email", None),
            ("country", None),
            ("city", None),
        ],
        "invalid_email": [("email", None)],
    },
    "products": {
        "whitespace_case": [("product_name", None), ("category", None), ("subcategory", None)],
        "unknown_value": [("category", None)],
    },
    "orders": {
        "whitespace_case": [("status", None), ("payment_method", None)],
        "unknown_value": [("status", None), ("payment_method", None)],
        "orphan_reference": [("user_id", "no_purchase")],
        "inconsistent_total": [("order_amount", "no_purchase")],
    },
    "order_items": {"orphan_reference": [("product_id", None)]},
    "events": {
        "whitespace_case": [("event_type", None)],
        "unknown_value": [("event_type", "page_or_checkout")],
        "orphan_reference": [("user_id", None), ("product_id", "product_event")],
    },
    "reviews": {"orphan_reference": [("user_id", None), ("product_id", None)]},
}
# Free-text columns only get padded; the platform trims them but keeps their case.
FREE_TEXT = {"user_name", "city", "product_name", "subcategory"}


def _variant(rng: np.random.Generator, column: str, text: str) -> str:
    """A whitespace/case variant of ``text`` that the platform repairs back to ``text``."""
    if column in FREE_TEXT:
        options = [" " + text, text + " ", "  " + text + " "]
    elif column == "email":
        local, _, domain = text.partition("@")
        options = [f"  {local.title()}@{domain.upper()} ", text.upper(), " " + text, text.title()]
    elif column == "country":
        options = [text.lower(), " " + text, text + " ", " " + text.lower()]
    else:
        options = [
            text.upper(),
            text.title(),
            text.lower(),
            " " + text + " ",
            " " + text,
            text.swapcase(),
        ]
    options = [option for option in options if option != text]
    return options[int(rng.integers(len(options)))]


def _whitespace_case(injection: Injection, column: str, value: str) -> tuple[str, str]:
    return _variant(injection.rng, column, value), contract.WHITESPACE_CASE


def _unknown_value(injection: Injection, column: str, value: str) -> tuple[str, str]:
    return injection.choose(UNKNOWN_VALUES[column]), contract.unknown_value(column)


def _invalid_email(injection: Injection, column: str, value: str) -> tuple[str, str]:
    broken = value.replace("@", "@@") if injection.rng.random() < 0.5 else value.replace("@", ".")
    return broken, contract.INVALID_EMAIL


def _orphan_reference(injection: Injection, column: str, value: str) -> tuple[str, str]:
    return str(injection.keys.next("orphan_ref")), contract.orphan_reference(column)


def _inconsistent_total(injection: Injection, column: str, value: str) -> tuple[str, str]:
    """The order amount off by 1 to 50 (never negative), so it no longer matches its lines."""
    cents = cents_of(value)
    delta = int(injection.rng.integers(100, 5001))
    lower = cents >= delta and injection.rng.random() < 0.5
    return cents_text(cents - delta if lower else cents + delta), contract.INCONSISTENT_TOTAL


# class -> (injection, column, current value) -> (new value, manifest label)
_CORRUPT: dict[str, Callable[[Injection, str, str], tuple[str, str]]] = {
    "whitespace_case": _whitespace_case,
    "unknown_value": _unknown_value,
    "invalid_email": _invalid_email,
    "orphan_reference": _orphan_reference,
    "inconsistent_total": _inconsistent_total,
}


def add_exact_duplicates(injection: Injection) -> None:
    """Verbatim copies of a real line, somewhere after it; staging keeps one."""
    for _ in range(injection.how_many("exact_duplicate")):
        src = injection.take(None)
        if src is not None:
            injection.extras.append(InjectedRow(None, src, after_src=True))
            injection.count(contract.EXACT_DUPLICATE)


def change_rows_in_place(injection: Injection) -> None:
    """The table's in-place classes in turn, each on a random eligible column of a fresh row."""
    for defect, targets in IN_PLACE.get(injection.spec.name, {}).items():
        for _ in range(injection.how_many(defect)):
            column, mask_name = targets[int(injection.rng.integers(len(targets)))]
            row = injection.take(mask_name)
            if row is None:
                continue
            values = injection.table.cols[column]
            values[row], label = _CORRUPT[defect](injection, column, str(values[row]))
            injection.count(label)
