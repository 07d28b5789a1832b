"""The study browser: patient / study / series / image, with thumbnails and the skipped files.

Indexing (:func:`engine.find_studies`, headers only) and thumbnails (a full decode each) run as
jobs, so opening a large folder never freezes the window. Thumbnails have their own one-thread
runner: they fill in one by one and never queue ahead of the image the user is looking at.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QModelIndex, QSize, Qt, Signal, Slot
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from engine import ImageReadError, StudyIndex, find_studies, load_image
from viewer.errors import wrapped_tip
from viewer.jobs import Job, JobRunner
from viewer.widgets.rendering import downsample, gray_qimage, to_uint8

THUMBNAIL_SIDE = 48
PATH_ROLE = Qt.ItemDataRole.UserRole
#: A skipped file's row carries its path and the whole reason (the column shows the start).
REASON_ROLE = Qt.ItemDataRole.UserRole + 1


def make_thumbnail(path: Path, side: int = THUMBNAIL_SIDE) -> tuple[Path, npt.NDArray[np.uint8]]:
    """``path`` and its 8-bit levels at its default display, at most ``side`` pixels a side.

    Raises:
        ImageReadError: the file cannot be read.
    """
    return path, np.ascontiguousarray(to_uint8(downsample(load_image(path).pixels, side)))


class StudyBrowser(QWidget):
    """Tree of what :func:`engine.find_studies` found in the opened files and folders.

    Signals:
        image_selected(Path): the user chose an image (click or keyboard).
        index_ready(object): a :class:`engine.StudyIndex` was listed.
        failed(object): indexing raised (the error, for the window's error reporting).
    """

    image_selected = Signal(Path)
    index_ready = Signal(object)
    failed = Signal(object)

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._thumbnails = JobRunner(max_threads=1, parent=self)
        self._index_job: Job | None = None
        self._roots: list[Path] = []
        self._stale = False  # paths were added while an index was being made
        self._icons: dict[Path, QIcon] = {}
        self._items: dict[Path, QTreeWidgetItem] = {}
        self._skipped_item: QTreeWidgetItem | None = None
        self._shown: Path | None = None  # the image on screen: its row is the highlighted one
        self._tree = QTreeWidget()
        self._tree.setHeaderLabels(["Study", "Details"])
        self._tree.setIconSize(QSize(THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        self._tree.setUniformRowHeights(False)
        self._tree.currentItemChanged.connect(self._on_current_changed)
        self._summary = QLabel("Open a file or a folder (File menu, or drop it here).")
        self._summary.setWordWrap(True)
        self._reason = QLabel()  # the whole reason of the skipped file selected, wrapped
        self._reason.setWordWrap(True)
        self._reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._reason.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._summary)
        layout.addWidget(self._tree, 1)
        layout.addWidget(self._reason)

    @property
    def reason_text(self) -> str:
        """The whole reason shown for the skipped file selected ("" when none is)."""
        return self._reason.text() if not self._reason.isHidden() else ""

    @property
    def tree(self) -> QTreeWidget:
        """The tree widget (for keyboard focus and tests)."""
        return self._tree

    def open_paths(self, paths: Sequence[Path]) -> Job:
        """Index ``paths`` in the background; the tree is replaced when the index is ready."""
        if self._index_job is not None:
            self._index_job.cancel()
        self._thumbnails.cancel_all()
        self._roots = list(paths)
        self._icons.clear()
        self._summary.setText(
            "Indexing "
            + ", ".join(p.name or str(p) for p in paths[:3])
            + ("…" if len(paths) > 3 else "")
        )
        return self._index()

    def add_paths(self, paths: Sequence[Path]) -> None:
        """List ``paths`` too, keeping what is open and the row selected (studies arriving
        from the network). An index already being made is redone once it is ready."""
        self._roots += [path for path in paths if path not in self._roots]
        if self._index_job is not None and not self._index_job.is_done:
            self._stale = True
        else:
            self._index()

    def _index(self) -> Job:
        self._stale = False
        job = self._runner.submit(find_studies, list(self._roots), callbacks=False)
        job.succeeded.connect(self._on_index)
        job.failed.connect(self.failed)
        self._index_job = job
        return job.start()

    def select_path(self, path: Path) -> None:
        """Make ``path``'s row current without emitting ``image_selected``."""
        item = self._items.get(path)
        if item is not None:
            self._tree.blockSignals(True)
            self._tree.setCurrentItem(item)
            self._tree.blockSignals(False)

    def follow(self, path: Path | None) -> None:
        """Highlight ``path``, the file on screen (or the one that failed), wherever it was
        opened from (a triage or history row too): its row when listed; otherwise no row, and a
        file outside every folder listed is added to the list (and highlighted once indexed)."""
        self._shown = path
        if path is not None and path in self._items:
            self.select_path(path)
            return
        self._tree.blockSignals(True)
        self._tree.setCurrentIndex(QModelIndex())  # no current row
        self._tree.clearSelection()
        self._tree.blockSignals(False)
        if path is not None and path.is_file() and not self._covers(path):
            self.add_paths([path])

    def _covers(self, path: Path) -> bool:
        """True when ``path`` is one of the files or folders listed, or inside one."""
        return any(root == path or root in path.parents for root in self._roots)

    @property
    def highlighted(self) -> Path | None:
        """The file whose row is highlighted, ``None`` when none is."""
        item = self._tree.currentItem()
        path = item.data(0, PATH_ROLE) if item is not None and item.isSelected() else None
        return Path(path) if path else None

    def image_paths(self) -> list[Path]:
        """Images listed, in browser order."""
        return list(self._items)

    def skipped_rows(self) -> list[str]:
        """The "Skipped" node's rows ("name: reason")."""
        node = self._skipped_item
        if node is None:
            return []
        return [
            f"{node.child(i).text(0)}: {node.child(i).text(1)}" for i in range(node.childCount())
        ]

    def thumbnails_pending(self) -> int:
        """Thumbnails not yet made."""
        return len(self._thumbnails.active)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop making thumbnails (the window is closing); True when they stopped in time."""
        return self._thumbnails.shutdown(timeout_ms)

    @Slot(object)
    def _on_index(self, index: StudyIndex) -> None:
        if self.sender() is not self._index_job:
            return
        current = self._tree.currentItem()
        selected = current.data(0, PATH_ROLE) if current is not None else None
        self._tree.clear()
        self._items.clear()
        self._skipped_item = None
        for patient in index.patients:
            p_item = QTreeWidgetItem(self._tree, [patient.name or patient.id, patient.id])
            for study in patient.studies:
                s_item = QTreeWidgetItem(p_item, [study.description or "Study", study.date])
                s_item.setToolTip(0, study.uid)
                for series in study.series:
                    detail = f"{series.modality} · {len(series.images)} image(s)".lstrip(" ·")
                    r_item = QTreeWidgetItem(s_item, [series.description or "Series", detail])
                    r_item.setToolTip(0, series.uid)
                    for image in series.images:
                        extra = f"{image.frames} frames" if image.frames > 1 else ""
                        i_item = QTreeWidgetItem(r_item, [image.path.name, extra])
                        i_item.setData(0, PATH_ROLE, str(image.path))
                        i_item.setToolTip(0, str(image.path))
                        self._items[image.path] = i_item
        if index.skipped:
            node = QTreeWidgetItem(
                self._tree,
                [f"Skipped ({len(index.skipped)})", "files that are not readable images"],
            )
            for skipped in index.skipped:
                row = QTreeWidgetItem(node, [skipped.path.name, skipped.reason])
                row.setToolTip(0, str(skipped.path))
                row.setToolTip(1, wrapped_tip(skipped.reason))
                row.setData(1, REASON_ROLE, f"{skipped.path}: {skipped.reason}")
            self._skipped_item = node
        self._tree.expandAll()
        if self._skipped_item is not None:
            self._skipped_item.setExpanded(False)
        self._tree.resizeColumnToContents(0)
        self._summary.setText(
            f"{len(self._items)} image(s) in {len(index.patients)} patient(s)"
            + (f"; {len(index.skipped)} skipped" if index.skipped else "")
        )
        for path, item in self._items.items():
            if path in self._icons:
                item.setIcon(0, self._icons[path])
                continue
            self._icons[path] = QIcon()  # made once, even when indexed again meanwhile
            job = self._thumbnails.submit(make_thumbnail, path, callbacks=False)
            job.succeeded.connect(self._set_thumbnail)
            job.failed.connect(self._mark_unreadable)
            job.start()
        if self._shown is not None and self._shown in self._items:
            self.select_path(self._shown)
        elif selected:
            self.select_path(Path(selected))
        self.index_ready.emit(index)
        if self._stale:
            self._index()

    @Slot(object)
    def _set_thumbnail(self, result: tuple[Path, npt.NDArray[np.uint8]]) -> None:
        path, levels = result
        self._icons[path] = QIcon(QPixmap.fromImage(gray_qimage(levels)))
        item = self._items.get(path)
        if item is not None:
            item.setIcon(0, self._icons[path])

    @Slot(object)
    def _mark_unreadable(self, error: BaseException) -> None:
        item = self._items.get(error.path) if isinstance(error, ImageReadError) else None
        if item is not None:
            item.setText(1, "cannot be displayed")
            item.setToolTip(1, str(error))

    @Slot(QTreeWidgetItem, QTreeWidgetItem)
    def _on_current_changed(self, current: QTreeWidgetItem | None, _: object) -> None:
        path = current.data(0, PATH_ROLE) if current is not None else None
        reason = current.data(1, REASON_ROLE) if current is not None else None
        self._reason.setText(reason or "")
        self._reason.setVisible(bool(reason))
        if path:
            self.image_selected.emit(Path(path))
