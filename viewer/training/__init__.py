"""The Training tab: data folder, training form and queue, live curves, and the comparison
of trained models with their operating points.
"""
