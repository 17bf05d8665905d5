"""Reading the My Number card's text-input support application (券面事項入力補助AP).

``apdu``, ``basic4`` and ``tlv`` are the pure core (APDUs, status words, TLV); ``protocol`` is the
session over any transport; ``pcsc`` is the pyscard adapter. The virtual card for tests and the demo,
speaking the vpcd protocol, is the dev kit's (``devkit.mynumber_card``).
"""
