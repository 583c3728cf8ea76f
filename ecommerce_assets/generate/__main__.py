"""``python -m ecommerce_assets.generate``: run the command line."""

import sys

from .cli import main

sys.exit(main(prog="generate.py"))
