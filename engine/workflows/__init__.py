"""What a user does with models, end to end: training, ensembles, promotion, batch triage, the
prediction history, the self-check. Exports resolve on first use (importing this loads no Keras).
"""

from typing import TYPE_CHECKING

from engine.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from engine.workflows.history import History, HistoryError
    from engine.workflows.history_entry import HistoryEntry
    from engine.workflows.promotion import PromotionCheck, ReadingRoomModels, check_promotion
    from engine.workflows.training import TrainingResult, train
    from engine.workflows.triage import TriageRow, TriageSummary, csv_text, triage

__all__ = [
    "History",
    "HistoryEntry",
    "HistoryError",
    "PromotionCheck",
    "ReadingRoomModels",
    "TrainingResult",
    "TriageRow",
    "TriageSummary",
    "check_promotion",
    "csv_text",
    "train",
    "triage",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "History": "history",
        "HistoryEntry": "history_entry",
        "HistoryError": "history",
        "PromotionCheck": "promotion",
        "ReadingRoomModels": "promotion",
        "check_promotion": "promotion",
        "TrainingResult": "training",
        "train": "training",
        "TriageRow": "triage",
        "TriageSummary": "triage",
        "csv_text": "triage",
        "triage": "triage",
    },
)
