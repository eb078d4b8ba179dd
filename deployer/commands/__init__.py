"""One module per command; each returns a plain result dict that the CLI prints as text or JSON."""
