"""The radiograph on screen: a QGraphicsView with a grayscale layer and a heatmap layer.

Interaction follows the conventions of PACS viewers: wheel zooms around the cursor, left or middle
drag pans, right drag changes the window (horizontal = width, vertical = level, in the image's
modality units), and presets offer the file's own windows plus an automatic one. Windowing always
starts again from ``Radiograph.values`` with the engine's VOI maths, MONOCHROME1 inversion after the
VOI, and the user's invert on top (DICOM PS3.3 C.11 display order).

Speed: re-windowing a 2k x 2k image costs about 10 ms in numpy; while the right button is held the
view re-windows a preview of at most :data:`PREVIEW_SIDE` pixels and shows the full resolution on
release, so dragging stays smooth on two cores.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPixmap,
    QResizeEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from engine import Radiograph, Window
from engine.imaging.radiograph import percentile_window
from viewer.reading_room.scale_bar import draw_scale_bar, draw_zoom
from viewer.reading_room.window_presets import Preset, window_presets
from viewer.widgets.rendering import (
    downsample,
    gray_qimage,
    heatmap_rgba,
    rgba_qimage,
    to_uint8,
    window_levels,
)

#: Longest side of the image re-windowed while the window/level drag is in progress.
PREVIEW_SIDE = 1024
ZOOM_STEP = 1.25
MIN_SCALE, MAX_SCALE = 0.02, 40.0
#: Window width change per pixel of horizontal drag, as a fraction of the image's value range.
DRAG_SENSITIVITY = 1.0 / 400.0


class ImageView(QGraphicsView):
    """Shows one :class:`engine.Radiograph` with an optional heatmap overlay.

    Signals:
        pixel_hovered(x, y, value): image column, row and modality value under the cursor.
        hover_left(): the cursor left the image.
        window_changed(center, width): the window in use changed (also on invert/reset).
        zoom_changed(scale): screen pixels per image pixel.
    """

    pixel_hovered = Signal(int, int, float)
    hover_left = Signal()
    window_changed = Signal(float, float)
    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QColor(0, 0, 0))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setMouseTracking(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
        self._image_item = QGraphicsPixmapItem()
        self._image_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._heat_item = QGraphicsPixmapItem()
        self._heat_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._heat_item.setZValue(1)
        self.scene().addItem(self._image_item)
        self.scene().addItem(self._heat_item)
        self._radiograph: Radiograph | None = None
        self._value_span = 255.0
        self._window: Window | None = None  # None: the file's default display (Radiograph.pixels)
        self._invert = False
        self._fit = True
        self._heatmap: npt.NDArray[np.float32] | None = None
        self._colormap = "jet"
        self._heat_visible = True
        self._heat_item.setOpacity(0.45)
        self._drag: tuple[QPoint, Window] | None = None
        self._pan_from: QPoint | None = None

    # --- content -------------------------------------------------------------------------------

    @property
    def radiograph(self) -> Radiograph | None:
        """The radiograph shown, if any."""
        return self._radiograph

    def set_radiograph(self, radiograph: Radiograph | None) -> None:
        """Show ``radiograph`` at its default display, fitted, with no heatmap."""
        self._radiograph = radiograph
        self._window = None
        self._invert = False
        self._value_span = 255.0
        if radiograph is not None:
            self._value_span = max(float(radiograph.values.max() - radiograph.values.min()), 1.0)
        self.set_heatmap(None)
        if radiograph is None:
            self._image_item.setPixmap(QPixmap())
            self.scene().setSceneRect(QRectF())
        else:
            self.scene().setSceneRect(QRectF(0, 0, radiograph.width, radiograph.height))
            self._render()
        self.fit()

    def presets(self) -> list[Preset]:
        """The presets of the image shown (see :func:`window_presets`)."""
        return [] if self._radiograph is None else window_presets(self._radiograph)

    def apply_preset(self, preset: Preset) -> None:
        """Display through ``preset``'s window (the user's invert is kept)."""
        self._window = preset.window
        self._render()

    @property
    def window(self) -> Window | None:
        """The window the user chose, or ``None`` for the file's default display."""
        return self._window

    def effective_window(self) -> Window | None:
        """The window in use, resolving the default to the file's first window when it has one."""
        rad = self._radiograph
        if rad is None:
            return None
        if self._window is not None:
            return self._window
        if rad.voi_lut_explanation or not rad.windows:
            return percentile_window(rad.values)
        return rad.windows[0]

    def set_window(self, window: Window) -> None:
        """Display through ``window`` (modality units)."""
        self._window = window
        self._render()

    @property
    def inverted(self) -> bool:
        """True when the user inverted the display (on top of any MONOCHROME1 inversion)."""
        return self._invert

    def set_inverted(self, inverted: bool) -> None:
        """Invert the display (or not)."""
        self._invert = inverted
        self._render()

    def reset(self) -> None:
        """Default window, no user inversion, fitted."""
        self._window = None
        self._invert = False
        self._render()
        self.fit()

    def display_levels(self, preview: bool = False) -> npt.NDArray[np.uint8]:
        """The 8-bit grayscale levels currently shown (full resolution unless ``preview``)."""
        rad = self._radiograph
        if rad is None:
            return np.zeros((0, 0), np.uint8)
        if self._window is None:
            source = downsample(rad.pixels, PREVIEW_SIDE) if preview else rad.pixels
            levels = to_uint8(source)
            if self._invert:
                np.subtract(np.uint8(255), levels, out=levels)
            return levels
        values = downsample(rad.values, PREVIEW_SIDE) if preview else rad.values
        return window_levels(values, self._window, rad.inverted != self._invert)

    def _render(self, preview: bool = False) -> None:
        rad = self._radiograph
        if rad is None:
            return
        levels = self.display_levels(preview)
        self._image_item.setPixmap(QPixmap.fromImage(gray_qimage(levels)))
        self._image_item.setScale(rad.width / levels.shape[1])
        window = self.effective_window()
        if window is not None:
            self.window_changed.emit(window.center, window.width)

    # --- heatmap -------------------------------------------------------------------------------

    def set_heatmap(self, heatmap: npt.NDArray[np.floating] | None) -> None:
        """Overlay ``heatmap`` (values in [0, 1], any resolution; stretched to the image)."""
        self._heatmap = None if heatmap is None else np.asarray(heatmap, dtype=np.float32)
        self._render_heatmap()

    @property
    def has_heatmap(self) -> bool:
        """True when a heatmap is set (shown or not)."""
        return self._heatmap is not None

    def set_heatmap_visible(self, visible: bool) -> None:
        """Show or hide the heatmap layer."""
        self._heat_visible = visible
        self._heat_item.setVisible(visible and self._heatmap is not None)

    @property
    def heatmap_visible(self) -> bool:
        """True when a heatmap is set and shown."""
        return self._heat_item.isVisible()

    def set_heatmap_opacity(self, opacity: float) -> None:
        """Overall opacity of the heatmap layer, in [0, 1]."""
        self._heat_item.setOpacity(min(max(opacity, 0.0), 1.0))

    def set_colormap(self, name: str) -> None:
        """Colour the heatmap with one of :data:`viewer.widgets.rendering.COLORMAPS`."""
        self._colormap = name
        self._render_heatmap()

    def _render_heatmap(self) -> None:
        rad, heat = self._radiograph, self._heatmap
        if heat is None or rad is None:
            self._heat_item.setPixmap(QPixmap())
            self._heat_item.setVisible(False)
            return
        self._heat_item.setPixmap(
            QPixmap.fromImage(rgba_qimage(heatmap_rgba(heat, self._colormap)))
        )
        self._heat_item.setTransform(
            QTransform.fromScale(rad.width / heat.shape[1], rad.height / heat.shape[0])
        )
        self._heat_item.setVisible(self._heat_visible)

    # --- zoom and pan --------------------------------------------------------------------------

    @property
    def scale_factor(self) -> float:
        """Screen pixels per image pixel."""
        return self.transform().m11()

    def fit(self) -> None:
        """Fit the whole image in the view (and keep fitting when the view is resized)."""
        self._fit = True
        if self._radiograph is not None:
            self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.scale_factor)

    def actual_size(self) -> None:
        """One image pixel per screen pixel."""
        self._fit = False
        self.resetTransform()
        self.zoom_changed.emit(self.scale_factor)

    def zoom_by(self, factor: float) -> None:
        """Zoom by ``factor`` around the cursor (or the centre), within sane limits."""
        target = min(max(self.scale_factor * factor, MIN_SCALE), MAX_SCALE)
        if self.scale_factor > 0:
            self._fit = False
            step = target / self.scale_factor
            self.scale(step, step)
            self.zoom_changed.emit(self.scale_factor)

    def zoom_in(self) -> None:
        """Zoom in one step."""
        self.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        """Zoom out one step."""
        self.zoom_by(1 / ZOOM_STEP)

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Zoom around the cursor."""
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(ZOOM_STEP**steps)
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the image fitted while in fit mode."""
        super().resizeEvent(event)
        if self._fit:
            self.fit()

    # --- mouse: window/level, middle-button pan, pixel readout ---------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Right button starts window/level; middle button starts panning."""
        window = self.effective_window()
        if event.button() == Qt.MouseButton.RightButton and window is not None:
            self._drag = (event.position().toPoint(), window)
            event.accept()
        elif event.button() == Qt.MouseButton.MiddleButton:
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Window/level or pan while dragging; always report the pixel under the cursor."""
        position = event.position().toPoint()
        if self._drag is not None:
            self._window = self.dragged_window(position - self._drag[0], self._drag[1])
            self._render(preview=True)
        elif self._pan_from is not None:
            delta = position - self._pan_from
            self._pan_from = position
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
        else:
            super().mouseMoveEvent(event)
        self._report_pixel(self.mapToScene(position))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """End a drag; a window/level drag ends with a full-resolution render."""
        if event.button() == Qt.MouseButton.RightButton and self._drag is not None:
            self._drag = None
            self._render()
            event.accept()
        elif event.button() == Qt.MouseButton.MiddleButton and self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def leaveEvent(self, event: object) -> None:
        """Clear the pixel readout."""
        self.hover_left.emit()

    def dragged_window(self, delta: QPoint, start: Window) -> Window:
        """The window after dragging ``delta`` screen pixels from ``start``.

        Right widens, left narrows; down raises the level (the image darkens), up lowers it. The
        step is a fraction of the image's value range, so 8-bit and 15-bit images feel the same.
        """
        step = self._value_span * DRAG_SENSITIVITY
        width = max(start.width + delta.x() * step, 1.0)
        center = start.center + delta.y() * step
        return Window(center, width, "manual", "LINEAR")

    def _report_pixel(self, point: QPointF) -> None:
        rad = self._radiograph
        x, y = math.floor(point.x()), math.floor(point.y())
        if rad is None or not (0 <= x < rad.width and 0 <= y < rad.height):
            self.hover_left.emit()
            return
        self.pixel_hovered.emit(x, y, float(rad.values[y, x]))

    # --- scale bar and export ------------------------------------------------------------------

    @property
    def zoom_text(self) -> str:
        """The zoom shown in the bottom-right corner: "100 %" is one image pixel per screen pixel
        ("" without an image)."""
        return "" if self._radiograph is None else f"{100 * self.scale_factor:.0f} %"

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        """Draw the zoom in the bottom-right corner, and a scale bar in the bottom-left one when
        the pixel spacing is known."""
        rad = self._radiograph
        if rad is None or self.scale_factor <= 0:
            return
        draw_zoom(painter, self.viewport().rect(), self.zoom_text)
        if rad.pixel_spacing is not None:
            spacing = rad.pixel_spacing[1] / self.scale_factor
            draw_scale_bar(painter, self.viewport().height(), spacing)

    def render_image(self) -> QImage:
        """The image with its overlay at full image resolution (what an export of the image holds).

        Why render the scene: it is exactly what is on screen (window, invert, heatmap opacity and
        colormap), without the zoom and the widget's size.
        """
        rect = self.sceneRect()
        image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_RGB32)
        image.fill(QColor(0, 0, 0))
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.scene().render(painter, QRectF(image.rect()), rect)
        painter.end()
        return image
