"""One day's users and products files: the entities that appear that day and the new versions.

Why a module of its own: dimension rows are read off the world's current day (no random draws),
and the files deliver one row per *version* -- a first version on the day an entity appears, a
second one on its change day -- which is what the platform's slowly changing dimensions are
tested on.
"""

from __future__ import annotations

import numpy as np

from ecommerce_assets import contract

from .formatting import concat, format_cents, format_dates, format_ints, format_timestamps
from .vocabulary import (
    CITIES,
    COUNTRIES,
    DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    STRING_DTYPE,
    SUBCATEGORIES,
)
from .world import DayTable, World

_FIRST_NAMES = np.array(FIRST_NAMES, dtype=STRING_DTYPE)
_LAST_NAMES = np.array(LAST_NAMES, dtype=STRING_DTYPE)
_FIRST_NAMES_LOWER = np.strings.lower(_FIRST_NAMES)
_LAST_NAMES_ASCII_LOWER = np.strings.lower(
    np.array([name.replace("ü", "ue") for name in LAST_NAMES], dtype=STRING_DTYPE)
)
_COUNTRIES = np.array(COUNTRIES, dtype=STRING_DTYPE)
_CITIES = np.array(CITIES, dtype=STRING_DTYPE)
_DOMAINS = np.array(DOMAINS, dtype=STRING_DTYPE)
_CATEGORIES = np.array(contract.CATEGORIES, dtype=STRING_DTYPE)
_SUBCATEGORIES = np.array([SUBCATEGORIES[c] for c in contract.CATEGORIES], dtype=STRING_DTYPE)


def users_day(world: World) -> DayTable:
    """The users file of the current day: new users, and users who moved to another city."""
    users = world.users
    first, changed = users.first, users.changed
    idx = np.concatenate([first, changed])
    city = np.concatenate([users["city"][first], users["city2"][changed]])
    updated = np.concatenate([users["first_secs"][first], users["chg_secs"][changed]])
    user_id = idx + 1
    given, family, country = users["first"][idx], users["last"][idx], users["country"][idx]
    cols = {
        "user_id": format_ints(user_id),
        "user_name": concat(_FIRST_NAMES[given], " ", _LAST_NAMES[family]),
        "email": concat(
            _FIRST_NAMES_LOWER[given],
            ".",
            _LAST_NAMES_ASCII_LOWER[family],
            format_ints(user_id),
            "@",
            _DOMAINS[users["domain"][idx]],
        ),
        "country": _COUNTRIES[country],
        "city": _CITIES[country, city],
        "signup_date": format_dates(users["signup"][idx]),
        "updated_at": format_timestamps(updated),
    }
    return DayTable(cols, {})


def products_day(world: World) -> DayTable:
    """The products file of the current day: new products, and products with a new price."""
    products = world.products
    first, changed = products.first, products.changed
    idx = np.concatenate([first, changed])
    price = np.concatenate([products["price"][first], products["price2"][changed]])
    cost = np.concatenate([products["cost"][first], products["cost2"][changed]])
    updated = np.concatenate([products["first_secs"][first], products["chg_secs"][changed]])
    supplier_id = products["supplier"][idx]
    supplier = format_ints(supplier_id)
    supplier[supplier_id == 0] = ""
    category = products["cat"][idx]
    cols = {
        "product_id": format_ints(idx + 1),
        "product_name": products["name"][idx],
        "category": _CATEGORIES[category],
        "subcategory": _SUBCATEGORIES[category, products["sub"][idx]],
        "price": format_cents(price),
        "cost": format_cents(cost),
        "supplier_id": supplier,
        "updated_at": format_timestamps(updated),
    }
    return DayTable(cols, {})
