"""Folders of image files: which files are images, their classes and EXIF
orientations.

`scan_image_folder()` finds a folder's images and checks each one cheaply
(its header and its end, not a full decode), so that both input pipelines
(tf.data and NumPy) skip broken files up front and turn photos upright. No
TensorFlow here: the NumPy pipeline and the metrics' folder reader use it
without it.
"""

import collections
import concurrent.futures
import dataclasses
import os
import pathlib
import re
import warnings

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")

# Image formats that neither TensorFlow nor this module decodes. A folder's
# files in them are counted in a warning rather than silently left out.
_UNREAD_IMAGE_EXTENSIONS = (
    ".tif", ".tiff", ".heic", ".heif", ".avif", ".jxl", ".jp2", ".ico", ".ppm",
    ".pgm", ".pbm", ".pnm", ".tga", ".psd", ".exr", ".hdr", ".dng", ".cr2", ".nef",
    ".arw",
)

# Datasets smaller than this are shuffled with a buffer holding all of them


@dataclasses.dataclass
class ImageFolder:
    """The images found in a folder by `scan_image_folder()`.

    Attributes:
        path: the folder.
        files: paths of the images that look decodable, sorted.
        labels: one integer per file: the index of its class subfolder in
            `class_names`, or -1 for a file directly in `path`.
        class_names: the sorted names of the subfolders that hold images;
            empty for a flat folder.
        skipped: paths with an image extension that are not decodable images
            (empty, truncated, or another kind of file) or that TensorFlow
            misreads (8-bit BMPs with a colour palette, animated WebP).
        orientations: one EXIF orientation (1-8) per file, 1 (upright) for
            files without one; only JPEG and WebP files are read for it.
        ignored: `{extension: count}` of the files in image formats that are
            not read (`.tiff`, `.heic`, ...).
    """

    path: pathlib.Path
    files: list
    labels: list
    class_names: list
    skipped: list
    orientations: list = None
    ignored: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.orientations is None:
            self.orientations = [1] * len(self.files)


# In a JPEG's entropy-coded data, 0xFF is followed by 0x00 (a stuffed byte) or
# a restart marker (0xD0-0xD7); any other byte after it starts a marker.
_JPEG_MARKER_AFTER_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _jpeg_reaches_end(data):
    """Whether a JPEG's segments run on to its end-of-image marker. Walking
    them skips what only looks like one, e.g. in an EXIF thumbnail."""
    pos = 2  # after the start-of-image marker
    while pos + 2 <= len(data):
        if data[pos] != 0xFF:  # Stray bytes, which decoders skip too.
            pos = data.find(b"\xff", pos)
            if pos < 0:
                return False
            continue
        marker = data[pos + 1]
        if marker == 0xD9:  # end of image
            return True
        if marker == 0xFF or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 1 if marker == 0xFF else 2  # fill byte, or a marker without length
            continue
        if pos + 4 > len(data):
            return False
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next marker
            match = _JPEG_MARKER_AFTER_SCAN.search(data, pos)
            if match is None:
                return False
            pos = match.start()
    return False


def _bmp_decodes(head, size):
    """TensorFlow decodes uncompressed 8/24/32-bit BMPs, but reads 8-bit
    ones' palette indices as grey levels: only a grey-ramp palette is right.
    BMPs have no end marker, so check the file holds every row of pixels."""
    offset = int.from_bytes(head[10:14], "little")
    header_size = int.from_bytes(head[14:18], "little")
    width = int.from_bytes(head[18:22], "little", signed=True)
    height = abs(int.from_bytes(head[22:26], "little", signed=True))
    bits = int.from_bytes(head[28:30], "little")
    compression = int.from_bytes(head[30:34], "little")
    row_bytes = (bits * width + 31) // 32 * 4
    if not (bits in (8, 24, 32) and compression in (0, 3) and width > 0
            and size >= offset + row_bytes * height):
        return False
    if bits == 8:
        colors = int.from_bytes(head[46:50], "little") or 256
        palette = head[14 + header_size : 14 + header_size + 4 * colors]
        ramp = bytes(range(colors)) if colors <= 256 else b""
        # Entries are blue, green, red, unused: each of the three a ramp.
        return len(palette) == 4 * colors and all(palette[i::4] == ramp for i in range(3))
    return True


