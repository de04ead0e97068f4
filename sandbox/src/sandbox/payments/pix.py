"""The PIX code the provider shows at its checkout: a BR Code (EMV TLV + CRC16-CCITT), as a PSP makes it.

The sandbox stands in for an external provider, so it makes its codes on its own; the payments service
decodes and checks them with its own implementation (a cross-check of both).
"""

from __future__ import annotations

import io
from decimal import Decimal

import segno
from crc import Calculator, Crc16

_CRC = Calculator(Crc16.IBM_3740.value)


def _f(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def brcode(*, key: str, name: str, city: str, amount: Decimal, txid: str) -> str:
    account = _f("00", "br.gov.bcb.pix") + _f("01", key)
    payload = (
        _f("00", "01")
        + _f("01", "12")
        + _f("26", account)
        + _f("52", "0000")
        + _f("53", "986")
        + _f("54", f"{amount:.2f}")
        + _f("58", "BR")
        + _f("59", name[:25])
        + _f("60", city[:15])
        + _f("62", _f("05", txid[:25]))
        + "6304"
    )
    return payload + f"{_CRC.checksum(payload.encode()):04X}"


def svg(payload: str) -> str:
    out = io.BytesIO()
    segno.make(payload, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False)
    return out.getvalue().decode()
