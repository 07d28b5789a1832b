"""The viewer's PACS part: the listener and its arrivals, query/retrieve, sending results.

Plugged into the main window by :class:`~viewer.pacs.integration.PacsIntegration`.
"""
