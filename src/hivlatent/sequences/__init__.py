"""HIV-1 pol sequences -> HIVDB mutation lists (placeholder)."""
