"""The Worklist tab: batch triage of a folder or of the open studies, most suspicious first."""
