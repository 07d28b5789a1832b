"""Measuring models: metrics, calibration fitting, operating point choice, bundle evaluation,
comparison tables and plots. Exports resolve on first use (matplotlib loads when a plot is drawn).
"""

from typing import TYPE_CHECKING

from engine.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from engine.evaluation.bundle_evaluation import (
        EvaluationCancelled,
        EvaluationReport,
        evaluate_bundle,
    )
    from engine.evaluation.calibration import fit_calibration
    from engine.evaluation.comparison import comparison_table, format_table, write_csv, write_plots
    from engine.evaluation.metrics import compute_metrics
    from engine.evaluation.operating_point import choose_operating_point

__all__ = [
    "EvaluationCancelled",
    "EvaluationReport",
    "choose_operating_point",
    "comparison_table",
    "compute_metrics",
    "evaluate_bundle",
    "fit_calibration",
    "format_table",
    "write_csv",
    "write_plots",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "compute_metrics": "metrics",
        "fit_calibration": "calibration",
        "choose_operating_point": "operating_point",
        "EvaluationCancelled": "bundle_evaluation",
        "EvaluationReport": "bundle_evaluation",
        "evaluate_bundle": "bundle_evaluation",
        "comparison_table": "comparison",
        "format_table": "comparison",
        "write_csv": "comparison",
        "write_plots": "comparison",
    },
)
