"""Payment slips (納付書): the convenience-store barcode and the local-tax unified QR code (eL-QR)."""
