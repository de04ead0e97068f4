"""BR Code: built codes decode to their fields with a valid CRC; broken codes are refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments import pix

#: The static example of the BCB's "Manual de Padrões para Iniciação do Pix" (its CRC is 1D3D).
BCB_EXAMPLE = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR"
    "5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)


def test_crc16_ccitt_false_check_value() -> None:
    assert pix.crc16("123456789") == "29B1"


def test_the_central_bank_example_decodes() -> None:
    code = pix.parse(BCB_EXAMPLE)
    assert code.key == "123e4567-e12b-12d1-a456-426655440000"
    assert (code.merchant_name, code.merchant_city, code.amount, code.txid) == (
        "Fulano de Tal",
        "BRASILIA",
        None,
        "***",
    )


def test_a_charge_code_carries_its_fields() -> None:
    payload = pix.build(
        key="pagamentos@clinica.com.br",
        merchant_name="Clínica Estética São João da Boa Vista",
        merchant_city="São José dos Campos",
        amount=Decimal("315.00"),
        txid=pix.txid_for("0193a0d0-2222-7b00-8c00-0000000000b2"),
    )
    assert payload.startswith("00020101021226")
    assert payload[-8:-4] == "6304"
    assert pix.crc16(payload[:-4]) == payload[-4:]
    code = pix.parse(payload)
    assert code.key == "pagamentos@clinica.com.br"
    assert code.merchant_name == "Clinica Estetica Sao Joao"  # ASCII, at most 25 characters
    assert code.merchant_city == "Sao Jose dos Ca"  # at most 15
    assert code.amount == Decimal("315.00")
    assert code.txid == "022227b008c000000000000b2"
    assert code.fields is not None
    assert (code.fields["52"], code.fields["53"], code.fields["58"]) == ("0000", "986", "BR")


@pytest.mark.parametrize("position", [10, 40, 60])
def test_a_changed_character_breaks_the_crc(position: int) -> None:
    payload = pix.build(key="k@x.com", merchant_name="A", merchant_city="B", amount=Decimal("1.00"), txid="T1")
    flipped = payload[:position] + ("X" if payload[position] != "X" else "Y") + payload[position + 1 :]
    with pytest.raises(pix.BrCodeError):
        pix.parse(flipped)


def test_layout_errors_are_refused() -> None:
    for bad in ("", "6304ABCD", BCB_EXAMPLE[:-8] + "6304", "hello world"):
        with pytest.raises(pix.BrCodeError):
            pix.parse(bad)
    with pytest.raises(pix.BrCodeError):
        pix.build(key="k", merchant_name="A", merchant_city="B", amount=None, txid="with-dash")


@given(
    amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999.99"), places=2),
    txid=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=25),
    name=st.text(min_size=1, max_size=60),
)
def test_build_then_parse_round_trips(amount: Decimal, txid: str, name: str) -> None:
    payload = pix.build(key="+5511987654321", merchant_name=name, merchant_city="Rio", amount=amount, txid=txid)
    code = pix.parse(payload)
    assert (code.amount, code.txid, code.key) == (amount, txid, "+5511987654321")
    assert payload.isascii()


def test_qr_code_renders_as_svg_and_png() -> None:
    payload = pix.build(key="k@x.com", merchant_name="A", merchant_city="B", amount=Decimal("1.00"), txid="T1")
    assert pix.qr_svg(payload).lstrip().startswith("<svg")
    assert pix.qr_png(payload).startswith(b"\x89PNG")
