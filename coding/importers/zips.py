"""Zip containers (.docx, .odt, REFI-QDA): real limits on what is decompressed."""

from __future__ import annotations

import copy
import io
import zipfile
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from coding.importers.common import _fail

MAX_COMPRESSION_RATIO = 150

# --- zip containers: real limits on what is decompressed -----------------------------------

_ZIP_CHUNK = 64 * 1024
_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")


class SafeZip:
    """A zip whose every member was decompressed once, within limits, and found as declared.

    Made by ``open_zip_safely``. ``zipfile`` trusts the central directory's sizes; a file that
    lies about them passes any check of the directory. Here each member is streamed and its
    real size counted (and CRC checked), so later reads are bounded by what was counted.
    ``declares_dtd`` names the XML members with a DOCTYPE or ENTITY anywhere in them.
    """

    def __init__(
        self, zf: zipfile.ZipFile, name: str, declares_dtd: set[str], sizes: dict[str, int]
    ) -> None:
        self.zf = zf
        self.name = name
        self.names = set(zf.namelist())
        self.declares_dtd = declares_dtd
        self.sizes = sizes  # member name -> bytes really decompressed

    def xml_bytes(self) -> int:
        """Unpacked bytes of the XML parts: what a DOM parser (python-docx) holds in memory."""
        return sum(n for part, n in self.sizes.items() if _is_xml(part))

    def open(self, part: str) -> IO[bytes]:
        try:
            return self.zf.open(part)
        except (KeyError, zipfile.BadZipFile, OSError, RuntimeError) as exc:
            raise _fail(self.name, _("the file is damaged."), "corrupt") from exc

    def read(self, part: str) -> bytes:
        with self.open(part) as fh:
            return fh.read()


def _zip_bomb(name: str) -> ValidationError:
    return _fail(
        name,
        _("the file unpacks to far more data than a document holds (a zip bomb?)."),
        "zip_bomb",
    )


def open_zip_safely(data: bytes, name: str, *, max_unpacked: int | None = None) -> SafeZip:
    """Open a zip upload (.docx, .odt, .dotx, .qdpx …) with real decompression limits.

    Refuses (ValidationError naming the file) a damaged or encrypted zip, a member whose
    compression ratio or declared size is implausible, a total beyond ``max_unpacked``
    (default ``UPLOAD_MAX_UNPACKED_BYTES``) counted on the bytes actually decompressed, and a
    member whose real size differs from its directory entry. Memory stays at one chunk.
    """
    limit = settings.UPLOAD_MAX_UNPACKED_BYTES if max_unpacked is None else max_unpacked
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _fail(
            name, _("the file is damaged (not a readable .docx or .odt)."), "corrupt"
        ) from exc
    declared = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise _fail(name, _("the file is encrypted."), "encrypted_or_doc")
        declared += info.file_size
        ratio = info.file_size / max(1, info.compress_size)
        if declared > limit or (info.file_size > 1_000_000 and ratio > MAX_COMPRESSION_RATIO):
            raise _zip_bomb(name)
    total = 0
    declares_dtd: set[str] = set()
    sizes: dict[str, int] = {}
    for info in infos:
        if info.is_dir():
            continue
        is_xml = _is_xml(info.filename)
        seen = 0
        tail = b""
        # zipfile stops at the declared size (then fails on the CRC); read as if the size were
        # unbounded so the real size is counted, and a lie is named as what it is.
        probe = copy.copy(info)
        probe.file_size = limit + 1
        try:
            with zf.open(probe) as fh:
                while chunk := fh.read(_ZIP_CHUNK):
                    seen += len(chunk)
                    total += len(chunk)
                    if seen > info.file_size or total > limit:
                        raise _zip_bomb(name)
                    if is_xml and info.filename not in declares_dtd:
                        window = tail + chunk
                        if any(m in window for m in _DTD_MARKERS):
                            declares_dtd.add(info.filename)
                        tail = window[-16:]
        except ValidationError:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
            # zlib errors, a bad CRC, an unsupported compression method, a truncated member
            raise _fail(
                name, _("the file is damaged (not a readable .docx or .odt)."), "corrupt"
            ) from exc
        if seen != info.file_size:
            raise _zip_bomb(name)
        sizes[info.filename] = seen
    return SafeZip(zf, name, declares_dtd, sizes)


def _is_xml(part: str) -> bool:
    return part.endswith((".xml", ".rels")) or "." not in part.rsplit("/", 1)[-1]
