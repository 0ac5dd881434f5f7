"""Invoice PDFs (fpdf2): the platform's name, the customer, the lines and the totals, with the
same figures as the JSON invoice (both are formatted from the stored, rounded amounts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _latin1(text: object) -> str:
    # The PDF core fonts speak Latin-1; anything else prints as "?" rather than failing.
    return str(text).encode("latin-1", "replace").decode("latin-1")


def render(*, invoice: dict[str, Any], platform_name: str, customer_name: str) -> bytes:
    # Imported here: fpdf (with Pillow and fontTools) costs every process start otherwise.
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"Invoice {invoice['number']}"))
    pdf.set_author(_latin1(platform_name))
    pdf.set_creator("hcp billing")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin1(platform_name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    status = str(invoice["status"]).upper()
    for label, value in (("Invoice", invoice["number"]), ("Status", status), ("Customer", customer_name),
                         ("Period", invoice["period"]), ("Issued", invoice.get("issued_at") or "-"),
                         ("Currency", invoice["currency"])):
        pdf.cell(30, 6, _latin1(label), new_x="RIGHT", new_y="TOP")
        pdf.cell(0, 6, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = (86, 18, 28, 24, 34)
    pdf.set_font("Helvetica", "B", 9)
    for width, head in zip(widths, ("Description", "GPU", "GPU-hours", "Rate", "Amount USD"), strict=True):
        pdf.cell(width, 7, head, border="B", align="L" if head == "Description" else "R")
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    lines: Sequence[dict[str, Any]] = invoice.get("lines") or []
    for line in lines:
        cells = (str(line["description"])[:60], line["gpu_model"], line["quantity_hours"], line["rate_usd"],
                 line["amount_usd"])
        for width, value, align in zip(widths, cells, ("L", "R", "R", "R", "R"), strict=True):
            pdf.cell(width, 6, _latin1(value), align=align)
        pdf.ln()
    pdf.ln(3)
    pdf.set_font("Helvetica", "", 10)
    for label, value in (("Subtotal", invoice["subtotal_usd"]),
                         (f"Tax ({invoice['tax_rate']})", invoice["tax_usd"])):
        pdf.cell(sum(widths[:-1]), 6, _latin1(label), align="R")
        pdf.cell(widths[-1], 6, _latin1(value), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(sum(widths[:-1]), 8, "Total USD", align="R")
    pdf.cell(widths[-1], 8, _latin1(invoice["total_usd"]), align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
