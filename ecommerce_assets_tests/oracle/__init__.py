"""The hand-written oracle: a tiny landing zone and the warehouse it must hold (README.md)."""
