"""The words the generator writes: names, places, products, review texts and bad values.

Why a module of its own: the look of the data (realistic names with umlauts, product names with
quotes and commas, multi-line review texts) and the catalogue of wrong values the defects use
are data, not logic; they live here so the row-building code stays short.
"""

from __future__ import annotations

import numpy as np

STRING_DTYPE = np.dtypes.StringDType()

FIRST_NAMES = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Emma",
    "Felix",
    "Greta",
    "Hugo",
    "Ida",
    "Jonas",
    "Karla",
    "Leon",
    "Mia",
    "Noah",
    "Olivia",
    "Paul",
    "Rosa",
    "Sam",
    "Tara",
    "Umar",
    "Vera",
    "William",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Lucas",
    "Sofia",
    "Mateo",
    "Elena",
    "Marco",
    "Chloe",
    "Liam",
    "Nora",
    "Oscar",
    "Lea",
    "Finn",
    "Alice",
    "Bob",
    "Maya",
    "Ravi",
]
LAST_NAMES = [
    "Smith",
    "Müller",
    "Garcia",
    "Rossi",
    "Dubois",
    "Nowak",
    "Jensen",
    "Silva",
    "Kowalski",
    "Novak",
    "Fischer",
    "Weber",
    "Martin",
    "Bernard",
    "Lopez",
    "Romano",
    "Costa",
    "Hansen",
    "Nielsen",
    "Svensson",
    "Virtanen",
    "Murphy",
    "Walsh",
    "Brown",
    "Taylor",
    "Wilson",
    "Evans",
    "Schmidt",
    "Wagner",
    "Becker",
    "Moreau",
    "Laurent",
    "Ferrari",
    "Ricci",
    "Santos",
    "Pereira",
]
COUNTRIES = ("DE", "FR", "ES", "IT", "NL", "PL", "SE", "GB", "US", "AT")
CITIES = (
    ("Berlin", "Hamburg", "Munich", "Cologne", "Leipzig"),
    ("Paris", "Lyon", "Marseille", "Toulouse", "Lille"),
    ("Madrid", "Barcelona", "Valencia", "Seville", "Bilbao"),
    ("Rome", "Milan", "Naples", "Turin", "Bologna"),
    ("Amsterdam", "Rotterdam", "Utrecht", "The Hague", "Eindhoven"),
    ("Warsaw", "Krakow", "Gdansk", "Wroclaw", "Poznan"),
    ("Stockholm", "Gothenburg", "Malmo", "Uppsala", "Lund"),
    ("London", "Manchester", "Leeds", "Bristol", "Glasgow"),
    ("New York", "Chicago", "Austin", "Seattle", "Boston"),
    ("Vienna", "Graz", "Linz", "Salzburg", "Innsbruck"),
)
COUNTRY_WEIGHTS = np.array([0.22, 0.14, 0.1, 0.1, 0.08, 0.07, 0.05, 0.1, 0.1, 0.04])
DOMAINS = ("example.com", "mail.example", "shop.example.org", "inbox.example.net")
SUBCATEGORIES = {
    "Electronics": ("Phones", "Laptops", "Audio", "Accessories"),
    "Home & Kitchen": ("Cookware", "Furniture", "Decor", "Appliances"),
    "Fashion": ("Shoes", "Jackets", "Shirts", "Bags"),
    "Beauty": ("Skincare", "Makeup", "Haircare", "Fragrance"),
    "Sports": ("Running", "Cycling", "Fitness", "Outdoor"),
    "Books": ("Fiction", "Non-fiction", "Children", "Comics"),
    "Toys": ("Puzzles", "Board Games", "Dolls", "Building Sets"),
    "Grocery": ("Coffee", "Snacks", "Tea", "Pantry"),
}
NOUNS = {
    "Electronics": ("Headphones", "Speaker", "Charger", "Smartphone", "Laptop", "Monitor"),
    "Home & Kitchen": ("Chef Knife", "Frying Pan", "Lamp", "Mug", "Chair", "Kettle"),
    "Fashion": ("Sneakers", "Jacket", "T-Shirt", "Backpack", "Scarf", "Boots"),
    "Beauty": ("Face Cream", "Lipstick", "Shampoo", "Perfume", "Serum", "Mascara"),
    "Sports": ("Yoga Mat", "Running Shoes", "Bike Helmet", "Dumbbell", "Tent", "Bottle"),
    "Books": ("Novel", "Cookbook", "Atlas", "Biography", "Comic", "Guide"),
    "Toys": ("Puzzle", "Board Game", "Doll", "Robot Kit", "Teddy Bear", "Race Car"),
    "Grocery": ("Coffee Beans", "Green Tea", "Olive Oil", "Dark Chocolate", "Pasta", "Honey"),
}
ADJECTIVES = [
    "Classic",
    "Deluxe",
    "Compact",
    "Premium",
    "Eco",
    "Smart",
    "Ultra",
    "Vintage",
    "Pro",
    "Essential",
]
COLORS = ["Black", "White", "Red", "Blue", "Green", "Grey", "Navy", "Beige"]
BRANDS = ["Nordic", "Acme", "Zenith", "Aurora", "Vertex", "Lumen", "Orbit", "Nova"]
REVIEW_TEXTS = np.array(
    [
        "Great product, works as described.",
        "Good value for the money",
        'The "premium" finish is not that premium.',
        "Arrived late, but the quality is fine.",
        "Love it!\nWould buy again.",
        "Does what it should.",
        'Broke after a week. "Durable", they said.',
        "Five stars, fast delivery, nice packaging.",
        "Meh.",
        "Colour differs from the picture,\nsize is OK.",
        "Excellent",
        "Not bad, not great; average.",
        "My kids love it.\r\nHighly recommended, really.",
        "Smaller than expected",
    ],
    dtype=STRING_DTYPE,
)
DISCOUNT_TEXT = np.array(["0", "0.05", "0.1", "0.15", "0.2", "0.25"], dtype=STRING_DTYPE)

# Undeclared columns a source system sometimes adds, and what they hold.
EXTRA_COLUMN_NAMES = ("coupon_code", "source_system", "loyalty_tier")
EXTRA_COLUMN_VALUES = np.array(
    ["", "SAVE10", "WELCOME", "FREESHIP", "VIP", "X1"], dtype=STRING_DTYPE
)

# Wrong values the defects write.
UNKNOWN_VALUES = {
    "category": ("Gadgets", "Garden", "Automotive"),
    "status": ("lost", "pending_review", "on_hold"),
    "payment_method": ("bitcoin", "cash_on_delivery", "voucher"),
    "event_type": ("hover", "scroll", "wishlist_add"),
}
BAD_KEYS = ("abc", "-5", "0", "1.5", "12abc", "x7")
BAD_VALUES = {
    "int": ("N/A", "abc", "twelve", "#3"),
    "date": ("2024-13-45", "2024-02-30", "yesterday", "N/A"),
    "timestamp": ("yesterday", "2024-13-45 10:00:00", "2024-01-01 25:61:00", "N/A"),
    "decimal": ("12,3x", "abc", "N/A", "1.2.3"),
}
