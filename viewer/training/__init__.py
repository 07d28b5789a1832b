"""The Training tab: data folder, training form and queue, live curves, and the comparison
of trained models with their operating points.
"""

from viewer.training.comparison_view import ComparisonView
from viewer.training.training_tab import TrainingTab

__all__ = ["ComparisonView", "TrainingTab"]
