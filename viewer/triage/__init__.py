"""The Triage tab: batch triage of a folder or of the open studies, most suspicious first."""

from viewer.triage.triage_list import TriageList

__all__ = ["TriageList"]
