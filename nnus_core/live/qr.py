"""The join QR code shown on the projector: a PNG of the join URL (segno, no imaging library)."""

from __future__ import annotations

import io

import segno


def join_qr_png(url: str, *, scale: int = 10) -> bytes:
    """PNG bytes of a QR code for `url` (error correction M: readable from the back of a room)."""
    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=scale, border=2)
    return buf.getvalue()
