"""NCE Migration Radar analytics: ingestion, storage and metrics (no Streamlit in here)."""
