"""Reading the My Number card's text-input support application (券面事項入力補助AP).

``apdu`` and ``basic4`` are the pure core (APDUs, status words, TLV); ``reader`` is the pyscard
adapter; ``virtual`` is a virtual card for tests and the demo that speaks the vpcd protocol.
"""
