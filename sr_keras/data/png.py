"""A PNG writer that takes the image a band of rows at a time, so an 8000 x 8000 upscale never has to be held
whole: 8 or 16 bits per channel, gray, gray + alpha, RGB or RGBA, with the input's ICC profile (`iCCP`) and EXIF
(`eXIf`) carried over. Pillow cannot write 16-bit RGB PNG files; this writer can.

    with PNGWriter(path, width, height, channels=3, bit_depth=16, icc_profile=icc, exif=exif) as png:
        for rows in bands:               # uint16 [rows, width, 3]
            png.write_rows(rows)

Rows are filtered with PNG's "Up" filter (each byte minus the byte above it), which compresses photographs
about as well as Pillow's default, and deflated with zlib level 6. Written to a temporary file and renamed into
place by the caller (`sr_keras.files.atomic_path`).
"""
import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type (gray, gray+alpha, RGB, RGBA)
_IDAT_SIZE = 1 << 16


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


class PNGWriter:
    """Writes a PNG file band by band (see the module docstring).

    Args:
        path: the file to write.
        width, height: the image size in pixels.
        channels: 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA).
        bit_depth: 8 (uint8 rows) or 16 (uint16 rows).
        icc_profile: bytes of an ICC profile to embed, or None.
        exif: bytes of an EXIF block (with or without the "Exif\\0\\0" prefix) to embed, or None.

    Raises:
        ValueError: a bad size, channel count or bit depth; rows of the wrong shape or dtype; fewer or more
            rows than `height` by the time the writer is closed.
    """

    def __init__(self, path, width, height, channels=3, bit_depth=8, icc_profile=None, exif=None):
        if channels not in _COLOR_TYPES or bit_depth not in (8, 16) or width < 1 or height < 1:
            raise ValueError(f"PNGWriter: bad image {width}x{height}, {channels} channels, {bit_depth} bits")
        self.width, self.height, self.channels, self.bit_depth = int(width), int(height), channels, bit_depth
        self.dtype = np.dtype(">u2") if bit_depth == 16 else np.dtype("uint8")
        self.rows = 0
        self.previous = np.zeros(self.width * channels * (bit_depth // 8), "uint8")
        self.compressor = zlib.compressobj(6)
        self.pending = bytearray()
        self.handle = open(path, "wb")
        header = struct.pack(">IIBBBBB", self.width, self.height, bit_depth, _COLOR_TYPES[channels], 0, 0, 0)
        self.handle.write(SIGNATURE + _chunk(b"IHDR", header))
        if icc_profile:
            self.handle.write(_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(bytes(icc_profile))))
        if exif:
            exif = bytes(exif)
            self.handle.write(_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif))

    def write_rows(self, rows):
        """Appends uint8 / uint16 rows [n, width] (one channel) or [n, width, channels]."""
        rows = np.asarray(rows)
        if rows.ndim == 2 and self.channels == 1:
            rows = rows[..., None]
        expected_dtype = np.uint16 if self.bit_depth == 16 else np.uint8
        if rows.ndim != 3 or rows.shape[1:] != (self.width, self.channels) or rows.dtype != expected_dtype:
            raise ValueError(f"PNGWriter: rows must be {np.dtype(expected_dtype).name} [n, {self.width}, "
                             f"{self.channels}], got {rows.dtype} {list(rows.shape)}")
        if self.rows + len(rows) > self.height:
            raise ValueError(f"PNGWriter: more than {self.height} rows")
        raw = np.ascontiguousarray(rows, dtype=self.dtype).view("uint8").reshape(len(rows), -1)
        filtered = np.empty((len(rows), raw.shape[1] + 1), "uint8")
        filtered[:, 0] = 2  # "Up"
        filtered[0, 1:] = raw[0] - self.previous
        filtered[1:, 1:] = raw[1:] - raw[:-1]
        self.previous = raw[-1].copy()
        self.pending += self.compressor.compress(filtered.tobytes())
        self._flush(final=False)
        self.rows += len(rows)

    def _flush(self, final):
        while len(self.pending) >= _IDAT_SIZE or (final and self.pending):
            piece = bytes(self.pending[:_IDAT_SIZE])
            del self.pending[:_IDAT_SIZE]
            self.handle.write(_chunk(b"IDAT", piece))

    def close(self):
        """Finishes the file; ValueError if fewer rows than `height` were written (the file is then invalid)."""
        if self.handle.closed:
            return
        try:
            if self.rows != self.height:
                raise ValueError(f"PNGWriter: {self.rows} rows written, the image has {self.height}")
            self.pending += self.compressor.flush()
            self._flush(final=True)
            self.handle.write(_chunk(b"IEND", b""))
        finally:
            self.handle.close()

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is None:
            self.close()
        else:
            self.handle.close()
        return False
