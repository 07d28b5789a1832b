"""Shared Qt pieces used by several tabs: numpy -> QImage rendering and the sortable record
table.
"""
