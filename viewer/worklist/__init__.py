"""The Worklist tab: batch triage of a folder or of the open studies, most suspicious first."""

from viewer.worklist.worklist_view import Worklist

__all__ = ["Worklist"]
