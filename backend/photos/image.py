"""Photo bytes in: format and size checks, content hash, EXIF-free thumbnail.

JPEG and HEIC/HEIF (as iPhones and many Android phones write them; decoded by ``pillow-heif``).
Only the header is parsed before the checks; the thumbnail decodes a JPEG at a reduced DCT
scale (``Image.draft``). Thumbnails are always JPEG.
"""

from __future__ import annotations

import functools
import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from backend.errors import InvalidInput, LimitExceeded
from backend.settings import Settings

MEDIA_TYPES = {"JPEG": "image/jpeg", "HEIF": "image/heic"}
SUFFIXES = {"image/jpeg": ".jpg", "image/heic": ".heic"}


@functools.cache
def _register_heif() -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()


class NotAPhoto(InvalidInput):
    """The upload is not an image of an accepted format, or it cannot be decoded."""


class PhotoTooLarge(LimitExceeded):
    """The upload exceeds ``photo_max_bytes`` or ``photo_max_pixels``."""

    http_status = 413


@dataclass(frozen=True)
class Upload:
    """A photo upload that passed the format and size checks."""

    data: bytes
    image: Image.Image
    sha256: str
    media_type: str
    size: tuple[int, int]  # width and height as stored (before EXIF orientation), read before any draft


def open_photo(settings: Settings, data: bytes) -> Upload:
    """Parse an upload's header and check its format and size.

    Raises:
        PhotoTooLarge: more bytes or pixels than the settings allow.
        NotAPhoto: empty, not an image, or not a JPEG.
    """
    if len(data) > settings.photo_max_bytes:
        raise PhotoTooLarge(f"the photo has {len(data)} bytes, more than the limit of "
                            f"{settings.photo_max_bytes} (CBM_PHOTO_MAX_BYTES)")
    if not data:
        raise NotAPhoto("the upload is empty: send the photo file as the 'file' form field")
    _register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise NotAPhoto("the upload is not an image Pillow can read: send a JPEG or HEIC photo") from None
    except OSError as exc:
        raise NotAPhoto(f"the photo cannot be read ({exc}): send an intact JPEG") from None
    if img.format not in MEDIA_TYPES:
        raise NotAPhoto(f"photos must be JPEG or HEIC, this is {img.format}: export the photo as JPEG")
    w, h = img.size
    if w * h > settings.photo_max_pixels:
        raise PhotoTooLarge(f"the photo has {w} x {h} pixels, more than the limit of "
                            f"{settings.photo_max_pixels} (CBM_PHOTO_MAX_PIXELS)")
    return Upload(data, img, hashlib.sha256(data).hexdigest(), MEDIA_TYPES[img.format], (w, h))


def _jpeg_truncated(data: bytes) -> bool:
    """True when a JPEG's main image has no end-of-image marker after its first scan.

    Pillow decodes a truncated JPEG without error (grey rows) once any library in the process
    has set ``ImageFile.LOAD_TRUNCATED_IMAGES`` (WeasyPrint does on import), so the file's
    structure is checked here: the segments before the first scan (SOS) are skipped by their
    lengths (an EXIF thumbnail inside APP1 has its own markers), and the entropy-coded data
    that follows cannot hold 0xFFD9 unless it is the end of the image.
    """
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan
            return data.find(b"\xff\xd9", pos) < 0
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return True  # no scan at all


def thumbnail(upload: Upload, size: int) -> bytes:
    """A JPEG of at most ``size`` pixels on its longer side, upright, without EXIF or other metadata.

    Raises:
        NotAPhoto: the pixel data is truncated or corrupt.
    """
    img = upload.image
    if img.format == "JPEG" and _jpeg_truncated(upload.data):
        raise NotAPhoto("the photo's pixels cannot be decoded (the JPEG ends before its end-of-image "
                        "marker: a truncated upload?): send an intact photo")
    try:
        # DCT scaling (a 12 MP photo decodes at 1/4 for 512 px); the entropy decoding of the
        # whole file remains: it is most of the cost of an upload (bench/photos.py)
        if img.format == "JPEG":
            img.draft("RGB", (size, size))  # the image's own size becomes the reduced one
        rgb = img.convert("RGB") if img.mode != "RGB" else img  # no copy of an RGB photo
        if img.getexif().get(ExifTags.Base.Orientation, 1) != 1:
            rgb = ImageOps.exif_transpose(rgb)  # upright; a copy only when it has to turn
        small = (ImageOps.contain(rgb, (size, size), method=Image.Resampling.LANCZOS)  # a new image
                 if max(rgb.size) > size else rgb)  # never enlarged
        out = io.BytesIO()
        small.save(out, "JPEG", quality=85, optimize=False)  # no exif=, no icc_profile=: nothing kept
    except (OSError, SyntaxError, ValueError, RuntimeError) as exc:
        raise NotAPhoto(f"the photo's pixels cannot be decoded ({exc}): send an intact photo") from None
    return out.getvalue()
