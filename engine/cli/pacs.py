"""``hilum pacs echo|find|get|send --node AET@host:port ...``: talk to a PACS from the shell.

* ``echo``: check the node answers (C-ECHO).
* ``find``: list matching studies (or patients) as a table or JSON (C-FIND).
* ``get STUDY_UID... --out DIR``: retrieve studies into ``DIR/<study>/`` with C-GET, or with
  C-MOVE (``--method move``: a listener runs meanwhile on ``--port``; the PACS must know
  Hilum's AE title, this computer and that port).
* ``send IMAGE...``: predict each DICOM image, build its results (heatmap Secondary Capture +
  SR) and store them on the node (C-STORE); ``--export DIR`` also (or only) writes them there.

Exit status 1 when some instance failed, 2 when the node cannot be used.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from engine.cli.arguments import Commands, add_command, add_json_flag, add_model_option
from engine.cli.context import CliContext, Handler
from engine.errors import ConfigError
from engine.pacs.nodes import (
    DEFAULT_AE_TITLE,
    DEFAULT_PORT,
    AllowedCaller,
    ListenerSettings,
    PacsNode,
    RetrieveMethod,
)
from engine.pacs.query import StudyQuery
from engine.pacs.storage import ReceivedInstance
from engine.progress import Progress

_FIND_COLUMNS = (
    ("Patient", "patient_name"),
    ("ID", "patient_id"),
    ("Born", "birth_date"),
    ("Date", "study_date"),
    ("Mod.", "modalities"),
    ("Accession", "accession"),
    ("Description", "description"),
    ("Images", "instances"),
    ("Study UID", "study_uid"),
)


def register(commands: Commands) -> None:
    """Add the ``pacs`` sub-command and its own sub-commands."""
    parser = commands.add_parser(
        "pacs",
        help="query, retrieve from and send results to a PACS (DICOM network)",
        description="Talk to a PACS: --node is its AE title, host and port as AET@host:port.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    _action(actions, "echo", "check that the node answers (C-ECHO)", _run_echo)
    find = _action(actions, "find", "list matching studies or patients (C-FIND)", _run_find)
    find.add_argument("--level", choices=("study", "patient"), default="study")
    find.add_argument("--name", default="", help="patient name, wildcards * and ? allowed")
    find.add_argument("--id", default="", help="patient ID")
    find.add_argument("--date", default="", help="YYYYMMDD or YYYYMMDD-YYYYMMDD (either open)")
    find.add_argument("--modality", default="", help="e.g. CR or DX")
    find.add_argument("--accession", default="", help="accession number")
    add_json_flag(find)
    get = _action(actions, "get", "retrieve studies into a folder (C-GET or C-MOVE)", _run_get)
    get.add_argument("studies", nargs="+", metavar="STUDY_UID")
    get.add_argument("--out", type=Path, required=True, metavar="DIR")
    get.add_argument("--method", choices=("get", "move"), default="get")
    get.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="with --method move: listener's port"
    )
    send = _action(actions, "send", "predict DICOM images and send their results", _run_send)
    send.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="DICOM images")
    add_model_option(send, "model bundle (default: shipped)")
    send.add_argument("--export", type=Path, metavar="DIR", help="also write the results here")


def _action(
    actions: Commands,
    name: str,
    help_text: str,
    handler: Handler,
) -> argparse.ArgumentParser:
    parser = add_command(actions, name, handler, summary=help_text, description=help_text)
    parser.add_argument(
        "--node",
        required=name != "send",
        metavar="AET@HOST:PORT",
        help="the PACS" + (" (optional with --export)" if name == "send" else ""),
    )
    parser.add_argument(
        "--aet", default=DEFAULT_AE_TITLE, help=f"Hilum's AE title (default {DEFAULT_AE_TITLE})"
    )
    return parser


def _node(args: argparse.Namespace, method: RetrieveMethod = "C-MOVE") -> PacsNode:
    return PacsNode.parse(args.node, method)


def _run_echo(args: argparse.Namespace, _: CliContext) -> int:
    from engine.pacs.network import echo

    node = _node(args)
    echo(node, local_ae_title=args.aet)
    print(f"{node} answered.")
    return 0


def _run_find(args: argparse.Namespace, _: CliContext) -> int:
    from engine.pacs.query import find

    query = StudyQuery(
        level="PATIENT" if args.level == "patient" else "STUDY",
        patient_name=args.name,
        patient_id=args.id,
        dates=args.date,
        modality=args.modality,
        accession=args.accession,
    )
    matches = find(_node(args), query, local_ae_title=args.aet)
    if args.json:
        print(json.dumps([dataclasses.asdict(match) for match in matches], indent=2))
        return 0
    rows = [[title for title, _ in _FIND_COLUMNS]]
    rows += [[_cell(getattr(match, key)) for _, key in _FIND_COLUMNS] for match in matches]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_FIND_COLUMNS))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    print(f"{len(matches)} match(es).")
    return 0


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def _show_progress(report: Progress) -> None:
    print(f"\r{report.message}", end="", file=sys.stderr, flush=True)


def _print_received(instance: ReceivedInstance) -> None:
    print(f"received {instance.path}", flush=True)


def _run_get(args: argparse.Namespace, _: CliContext) -> int:
    from engine.pacs.retrieve import get_study, move_study
    from engine.pacs.scp import StorageListener

    node = _node(args, "C-GET" if args.method == "get" else "C-MOVE")
    failed = 0
    for study_uid in args.studies:
        if args.method == "get":
            summary = get_study(
                node,
                study_uid,
                args.out,
                local_ae_title=args.aet,
                on_received=_print_received,
                on_progress=_show_progress,
            )
        else:
            settings = ListenerSettings(
                args.aet, args.port, args.out, (AllowedCaller(node.ae_title),), host="0.0.0.0"
            )
            with StorageListener(settings, _print_received):
                summary = move_study(
                    node,
                    study_uid,
                    destination=args.aet,
                    local_ae_title=args.aet,
                    on_progress=_show_progress,
                )
        print(
            f"\r{study_uid}: {summary.completed} received, {summary.failed} failed, "
            f"{summary.warnings} with warnings.",
            file=sys.stderr,
        )
        failed += summary.failed
    return 1 if failed else 0


def _run_send(args: argparse.Namespace, context: CliContext) -> int:
    from engine.cli.listen import load_predictor
    from engine.imaging.images import load_image
    from engine.inference.check_verdict import result_line
    from engine.pacs.derived_instances import ModelIdentity
    from engine.pacs.result_objects import ResultObjects, build_results, export_results
    from engine.pacs.sending import send_instances

    if args.node is None and args.export is None:
        raise ConfigError("Nothing to do: give --node AET@host:port, --export DIR, or both.")
    node = _node(args) if args.node else None
    predictor = load_predictor(args.model, context)
    identity = ModelIdentity.from_card(predictor.bundle.card)
    results: list[ResultObjects] = []
    for path in args.images:
        radiograph = load_image(path)
        prediction = predictor.predict(radiograph)
        results.append(build_results(radiograph, prediction, identity))
        print(f"{path}: {result_line(prediction)}")
    if args.export is not None:
        for result in results:
            for written in export_results(result, args.export):
                print(f"wrote {written}")
    if node is None:
        return 0
    datasets = [ds for result in results for ds in result.datasets]
    summary = send_instances(node, datasets, local_ae_title=args.aet)
    print(f"sent {len(summary.sent)} object(s) to {node}.")
    for uid, reason in summary.failed:
        print(f"not stored: {uid}: {reason}", file=sys.stderr)
    return 1 if summary.failed else 0
