"""The engine: SpiffWorkflow glue, persistence and services. Knows nothing of Flask."""
