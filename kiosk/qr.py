"""QR codes as Pillow images: one place for tickets, pre-entry codes and sample payment slips. Pure."""

from __future__ import annotations

import qrcode
from PIL import Image


def qr_image(data: str, module: int = 6) -> Image.Image:
    """``data`` as a QR code: ``module`` pixels per module, error correction M, the 4-module quiet zone
    scanners need, mode "L"."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=module, border=4)
    code.add_data(data)
    code.make(fit=True)
    return code.make_image(fill_color="black", back_color="white").get_image().convert("L")
