"""The card's 4 basic items (基本4情報): name, address, birth date, sex.

They are personal information: they live in memory for one resident's session only. Python
strings cannot be overwritten in place, so ``wipe`` drops every reference this object holds;
the raw APDU buffers (bytearrays) are zeroed by the reader where they are owned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

#: ISO 5218 codes as the card stores them.
SEX_CODES = {"1": "male", "2": "female", "9": "not_applicable"}


@dataclass
class BasicFour:
    name: str
    address: str
    #: The birth date as the card stores it, ``YYYYMMDD``.
    birth: str
    #: ISO 5218: "1" male, "2" female, "9" not applicable.
    sex: str

    @property
    def birth_date(self) -> date:
        return date(int(self.birth[:4]), int(self.birth[4:6]), int(self.birth[6:8]))

    def wipe(self) -> None:
        """Forget the items (the session ended: card removed, finished or idle)."""
        self.name = self.address = self.birth = self.sex = ""

    @property
    def wiped(self) -> bool:
        return not (self.name or self.address or self.birth or self.sex)

    def __repr__(self) -> str:  # never print personal data by accident (logs, tracebacks)
        return "BasicFour(<redacted>)" if not self.wiped else "BasicFour(<wiped>)"

    __str__ = __repr__
