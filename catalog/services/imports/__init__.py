"""Price imports: parse a LiteLLM JSON or our CSV file, preview the diff, apply all or nothing."""
