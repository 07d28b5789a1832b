"""PACS nodes, the listener's settings and the allow-list: validated values, parsed from text.

A DICOM application entity is addressed by its AE title (PS3.5 6.2: at most 16 characters,
no backslash or control characters, not only spaces), a host and a TCP port. On the command
line a node is written ``AET@host:port`` and an allowed caller ``AET`` or ``AET@host``; the
viewer stores the same text. Every invalid value raises :class:`~engine.errors.ConfigError`
naming the setting, the value and what is accepted.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from engine.errors import ConfigError

#: Hilum's AE title unless the user chooses another.
DEFAULT_AE_TITLE = "HILUM"
#: The listener's port unless told otherwise (104 needs root; 11112 is the registered
#: alternative, IANA "dicom-iscl").
DEFAULT_PORT = 11112
#: The listener binds to the loopback interface unless told otherwise: nothing outside this
#: computer can reach it until the user opens it up.
LOOPBACK = "127.0.0.1"

RetrieveMethod = Literal["C-MOVE", "C-GET"]
RETRIEVE_METHODS: tuple[RetrieveMethod, ...] = ("C-MOVE", "C-GET")

_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.\-]{0,252})$")


def check_ae_title(value: str, setting: str = "AE title") -> str:
    """``value`` stripped, when it is a valid AE title (PS3.5 table 6.2-1, VR AE).

    Raises:
        ConfigError: empty, longer than 16 characters, or holding a backslash or a control
            character.
    """
    title = value.strip()
    if not title or len(title) > 16 or "\\" in title or any(ord(c) < 32 for c in title):
        raise ConfigError(
            f"{setting} {value!r} is not a valid DICOM AE title: use 1 to 16 characters "
            "(letters, digits, spaces or punctuation other than a backslash), e.g. HILUM."
        )
    return title


def check_host(value: str, setting: str = "host") -> str:
    """``value`` stripped, when it is an IP address or a host name.

    Raises:
        ConfigError: anything else (empty, spaces, a URL, ...).
    """
    host = value.strip()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOST.match(host):
            raise ConfigError(
                f"{setting} {value!r} is not a host name or IP address; e.g. 127.0.0.1, "
                "10.1.2.3 or pacs.hospital.local."
            ) from None
    return host


def check_port(value: int | str, setting: str = "port", *, lowest: int = 1) -> int:
    """``value`` as a TCP port number (``lowest``-65535; 0 means "any free port").

    Raises:
        ConfigError: not a whole number in that range.
    """
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = -1
    if not lowest <= port <= 65535:
        raise ConfigError(
            f"{setting} {value!r} is not a TCP port: use a number from {lowest} to 65535."
        )
    return port


@dataclass(frozen=True)
class PacsNode:
    """A remote DICOM application entity: a PACS, an archive or a modality.

    Attributes:
        ae_title: its AE title (the *called* AE title of Hilum's requests).
        host: its host name or IP address.
        port: its DICOM port.
        retrieve: how studies are fetched from it: ``C-MOVE`` (the node sends them to Hilum's
            listener, so it must know Hilum's AE title, host and port) or ``C-GET`` (they come
            back on the same association; not every PACS offers it).
        name: a label for the user ("" shows the AE title).
    """

    ae_title: str
    host: str
    port: int
    retrieve: RetrieveMethod = "C-MOVE"
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "ae_title", check_ae_title(self.ae_title, "The node's AE title"))
        object.__setattr__(self, "host", check_host(self.host, "The node's host"))
        object.__setattr__(self, "port", check_port(self.port, "The node's port"))
        if self.retrieve not in RETRIEVE_METHODS:
            raise ConfigError(
                f"Retrieve method {self.retrieve!r} is not one of {', '.join(RETRIEVE_METHODS)}."
            )

    @property
    def label(self) -> str:
        """The name the user gave, or the AE title."""
        return self.name or self.ae_title

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str, retrieve: RetrieveMethod = "C-MOVE") -> PacsNode:
        """A node from ``AET@host:port`` (e.g. ``ORTHANC@10.0.0.5:4242``).

        Raises:
            ConfigError: the text is not of that form or a part is invalid.
        """
        title, at, address = text.rpartition("@")
        host, colon, port = address.rpartition(":")
        if not at or not colon:
            raise ConfigError(
                f"PACS node {text!r} is not of the form AET@host:port, e.g. ORTHANC@10.0.0.5:4242."
            )
        return cls(title, host, check_port(port, f"The port of node {text!r}"), retrieve)


@dataclass(frozen=True)
class AllowedCaller:
    """One entry of the listener's allow-list: a calling AE title, optionally from one host.

    Attributes:
        ae_title: the calling AE title the sender must use.
        host: the IP address it must connect from, or ``None`` for any host.
    """

    ae_title: str
    host: str | None = None

    @classmethod
    def parse(cls, text: str) -> AllowedCaller:
        """An entry from ``AET`` or ``AET@ip-address``.

        Raises:
            ConfigError: an invalid AE title or address.
        """
        title, at, host = text.partition("@")
        return cls(
            check_ae_title(title, "Allowed caller"),
            check_host(host, f"The host of allowed caller {text!r}") if at else None,
        )

    def admits(self, ae_title: str, address: str) -> bool:
        """Whether a caller using ``ae_title`` from IP ``address`` matches this entry."""
        return ae_title.strip() == self.ae_title and self.host in (None, address)

    def __str__(self) -> str:
        return self.ae_title if self.host is None else f"{self.ae_title}@{self.host}"


@dataclass(frozen=True)
class ListenerSettings:
    """How Hilum's storage receiver (Storage SCP) listens.

    Attributes:
        ae_title: Hilum's AE title (what senders call).
        port: the TCP port (0: any free port, see :attr:`StorageListener.port`).
        out_dir: received instances go to ``out_dir/<StudyInstanceUID>/<SOPInstanceUID>.dcm``.
        allowed: the callers accepted; an association from anyone else is rejected ("calling AE
            title not recognised"). Empty rejects everyone.
        host: the interface to bind: :data:`LOOPBACK` (this computer only) by default, ``0.0.0.0``
            for every interface.
    """

    ae_title: str = DEFAULT_AE_TITLE
    port: int = DEFAULT_PORT
    out_dir: Path = field(default_factory=lambda: Path.home() / "Hilum" / "received")
    allowed: tuple[AllowedCaller, ...] = ()
    host: str = LOOPBACK

    def __post_init__(self) -> None:
        object.__setattr__(self, "ae_title", check_ae_title(self.ae_title, "Hilum's AE title"))
        object.__setattr__(self, "port", check_port(self.port, "The listening port", lowest=0))
        object.__setattr__(self, "host", check_host(self.host, "The listening interface"))
        object.__setattr__(self, "out_dir", Path(self.out_dir))

    def admits(self, ae_title: str, address: str) -> bool:
        """Whether the allow-list accepts a caller using ``ae_title`` from ``address``."""
        return any(entry.admits(ae_title, address) for entry in self.allowed)
