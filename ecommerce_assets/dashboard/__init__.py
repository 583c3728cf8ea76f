"""The analysts' dashboard (``bin/dashboard``): a Streamlit app that reads only the published
copy (``ECOMMERCE_ANALYTICS``), never the warehouse. ``app.py`` is the script Streamlit runs;
``data.py`` opens the copy read-only and caches results per file version; ``queries.py`` holds
every query the pages run; ``views/`` has one module per page (not ``pages/``, which Streamlit
would take for its older multipage layout). Why Streamlit: docs/analytics.md.
"""
