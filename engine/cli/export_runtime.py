"""``hilum export-runtime MODEL_DIR [--json]``.

Exports a bundle's networks for the light runtime (LiteRT, :mod:`engine.inference.
network_export`) into the bundle and names them in its card: for bundles made before Hilum
exported them, or to repair an export that fails its checksum. Needs TensorFlow: a workstation
command (the reading room says what is missing).
"""

from __future__ import annotations

import argparse
import json

from engine.cli import arguments as cli


def register(commands: cli.Commands) -> None:
    """Add the ``export-runtime`` sub-command."""
    parser = cli.add_command(commands, "export-runtime", run_export_runtime, workstation=True)
    cli.add_bundle_argument(parser)
    cli.add_json_flag(parser, "the card's runtime_export section")


def run_export_runtime(args: argparse.Namespace, _context: object) -> int:
    """Export a bundle's networks so that the reading room can run them without TensorFlow.

    Each network becomes one float32 LiteRT graph (probability, heatmap and the domain check's
    features from one forward pass) stored in the bundle with its checksum in the card. A
    network whose head needs Grad-CAM's backward pass is not exported: TensorFlow runs it.
    """
    from engine.inference.network_export import export_folder

    card = export_folder(args.model)
    section = card.runtime_export
    if section is None:
        print(
            f"{args.model}: not exported: a network's heatmap needs Grad-CAM's backward pass, "
            "so TensorFlow runs this bundle."
        )
        return 1
    if args.json:
        print(json.dumps(section.to_card(), indent=2))
        return 0
    for network in section.networks:
        print(f"{args.model}/{network.file}: sha256 {network.sha256[:12]}..., {section.converter}")
    return 0
