"""The History tab: every prediction shown or batch-run, filterable."""
