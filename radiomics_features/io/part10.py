"""What a DICOM Part 10 file says it holds, read from its File Meta Information alone.

The series reader (GDCM, through SimpleITK) leaves out of every series a file it cannot
parse, without a word: a slice cut short at either end of a series leaves no gap for the
spacing check to find, and the volume is read one slice short. Telling such a file from
the folder's other files needs only the start of it: a Part 10 file carries ``DICM`` at
byte 128 and then its File Meta Information (group 0002, always explicit VR little
endian, PS3.10 §7.1), whose Media Storage SOP Class UID (0002,0002) says whether it is an
image or a directory, report, presentation state or document (PS3.4 Annex B.5). This
module reads that group and nothing else; it never interprets the data set.
"""

from __future__ import annotations

import struct

__all__ = [
    "HEAD_BYTES",
    "MEDIA_DIRECTORY",
    "is_part10",
    "read_media_class",
    "is_image_class",
    "class_name",
]

#: Media Storage Directory Storage: a DICOMDIR (PS3.10 §8).
MEDIA_DIRECTORY = "1.2.840.10008.1.3.10"
#: Storage SOP classes (PS3.4 Annex B.5) whose objects are not images: presentation
#: states (11.x), waveforms (9.x), raw data, registrations and segmentations (66.x),
#: structured reports and key object selections (88.x), encapsulated documents (104.x),
#: RT plans and structure sets (481.x), MR spectroscopy (4.2). Prefixes of the class UID.
_NOT_IMAGE = tuple(
    f"1.2.840.10008.5.1.4.1.1.{k}" for k in ("11.", "9.", "66", "88.", "104.", "481.", "4.2")
)
_NAMES = {
    "1.2.840.10008.5.1.4.1.1.4": "MR Image Storage",
    "1.2.840.10008.5.1.4.1.1.4.1": "Enhanced MR Image Storage",
    "1.2.840.10008.5.1.4.1.1.2": "CT Image Storage",
    "1.2.840.10008.5.1.4.1.1.2.1": "Enhanced CT Image Storage",
    "1.2.840.10008.5.1.4.1.1.7": "Secondary Capture Image Storage",
    MEDIA_DIRECTORY: "Media Storage Directory (DICOMDIR)",
}
#: Value representations with a 4-byte length after two reserved bytes (PS3.5 §7.1.2).
_LONG_VR = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}  # fmt: skip
#: The most of a file read to find its File Meta Information.
HEAD_BYTES = 1 << 16


def is_part10(head: bytes) -> bool:
    """Whether bytes (a file's first 132 or more) begin a DICOM Part 10 file: ``DICM`` at
    byte 128 (PS3.10 §7.1)."""
    return len(head) >= 132 and head[128:132] == b"DICM"


def read_media_class(head: bytes) -> str | None:
    """The Media Storage SOP Class UID of a Part 10 file from its first bytes (``''`` when
    its File Meta Information has none), or ``None`` when ``head`` is not a Part 10 file
    or its File Meta Information is cut short or malformed."""
    if not is_part10(head):
        return None
    pos, found = 132, ""
    while True:
        if pos + 8 > len(head):
            return None  # the group runs past the bytes held: cut short
        group, element = struct.unpack_from("<HH", head, pos)
        if group != 0x0002:
            return found
        vr = head[pos + 4 : pos + 6]
        if vr in _LONG_VR:
            if pos + 12 > len(head):
                return None
            (length,) = struct.unpack_from("<I", head, pos + 8)
            start = pos + 12
        elif vr.isalpha() and vr.isupper():
            (length,) = struct.unpack_from("<H", head, pos + 6)
            start = pos + 8
        else:
            return None  # not a value representation: not explicit VR, so malformed
        if start + length > len(head):
            return None
        if element == 0x0002:
            found = head[start : start + length].rstrip(b"\0 ").decode("ascii", "replace")
        pos = start + length


def is_image_class(uid: str) -> bool:
    """Whether a Media Storage SOP Class UID may hold an image (an unknown or empty class
    counts as one: a file the reader should have read)."""
    return uid != MEDIA_DIRECTORY and not uid.startswith(_NOT_IMAGE)


def class_name(uid: str) -> str:
    """``MR Image Storage`` for the common classes, else ``SOP class <uid>``."""
    if not uid:
        return "no SOP class given"
    return _NAMES.get(uid, f"SOP class {uid}")