def _decodable_format(path):
    """A cheap structural check of one image file: its header, and that it
    was written to the end (truncated downloads are the common failure).
    Returns `(kind, head)`: "jpeg", "png", "gif", "webp", "bmp" or None for
    a file that fails, and the file's first bytes."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(14 + 124 + 1024)  # a BMP's largest header and palette
            f.seek(max(0, size - 1024))
            tail = f.read()
            if size >= 32 and head.startswith(b"\xff\xd8\xff"):
                if tail.rstrip(b"\x00").endswith(b"\xff\xd9"):  # the usual end
                    return "jpeg", head
                # Phones append data after the image (Samsung trailers, motion
                # photos' videos), which decoders ignore: walk the segments.
                # That reads the whole file, but only for such files (and
                # truncated ones), and decoding reads it all anyway.
                f.seek(0)
                return ("jpeg" if _jpeg_reaches_end(f.read()) else None), head
    except OSError:
        return None, b""
    if size < 32:
        kind = None
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):  # PNG ends with an IEND chunk.
        kind = "png" if b"IEND" in tail else None
    elif head[:6] in (b"GIF87a", b"GIF89a"):  # GIF ends with a ";" trailer.
        kind = "gif" if tail.rstrip(b"\x00").endswith(b";") else None
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":  # RIFF gives its length.
        # TensorFlow's decoder fails on (or worse) animated WebP: skip those.
        animated = head[12:16] == b"VP8X" and head[20] & 0x02
        complete = size >= 8 + int.from_bytes(head[4:8], "little")
        kind = "webp" if complete and not animated else None
    elif head.startswith(b"BM"):
        kind = "bmp" if _bmp_decodes(head, size) else None
    else:
        kind = None
    return kind, head


def _jpeg_orientation(head):
    """The EXIF orientation in a JPEG's first bytes: 1 when it has none, None
    when they do not reach it (it usually lies within the first 200)."""
    pos = 2
    while pos + 4 <= len(head) and head[pos] == 0xFF and head[pos + 1] != 0xDA:
        end = pos + 2 + int.from_bytes(head[pos + 2 : pos + 4], "big")
        if head[pos + 1] == 0xE1 and head[pos + 4 : pos + 10] == b"Exif\x00\x00":
            tiff = head[pos + 10 : end]  # a TIFF header, then IFD0's entries
            order = "little" if tiff[:2] == b"II" else "big"
            ifd = int.from_bytes(tiff[4:8], order)
            entries = int.from_bytes(tiff[ifd : ifd + 2], order)
            for entry in range(ifd + 2, ifd + 2 + 12 * entries, 12):
                if entry + 12 > len(tiff):
                    return None
                if int.from_bytes(tiff[entry : entry + 2], order) == 0x0112:
                    return int.from_bytes(tiff[entry + 8 : entry + 10], order)
            return None if ifd + 2 > len(tiff) else 1
        pos = end
    return 1 if pos + 4 <= len(head) else None


def _exif_orientation(path, head):
    """A JPEG's or WebP's EXIF orientation (1-8), 1 when it has none: read
    from the JPEG's `head`, else by Pillow (which reads the metadata only)."""
    orientation = _jpeg_orientation(head) if head.startswith(b"\xff\xd8") else None
    if orientation is None:
        from PIL import Image

        try:
            with Image.open(path) as image:
                orientation = image.getexif().get(0x0112, 1)
        except Exception:  # Pillow raises many kinds; the decoder will have its say.
            return 1
    return orientation if orientation in range(1, 9) else 1


def _inspect(path):
    """(decodable, EXIF orientation) of one file. Only JPEG and WebP are
    read for an orientation: Pillow would decode a whole PNG to find one."""
    kind, head = _decodable_format(path)
    return kind is not None, (_exif_orientation(path, head) if kind in ("jpeg", "webp") else 1)


