"""What the app repository says: config, environment outputs, templating, definitions, normalisation, strategies' meaning."""
