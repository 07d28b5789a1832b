"""The History tab: every prediction shown or batch-run, filterable."""

from viewer.history.history_view import HistoryView

__all__ = ["HistoryView"]