def scan_image_folder(path):
    """Lists the images in a folder, their class labels and unreadable files.

    Files are found recursively by extension (`.jpg`, `.jpeg`, `.png`, `.bmp`,
    `.gif`, `.webp`, any case); hidden files and folders (names starting
    with ".", such as `.ipynb_checkpoints`) are ignored, and files in other
    image formats (`.tiff`, `.heic`, ...) are counted in `ignored`. The sorted
    names of the subfolders that hold images become the class names, and an
    image's label is the index of the top-level subfolder it lies in.

    Each file is checked once, cheaply (its header and its end, not a full
    decode), so that broken files are reported up front instead of failing
    an epoch halfway through. The EXIF orientation of JPEG and WebP files is
    read then too, so that photos taken sideways are loaded upright.

    Args:
        path: the folder, a string or `pathlib.Path`.

    Returns:
        An `ImageFolder` with `files`, `labels`, `class_names`, `skipped`,
        `orientations` and `ignored`.

    Raises:
        FileNotFoundError: the folder does not exist.
        ValueError: the folder holds no decodable image.

    Example:

    >>> folder = scan_image_folder("flowers")
    >>> folder.class_names, len(folder.files), len(folder.skipped)
    (['daisy', 'dandelion', 'rose', 'sunflower', 'tulip'], 4317, 0)
    """
    root = pathlib.Path(path).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"Image folder not found: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"Not a folder: {root}")

    candidates, classes, other_extensions = [], [], collections.Counter()
    visited = set()  # Linked folders are followed, so guard against cycles.
    for folder, subfolders, names in os.walk(root, followlinks=True):
        if os.path.realpath(folder) in visited:
            subfolders[:] = []
            continue
        visited.add(os.path.realpath(folder))
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        relative = pathlib.Path(folder).relative_to(root).parts
        for name in sorted(names):
            if name.startswith("."):
                continue
            extension = os.path.splitext(name)[1].lower()
            if extension in IMAGE_EXTENSIONS:
                candidates.append(os.path.join(folder, name))
                classes.append(relative[0] if relative else None)
            else:
                other_extensions[extension or "(no extension)"] += 1

    if not candidates:
        looked_for = ", ".join(IMAGE_EXTENSIONS)
        if other_extensions:
            found = ", ".join(f"{e} ({n})" for e, n in other_extensions.most_common())
            found = f"It holds only files with other extensions: {found}."
        else:
            found = "It is empty."
        raise ValueError(
            f"No images in {root} (looked recursively for {looked_for}, in "
            f"any case). {found}"
        )

    # Reading a few bytes per file is I/O bound: threads overlap the waits.
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        ok, orientations = zip(*pool.map(_inspect, candidates))
    files = [f for f, good in zip(candidates, ok) if good]
    orientations = [o for o, good in zip(orientations, ok) if good]
    skipped = [f for f, good in zip(candidates, ok) if not good]
    if not files:
        broken = [f for f in skipped if not os.path.exists(f)]
        if broken:  # links whose target is gone, often made from a relative path
            raise ValueError(
                f"None of the {len(candidates)} image files in {root} can be "
                f"read: {len(broken)} are links to files that do not exist, e.g. "
                f"{broken[0]} -> {os.readlink(broken[0])}. Link to absolute paths, "
                f"or copy the files."
            )
        raise ValueError(
            f"None of the {len(candidates)} image files in {root} is a "
            f"decodable image (empty, truncated or not an image), e.g. "
            f"{skipped[0]}"
        )
    kept_classes = [c for c, good in zip(classes, ok) if good]
    class_names = sorted({c for c in kept_classes if c is not None})
    index = {name: i for i, name in enumerate(class_names)}
    labels = [index[c] if c is not None else -1 for c in kept_classes]
    ignored = {e: n for e, n in other_extensions.most_common() if e in _UNREAD_IMAGE_EXTENSIONS}
    return ImageFolder(root, files, labels, class_names, skipped, orientations, ignored)



def warn_skipped(folder, stacklevel=3):
    """Warns about the files of a scanned folder that will not be read.

    One warning counts the files that are not decodable images (naming one),
    another the files in image formats that are not read (`.tiff`, ...).
    Both pipelines call it, so that a folder warns alike in each.

    Args:
        folder: an `ImageFolder` from `scan_image_folder()`.
        stacklevel: as for `warnings.warn`: the frame the warning points at.

    Example:

    >>> folder = scan_image_folder("photos")  # one of 10 files truncated
    >>> warn_skipped(folder)  # UserWarning: photos: skipped 1 of 10 files ...
    """
    if folder.skipped:
        total = len(folder.files) + len(folder.skipped)
        bmp = ""
        if any(str(f).lower().endswith(".bmp") for f in folder.skipped):
            bmp = " (8-bit BMPs with a colour palette count: TensorFlow reads them as grey)"
        warnings.warn(
            f"{folder.path}: skipped {len(folder.skipped)} of {total} files that "
            f"are not decodable images{bmp}, e.g. {folder.skipped[0]}",
            stacklevel=stacklevel,
        )
    if folder.ignored:
        found = ", ".join(f"{e} ({n})" for e, n in folder.ignored.items())
        warnings.warn(
            f"{folder.path}: ignored {sum(folder.ignored.values())} files in image "
            f"formats that are not read: {found}. Convert them to JPEG, PNG or "
            f"WebP to use them.",
            stacklevel=stacklevel,
        )


def folder_labels(folder, with_labels):
    """A scanned folder's class labels when asked for, else None.

    Args:
        folder: an `ImageFolder` from `scan_image_folder()`.
        with_labels: whether the caller wants labels.

    Returns:
        `folder.labels` (one class index per file), or None when
        `with_labels` is false.

    Raises:
        ValueError: labels are asked for, but the folder has no class
            subfolders, or holds images outside them.

    Example:

    >>> folder_labels(scan_image_folder("pets"), with_labels=True)  # pets/{cat,dog}/
    [0, 0, 1]
    """
    if not with_labels:
        return None
    path = folder.path
    if not folder.class_names:
        raise ValueError(
            f"with_labels=True, but {path} has no class subfolders: "
            f"labels come from the names of the subfolders that hold "
            f"the images (e.g. {path}/cats/1.jpg)."
        )
    loose = folder.labels.count(-1)
    if loose:
        raise ValueError(
            f"with_labels=True, but {loose} images lie directly in "
            f"{path}, outside the class subfolders {folder.class_names}."
        )
    return folder.labels
