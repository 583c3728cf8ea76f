"""ecommerce_assets: an e-commerce data platform built on Dagster software-defined assets."""
