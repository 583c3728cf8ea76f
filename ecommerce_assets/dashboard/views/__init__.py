"""One module per dashboard page, each a ``render()`` that Streamlit's navigation runs."""
