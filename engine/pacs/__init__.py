"""DICOM networking: receive images (Storage SCP), query and retrieve studies, send results back.
The settings load eagerly; the network parts (pydicom, pynetdicom) resolve on first use.
"""

from typing import TYPE_CHECKING

from engine.lazy_exports import lazy_exports
from engine.pacs.nodes import (
    DEFAULT_AE_TITLE,
    DEFAULT_PORT,
    LOOPBACK,
    AllowedCaller,
    ListenerSettings,
    PacsNode,
)

if TYPE_CHECKING:
    from engine.pacs.derived_instances import ModelIdentity
    from engine.pacs.network import echo
    from engine.pacs.query import QueryMatch, StudyQuery, find
    from engine.pacs.result_objects import ResultObjects, build_results, export_results
    from engine.pacs.retrieve import RetrieveSummary, get_study, move_study
    from engine.pacs.scp import StorageListener
    from engine.pacs.sending import SendSummary, send_instances
    from engine.pacs.serving import serve
    from engine.pacs.storage import ReceivedInstance

__all__ = [
    "DEFAULT_AE_TITLE",
    "DEFAULT_PORT",
    "LOOPBACK",
    "AllowedCaller",
    "ListenerSettings",
    "ModelIdentity",
    "PacsNode",
    "QueryMatch",
    "ReceivedInstance",
    "ResultObjects",
    "RetrieveSummary",
    "SendSummary",
    "StorageListener",
    "StudyQuery",
    "build_results",
    "echo",
    "export_results",
    "find",
    "get_study",
    "move_study",
    "send_instances",
    "serve",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "echo": "network",
        "QueryMatch": "query",
        "StudyQuery": "query",
        "find": "query",
        "ModelIdentity": "derived_instances",
        "ResultObjects": "result_objects",
        "build_results": "result_objects",
        "export_results": "result_objects",
        "RetrieveSummary": "retrieve",
        "get_study": "retrieve",
        "move_study": "retrieve",
        "StorageListener": "scp",
        "SendSummary": "sending",
        "send_instances": "sending",
        "serve": "serving",
        "ReceivedInstance": "storage",
    },
)
