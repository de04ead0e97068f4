"""PIX "copia e cola": the BR Code (EMV QRCPS-MPM payload of the Banco Central) and its QR code.

No well-kept BR Code library exists on PyPI (the candidates are single-release projects), so the TLV
layout is written here from the BCB's "Manual de Padrões para Iniciação do Pix"; the CRC16-CCITT
(poly 0x1021, init 0xFFFF, the `crc` library's IBM-3740) and the QR code (`segno`) come from libraries.
`parse` decodes a code (ours or a provider's) and checks its CRC, so a broken code is never shown.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

import segno
from crc import Calculator, Crc16

_CRC = Calculator(Crc16.IBM_3740.value)
GUI = "br.gov.bcb.pix"
_TXID = re.compile(r"^[A-Za-z0-9]{1,25}$")


class BrCodeError(ValueError):
    """The payload is not a valid BR Code (layout, lengths or CRC)."""


def crc16(data: str) -> str:
    return f"{_CRC.checksum(data.encode('ascii')):04X}"


def _tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise BrCodeError(f"field {tag} is longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def _ascii(text: str, limit: int) -> str:
    """Merchant name and city: plain ASCII (the EMV alphabet), accents dropped, cut to the field's size."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^A-Za-z0-9 .,\-/&]", "", plain).strip()
    return plain[:limit] or "NA"


@dataclass(frozen=True)
class BrCode:
    key: str
    merchant_name: str
    merchant_city: str
    amount: Decimal | None
    txid: str
    description: str | None = None
    #: Raw tags of the top level, for checks beyond the named fields.
    fields: dict[str, str] | None = None


def build(
    *,
    key: str,
    merchant_name: str,
    merchant_city: str,
    amount: Decimal | None,
    txid: str,
    description: str | None = None,
    single_use: bool = True,
) -> str:
    """The copy-and-paste payload; `txid` identifies the charge in the payer's bank statement."""
    if not key or len(key) > 77:
        raise BrCodeError("the PIX key must be 1-77 characters")
    if not _TXID.match(txid):
        raise BrCodeError("the txid must be 1-25 letters and digits")
    account = _tlv("00", GUI) + _tlv("01", key)
    if description:
        account += _tlv("02", _ascii(description, 99 - len(account) - 4))
    payload = (
        _tlv("00", "01")
        + (_tlv("01", "12") if single_use else "")
        + _tlv("26", account)
        + _tlv("52", "0000")
        + _tlv("53", "986")
        + (_tlv("54", f"{amount:.2f}") if amount is not None else "")
        + _tlv("58", "BR")
        + _tlv("59", _ascii(merchant_name, 25))
        + _tlv("60", _ascii(merchant_city, 15))
        + _tlv("62", _tlv("05", txid))
        + "6304"
    )
    return payload + crc16(payload)


def _split(data: str) -> dict[str, str]:
    out: dict[str, str] = {}
    i = 0
    while i < len(data):
        if i + 4 > len(data):
            raise BrCodeError(f"truncated field at position {i}")
        tag, size = data[i : i + 2], data[i + 2 : i + 4]
        if not (tag.isdigit() and size.isdigit()):
            raise BrCodeError(f"bad tag or length at position {i}")
        end = i + 4 + int(size)
        if end > len(data):
            raise BrCodeError(f"field {tag} runs past the end")
        out[tag] = data[i + 4 : end]
        i = end
    return out


def parse(payload: str) -> BrCode:
    payload = payload.strip()
    if len(payload) < 8 or payload[-8:-4] != "6304":
        raise BrCodeError("the payload does not end with its CRC field (6304)")
    if crc16(payload[:-4]) != payload[-4:].upper():
        raise BrCodeError("the CRC does not match")
    top = _split(payload)
    if top.get("00") != "01":
        raise BrCodeError("payload format indicator 00 must be 01")
    account = _split(top.get("26", ""))
    if account.get("00", "").lower() != GUI:
        raise BrCodeError("merchant account 26 is not a PIX account")
    if "01" not in account:
        raise BrCodeError("merchant account 26 has no PIX key")
    if top.get("53") != "986" or top.get("58") != "BR":
        raise BrCodeError("a PIX code is in BRL (986) for BR")
    extra = _split(top.get("62", ""))
    return BrCode(
        key=account["01"],
        merchant_name=top.get("59", ""),
        merchant_city=top.get("60", ""),
        amount=Decimal(top["54"]) if "54" in top else None,
        txid=extra.get("05", "***"),
        description=account.get("02"),
        fields=top,
    )


def txid_for(charge_id: str) -> str:
    """A charge id (UUID) as a txid: its 25 last hex digits (letters and digits only, unique enough)."""
    return charge_id.replace("-", "")[-25:]


def qr_svg(payload: str) -> str:
    out = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(out, kind="svg", scale=5, border=2, xmldecl=False)
    return out.getvalue().decode()


def qr_png(payload: str) -> bytes:
    out = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(out, kind="png", scale=6, border=2)
    return out.getvalue()
