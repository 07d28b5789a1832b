"""The active model: choosing a bundle, loading and replacing it in the background, and the
status bar label saying which model the reading room uses, on what device.
"""
