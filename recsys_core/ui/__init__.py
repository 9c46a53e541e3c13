"""The only Streamlit-aware part of the core: cached loaders, view state and widgets."""
