"""One day's users and products files: the entities that appear that day and the new versions.

Why a module of its own: dimension rows are read off the world's schedule (no random draws), and
the files deliver one row per *version* -- a first version on the day an entity appears, a second
one on its change day -- which is what the platform's slowly changing dimensions are tested on.
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
from .world import DayTable, DimensionSchedule, World

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


def _versions_of_day(schedule: DimensionSchedule, day_index: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the entities first delivered on the day, and of those changed on it."""
    first = np.arange(schedule.day_starts[day_index], schedule.day_starts[day_index + 1])
    changed = schedule.chg_ids[schedule.chg_starts[day_index] : schedule.chg_starts[day_index + 1]]
    return first, changed


def users_day(world: World, day_index: int) -> DayTable:
    """The users file of the day: new users, and users who moved to another city."""
    schedule = world.users
    first, changed = _versions_of_day(schedule, day_index)
    idx = np.concatenate([first, changed])
    city = np.concatenate([world.u_city[first], world.u_city2[changed]])
    updated = np.concatenate([schedule.first_secs[first], schedule.chg_secs[changed]])
    user_id = idx + 1
    cols = {
        "user_id": format_ints(user_id),
        "user_name": concat(_FIRST_NAMES[world.u_first[idx]], " ", _LAST_NAMES[world.u_last[idx]]),
        "email": concat(
            _FIRST_NAMES_LOWER[world.u_first[idx]],
            ".",
            _LAST_NAMES_ASCII_LOWER[world.u_last[idx]],
            format_ints(user_id),
            "@",
            _DOMAINS[world.u_domain[idx]],
        ),
        "country": _COUNTRIES[world.u_country[idx]],
        "city": _CITIES[world.u_country[idx], city],
        "signup_date": format_dates(world.u_signup[idx]),
        "updated_at": format_timestamps(updated),
    }
    return DayTable(cols, {})


def products_day(world: World, day_index: int) -> DayTable:
    """The products file of the day: new products, and products with a new price."""
    schedule = world.products
    first, changed = _versions_of_day(schedule, day_index)
    idx = np.concatenate([first, changed])
    price = np.concatenate([world.p_price[first], world.p_price2[changed]])
    cost = np.concatenate([world.p_cost[first], world.p_cost2[changed]])
    updated = np.concatenate([schedule.first_secs[first], schedule.chg_secs[changed]])
    supplier = format_ints(world.p_supplier[idx])
    supplier[world.p_supplier[idx] == 0] = ""
    cols = {
        "product_id": format_ints(idx + 1),
        "product_name": world.p_name[idx],
        "category": _CATEGORIES[world.p_cat[idx]],
        "subcategory": _SUBCATEGORIES[world.p_cat[idx], world.p_sub[idx]],
        "price": format_cents(price),
        "cost": format_cents(cost),
        "supplier_id": supplier,
        "updated_at": format_timestamps(updated),
    }
    return DayTable(cols, {})
