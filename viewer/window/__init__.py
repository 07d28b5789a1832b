"""The main window, the composition root: menus, toolbar, tabs and status bar, the Triage and
History tabs wired into it, and its text dialogs (About Hilum, the model card).
"""
