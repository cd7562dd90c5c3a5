#!/usr/bin/env python3
"""Generate Dossier's bundled sample: a Maildir++ mailbox, a customer sheet and their README.

    python scripts/make_sample.py            # rewrites sample/
    python scripts/make_sample.py --out DIR  # writes the same tree under DIR

Everything is deterministic: fixed dates, fixed Message-IDs and MIME boundaries, hand-written
PDFs, and XLSX files re-packed with fixed zip timestamps, so re-running the script reproduces
the committed bytes (tests/test_sample.py checks this). Messages are written as bytes built here
rather than by ``email.generator`` so legacy encodings (GB2312, GBK, Big5, ISO-8859-1,
8bit bodies) come out exactly as old mail clients produce them, and so the output does not move
with the Python version. Lines end in LF.

All companies, people, domains and numbers are invented. Uses the stdlib and openpyxl only.
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import os
import quopri
import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote as url_quote

# openpyxl writes different (equally valid) XML when lxml is installed (python-docx brings it);
# the stdlib writer keeps the generated XLSX byte-identical on every machine.
os.environ["OPENPYXL_LXML"] = "False"

import openpyxl  # noqa: E402
from openpyxl.styles import Font  # noqa: E402
from openpyxl.writer.excel import ExcelWriter  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HOST = "dossier-sample"

OWN_DOMAIN = "northwind-trading.com"
ANNA = ("Anna Li", "anna.li@northwind-trading.com")
TOM = ("Tom Baker", "tom.baker@northwind-trading.com")

# Time zones of the people writing.
CST = timezone(timedelta(hours=8))     # Ningbo, Taipei
GMT = timezone(timedelta(hours=0))     # London, Bristol (winter)
BST = timezone(timedelta(hours=1))     # London (summer)
EST = timezone(timedelta(hours=-5))    # Acme, Dayton OH (winter)
EDT = timezone(timedelta(hours=-4))    # Acme (summer)
CET = timezone(timedelta(hours=1))     # Müller (winter)
CEST = timezone(timedelta(hours=2))    # Müller (summer)
BRT = timezone(timedelta(hours=-3))    # São Paulo


# --------------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------------

CUSTOMER_HEADER = ["name", "domains", "emails", "country", "notes", "owner"]
CUSTOMERS = [
    ["Acme Industrial", "acme-industrial.com", "laura.whitfield@acme-industrial.com",
     "United States", "Hydraulic fittings, buys FOB Ningbo. Sales office mails from sales.acme-industrial.com.",
     "tom.baker@northwind-trading.com"],
    ["宁波海通贸易有限公司 (Ningbo Haitong Trading)", "haitong-nb.cn",
     "chen.jianguo@haitong-nb.cn;wangfang@163.com", "China",
     "不锈钢法兰客户。采购助理王芳用 163.com 邮箱。", "anna.li@northwind-trading.com"],
    ["Müller Maschinenbau GmbH", "mueller-maschinen.de;mueller-maschinen.com",
     "j.hoffmann@mueller-maschinen.de", "Germany", "Spare parts for milling machines, 30 days net.",
     "tom.baker@northwind-trading.com"],
    ["Bristol Components Ltd", "bristol-components.co.uk", "", "United Kingdom",
     "Bearings, quarterly orders. Mail comes from mail.bristol-components.co.uk.",
     "tom.baker@northwind-trading.com"],
    ["台北精密股份有限公司 (Taipei Precision)", "taipei-precision.com.tw",
     "lin.zm@taipei-precision.com.tw", "Taiwan", "精密軸承 6204，繁體中文往來。",
     "anna.li@northwind-trading.com"],
    ["Mendes Importadora", "", "carlos.mendes.imports@gmail.com", "Brazil",
     "Carlos Mendes writes from Gmail only; link by address.", "tom.baker@northwind-trading.com"],
]


def customers_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CUSTOMER_HEADER)
    writer.writerows(CUSTOMERS)
    return out.getvalue().encode("utf-8")


# --------------------------------------------------------------------------------------------
# Attachments: hand-written PDFs, an openpyxl workbook re-packed deterministically, a CSV
# --------------------------------------------------------------------------------------------

def _pdf_escape(text: str) -> bytes:
    data = text.encode("cp1252")
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def make_pdf(title: str, lines: list[str], created: str) -> bytes:
    """A one-page PDF 1.4 with real text (Helvetica, WinAnsi), a correct xref and an Info dict.

    ``lines`` starting with "# " are set in bold at a larger size. ``created`` is a PDF date
    ("20240306093000Z").
    """
    ops = [b"BT", b"56 780 Td", b"16 TL"]
    for line in lines:
        if line.startswith("# "):
            ops.append(b"/F1 15 Tf (" + _pdf_escape(line[2:]) + b") Tj T* T*")
        else:
            ops.append(b"/F2 11 Tf (" + _pdf_escape(line) + b") Tj T*")
    ops.append(b"ET")
    stream = b"\n".join(ops) + b"\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"endstream",
        b"<< /Title (" + _pdf_escape(title) + b") /Author (Northwind Trading) "
        b"/Producer (Dossier sample generator) /CreationDate (D:" + created.encode() + b") >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += str(number).encode() + b" 0 obj\n" + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 " + str(len(objects) + 1).encode() + b"\n"
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += (b"trailer\n<< /Size " + str(len(objects) + 1).encode()
            + b" /Root 1 0 R /Info 7 0 R >>\nstartxref\n" + str(xref_at).encode() + b"\n%%EOF\n")
    return bytes(out)


QUOTATION_ACME_PDF = make_pdf("Quotation Q-2024-017", [
    "# QUOTATION Q-2024-017",
    "Northwind Trading Co., Ltd.  -  Ningbo office",
    "Date: 6 March 2024            Valid until: 5 April 2024",
    "To: Acme Industrial, attn. Laura Whitfield",
    "",
    "Item            Description                         Qty      Unit USD    Amount USD",
    "NW-JIC-04       JIC 37 deg male connector 1/4\"    2,000      2.10        4,200.00",
    "NW-JIC-06       JIC 37 deg male connector 3/8\"    1,800      2.45        4,410.00",
    "NW-JIC-08       JIC 37 deg male connector 1/2\"    1,200      3.24        3,890.00",
    "",
    "Total: USD 12,500.00 FOB Ningbo",
    "Payment terms: 30% T/T deposit, 70% against copy of B/L",
    "Lead time: 35 days after deposit. Samples free of charge.",
], "20240306093000Z")

PROFORMA_ACME_PDF = make_pdf("Proforma Invoice PI-2024-0412", [
    "# PROFORMA INVOICE PI-2024-0412",
    "Seller: Northwind Trading Co., Ltd., Ningbo, China",
    "Buyer: Acme Industrial, 1200 Industrial Parkway, Dayton OH, USA",
    "Your order: PO 4500-2291     Our quotation: Q-2024-017",
    "",
    "5,000 pcs JIC 37 deg hydraulic fittings (-04 / -06 / -08)",
    "Amount: USD 12,500.00 FOB Ningbo",
    "Deposit due (30%): USD 3,750.00     Balance (70%): USD 8,750.00 against B/L copy",
    "Beneficiary bank: Example Commercial Bank, Ningbo Branch, SWIFT EXAMCNXX",
    "Shipment: by sea, Ningbo to Savannah, ETD 10 May 2024",
], "20240403101500Z")

QUOTATION_HAITONG_PDF = make_pdf("Quotation Q-2023-031", [
    "# QUOTATION Q-2023-031",
    "Northwind Trading Co., Ltd.  -  Ningbo office",
    "Customer: Ningbo Haitong Trading Co., Ltd., attn. Chen Jianguo",
    "Date: 17 May 2023",
    "",
    "Stainless steel 304 slip-on flange DN50 PN16",
    "Quantity: 2,000 pcs     Unit price: CNY 38.50 incl. 13% VAT",
    "Total: CNY 77,000.00, delivered Ningbo",
    "Payment: 30% advance, balance before shipment",
    "Samples: 5 pcs sent by SF Express",
], "20230517150000Z")

PRICE_ROWS = [
    ("NW-7014-P4", "Spindle bearing 7014, precision class P4", "pc", 86.00, 10),
    ("NW-HC-DN12", "Hydraulic quick coupling DN12", "pc", 14.60, 50),
    ("NW-FL-DN50", "Slip-on flange DN50 PN16, stainless 304", "pc", 5.90, 200),
    ("NW-JIC-08", "JIC 37 deg male connector 1/2\"", "pc", 3.24, 500),
    ("NW-6204-ZZ", "Deep groove ball bearing 6204-ZZ", "pc", 0.48, 1000),
]

FIXED_ZIP_TIME = (2023, 9, 7, 9, 0, 0)
APP_XML = (b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
           b"<Application>Microsoft Excel</Application></Properties>")


def make_xlsx() -> bytes:
    """The Q3 2023 price list as XLSX, re-packed (stored, fixed timestamps) for stable bytes."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Price list Q3 2023"
    ws.append(["Northwind Trading - price list Q3 2023 (USD, FOB Ningbo)"])
    ws["A1"].font = Font(bold=True)
    ws.append([])
    ws.append(["Item", "Description", "Unit", "Price USD", "MOQ"])
    for row in PRICE_ROWS:
        ws.append(list(row))
    ws.column_dimensions["B"].width = 44
    stamp = datetime(2023, 9, 7, 9, 0, 0)
    wb.properties.creator = "Tom Baker"
    wb.properties.lastModifiedBy = "Tom Baker"
    wb.properties.title = "Northwind price list Q3 2023"
    wb.properties.created = stamp
    wb.properties.modified = stamp
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as archive:
        ExcelWriter(wb, archive).save()  # save_workbook() would stamp "modified" with now()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = APP_XML if info.filename == "docProps/app.xml" else src.read(info.filename)
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            fixed.create_system = 3
            fixed.external_attr = 0o644 << 16
            fixed.compress_type = zipfile.ZIP_STORED  # stored: no dependence on the zlib build
            dst.writestr(fixed, data)
    return out.getvalue()


def make_price_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["sku", "description", "unit", "price_usd_fob_ningbo", "moq"])
    for sku, desc, unit, price, moq in PRICE_ROWS:
        writer.writerow([sku, desc, unit, f"{price * 0.97:.2f}" if sku != "NW-6204-ZZ" else "0.46", moq])
    return out.getvalue().encode("utf-8")


# --------------------------------------------------------------------------------------------
# MIME building, by hand
# --------------------------------------------------------------------------------------------

def _q_encode(data: bytes) -> str:
    out = []
    for b in data:
        c = chr(b)
        if b == 0x20:
            out.append("_")
        elif c.isascii() and (c.isalnum() or c in "!*+-/"):
            out.append(c)
        else:
            out.append(f"={b:02X}")
    return "".join(out)


def encoded_words(text: str, charset: str = "utf-8", enc: str = "B") -> str:
    """RFC 2047 encoded words for ``text`` (each at most 75 chars, whole characters only)."""
    prefix = f"=?{charset}?{enc}?"

    def encode(chunk: str) -> str:
        data = chunk.encode(charset)
        body = base64.b64encode(data).decode() if enc == "B" else _q_encode(data)
        return prefix + body + "?="

    words, chunk = [], ""
    for ch in text:
        if chunk and len(encode(chunk + ch)) > 75:
            words.append(encode(chunk))
            chunk = ""
        chunk += ch
    if chunk:
        words.append(encode(chunk))
    return "\n ".join(words)


def header_text(text: str, charset: str = "utf-8", enc: str = "B") -> str:
    """``text`` as is when ASCII, else as encoded words."""
    return text if text.isascii() else encoded_words(text, charset, enc)


def format_address(name: str, email: str, charset: str = "utf-8", enc: str = "B") -> str:
    if not name:
        return email
    if not name.isascii():
        return f"{encoded_words(name, charset, enc)} <{email}>"
    if any(c in name for c in ',.;:@<>()[]"\\'):
        return f'"{name}" <{email}>'
    return f"{name} <{email}>"


def _body_bytes(data: bytes, cte: str) -> bytes:
    if cte == "base64":
        return base64.encodebytes(data)
    if cte == "quoted-printable":
        encoded = quopri.encodestring(data)
        return encoded if encoded.endswith(b"\n") else encoded + b"=\n"
    return data if data.endswith(b"\n") else data + b"\n"


@dataclass
class Part:
    headers: list[tuple[str, str]]
    body: bytes  # already transfer-encoded

    def render(self) -> bytes:
        head = "".join(f"{k}: {v}\n" for k, v in self.headers)
        return head.encode("ascii") + b"\n" + self.body


def text_part(text: str, *, subtype: str = "plain", charset: str = "utf-8",
              cte: str = "quoted-printable", quoted_charset: bool = True) -> Part:
    data = text.encode(charset)  # strict: a character the charset lacks is a bug here
    shown = f'"{charset}"' if quoted_charset else charset
    return Part([("Content-Type", f"text/{subtype}; charset={shown}"),
                 ("Content-Transfer-Encoding", cte)], _body_bytes(data, cte))


def attachment_part(data: bytes, ctype: str, filename: str) -> Part:
    if filename.isascii():
        ctype_line = f'{ctype}; name="{filename}"'
        disposition = f'attachment; filename="{filename}"'
    else:  # as Outlook/Foxmail send it: RFC 2047 in name=, RFC 2231 in filename*=
        ctype_line = f'{ctype};\n name="{encoded_words(filename)}"'
        disposition = f"attachment;\n filename*=UTF-8''{url_quote(filename, safe='.')}"
    return Part([("Content-Type", ctype_line), ("Content-Disposition", disposition),
                 ("Content-Transfer-Encoding", "base64")], base64.encodebytes(data))


def multipart(subtype: str, boundary: str, parts: list[Part]) -> Part:
    body = b"This is a multi-part message in MIME format.\n\n"
    for part in parts:
        body += b"--" + boundary.encode() + b"\n" + part.render() + b"\n"
    body += b"--" + boundary.encode() + b"--\n"
    return Part([("Content-Type", f'multipart/{subtype};\n boundary="{boundary}"')], body)


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------

@dataclass
class Mail:
    key: str
    folder: str                 # "" (INBOX), "Sent", "Customers.Acme", ...
    date: datetime
    sender: tuple[str, str]
    to: list[tuple[str, str]]
    subject: str
    message_id: str
    text: str                   # plain text of the body (used for quoting)
    part: Part | None = None    # the body; a QP UTF-8 text/plain of ``text`` when None
    cc: list[tuple[str, str]] = field(default_factory=list)
    parent: Mail | None = None
    subject_charset: str = "utf-8"
    subject_enc: str = "B"
    name_charset: str = "utf-8"
    name_enc: str = "B"
    extra: list[tuple[str, str]] = field(default_factory=list)
    new: bool = False           # in new/ (unread, no info suffix) rather than cur/
    flags: str = "S"
    copies: list[tuple[str, bool, str]] = field(default_factory=list)  # (folder, new, flags)

    @property
    def references(self) -> list[str]:
        if self.parent is None:
            return []
        return self.parent.references + [self.parent.message_id]

    def render(self) -> bytes:
        def addrs(items):
            return ",\n ".join(format_address(n, e, self.name_charset, self.name_enc) for n, e in items)

        headers = [
            ("Date", format_datetime(self.date)),
            ("From", format_address(*self.sender, self.name_charset, self.name_enc)),
            ("To", addrs(self.to)),
        ]
        if self.cc:
            headers.append(("Cc", addrs(self.cc)))
        headers.append(("Subject", header_text(self.subject, self.subject_charset, self.subject_enc)))
        headers.append(("Message-ID", self.message_id))
        if self.parent is not None:
            headers.append(("In-Reply-To", self.parent.message_id))
            headers.append(("References", "\n ".join(self.references)))
        headers.extend(self.extra)
        headers.append(("MIME-Version", "1.0"))
        part = self.part if self.part is not None else text_part(self.text)
        head = "".join(f"{k}: {v}\n" for k, v in headers).encode("ascii")
        return head + part.render()


def quote(mail: Mail, *, lang: str = "en") -> str:
    name, email = mail.sender
    d = mail.date
    if lang == "zh":
        intro = f"在 {d:%Y-%m-%d %H:%M}，{name} <{email}> 写道："
    elif lang == "zh-tw":
        intro = f"{name} <{email}> 於 {d:%Y/%m/%d %H:%M} 寫道："
    elif lang == "de":
        intro = f"Am {d.day:02d}.{d.month:02d}.{d.year} um {d:%H:%M} schrieb {name} <{email}>:"
    else:
        days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        intro = (f"On {days[d.weekday()]}, {d.day} {months[d.month - 1]} {d.year} at {d:%H:%M}, "
                 f"{name} <{email}> wrote:")
    lines = [("> " + line) if line else ">" for line in mail.text.rstrip("\n").split("\n")]
    return intro + "\n" + "\n".join(lines) + "\n"


def build_mails() -> list[Mail]:
    m: dict[str, Mail] = {}

    def add(mail: Mail) -> Mail:
        assert mail.key not in m, mail.key
        m[mail.key] = mail
        return mail

    # ---------------------------------------------------------------- Bristol Components (2023)
    laura = ("Laura Whitfield", "laura.whitfield@acme-industrial.com")
    greg = ("Greg Olsen", "greg.olsen@sales.acme-industrial.com")
    sarah = ("Sarah Pennington", "s.pennington@mail.bristol-components.co.uk")
    bristol_accounts = ("Bristol Components Accounts", "accounts@bristol-components.co.uk")
    chen = ("陈建国", "chen.jianguo@haitong-nb.cn")
    wangfang = ("王芳", "wangfang@163.com")
    juergen = ("Jürgen Hoffmann", "j.hoffmann@mueller-maschinen.de")
    lin = ("林志明", "lin.zm@taipei-precision.com.tw")
    carlos = ("Carlos Mendes", "carlos.mendes.imports@gmail.com")
    kevin = ("Kevin Zhao", "kzhao.sourcing@gmail.com")
    harbourline = ("Harbourline Freight Operations", "ops@harbourline-freight.com")
    liuyang = ("刘洋", "liu.yang.trade@163.com")

    text = (
        "Hi Sarah,\n\n"
        "As promised on the phone, attached is our price list for 2023 (price_list_2023.csv).\n"
        "Prices are in USD, FOB Ningbo, valid until 31 December 2023. For the 6204-ZZ bearings\n"
        "we can hold USD 0.46 per piece on orders of 10,000 pcs or more.\n\n"
        "Standard payment terms: 30% T/T deposit, balance against copy of B/L.\n\n"
        "Best regards,\nTom Baker\nNorthwind Trading - UK office\n")
    bc_prices = add(Mail(
        "bristol-pricelist", "Sent", datetime(2023, 2, 14, 11, 5, tzinfo=GMT), TOM, [sarah],
        "Northwind price list 2023", "<nw.20230214.1105.tb@northwind-trading.com>", text,
        part=multipart("mixed", "=_nw_bc_2023_pricelist", [
            text_part(text, cte="7bit"),
            attachment_part(make_price_csv(), "text/csv", "price_list_2023.csv"),
        ]),
        extra=[("X-Mailer", "Microsoft Outlook 16.0")]))

    text = (
        "Hi Tom,\n\n"
        "Thanks for the 2023 price list. Before we place our Q1 order:\n\n"
        "SKU         Qty     Target price\n"
        "NW-6204-ZZ  12,000  USD 0.44\n"
        "NW-HC-DN12  300     USD 13.90\n\n"
        "Could you quote DAP Bristol as well as FOB Ningbo? Our forwarder is slow out of Ningbo.\n\n"
        "Kind regards,\nSarah Pennington\nPurchasing Manager - Bristol Components Ltd\n")
    html = (
        "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\n"
        "<style>p { font-family: Calibri, sans-serif; } td { padding: 2px 8px; }</style></head>\n"
        "<body>\n<p>Hi Tom,</p>\n"
        "<p>Thanks for the 2023 price list. Before we place our <b>Q1 order</b>:</p>\n"
        "<table border=\"1\" cellspacing=\"0\">\n"
        "<tr><th>SKU</th><th>Qty</th><th>Target price</th></tr>\n"
        "<tr><td>NW-6204-ZZ</td><td>12,000</td><td>USD&nbsp;0.44</td></tr>\n"
        "<tr><td>NW-HC-DN12</td><td>300</td><td>USD&nbsp;13.90</td></tr>\n"
        "</table>\n"
        "<p>Could you quote <b>DAP Bristol</b> as well as FOB Ningbo? Our forwarder is slow out of "
        "Ningbo.</p>\n"
        "<p>Kind regards,<br>\nSarah Pennington<br>\nPurchasing Manager &ndash; Bristol Components Ltd</p>\n"
        "<div style=\"border-left: 2px solid #ccc; padding-left: 8px\">\n"
        "<p><b>From:</b> Tom Baker &lt;tom.baker@northwind-trading.com&gt;<br>\n"
        "<b>Sent:</b> 14 February 2023 11:05<br>\n<b>Subject:</b> Northwind price list 2023</p>\n"
        "<p>Hi Sarah, as promised on the phone, attached is our price list for 2023 &hellip;</p>\n"
        "</div>\n</body></html>\n")
    add(Mail(
        "bristol-reply-html", "", datetime(2023, 2, 20, 16, 42, tzinfo=GMT), sarah, [TOM],
        "Re: Northwind price list 2023", "<BCL-20230220164211.7Q2@mail.bristol-components.co.uk>", text,
        part=text_part(html, subtype="html"), parent=bc_prices,
        extra=[("X-Mailer", "Bristol Webmail 3.2")]))

    # ---------------------------------------------------------------- Ningbo Haitong (2023)
    text = (
        "李小姐，您好！\n\n"
        "我司有一批不锈钢法兰的采购需求，规格如下：\n"
        "- 材质：304 不锈钢\n"
        "- 规格：DN50 PN16，平焊法兰\n"
        "- 数量：2000 件\n"
        "- 交货地点：宁波\n\n"
        "请报含税单价和交期，如方便请附报价单。另需 5 件样品做检验。\n\n"
        "谢谢！\n陈建国\n采购部\n宁波海通贸易有限公司\n电话：0574-8765 4321\n")
    ht_rfq = add(Mail(
        "haitong-rfq", "Customers.Haitong", datetime(2023, 5, 16, 10, 20, tzinfo=CST), chen, [ANNA],
        "询价：不锈钢法兰 DN50", "<202305161020418812301@haitong-nb.cn>", text,
        part=text_part(text, cte="base64"),
        extra=[("X-Mailer", "Foxmail 7.2.25.228[cn]")], flags="RS"))

    text = (
        "陈经理，您好！\n\n"
        "感谢询价。附件是我们的报价单（编号 Q-2023-031），要点如下：\n"
        "- 304 不锈钢 DN50 PN16 平焊法兰，单价 RMB 38.50（含 13% 增值税）\n"
        "- 2000 件合计 RMB 77,000.00\n"
        "- 交期：收到预付款后 25 天\n"
        "- 付款方式：30% 预付款，余款发货前付清\n\n"
        "5 件样品已安排顺丰寄出，预计后天到。\n\n"
        "此致\n李安娜\nNorthwind Trading 宁波办事处\n\n")
    text += quote(ht_rfq, lang="zh")
    ht_quote = add(Mail(
        "haitong-quote", "Sent", datetime(2023, 5, 17, 15, 5, tzinfo=CST), ANNA, [chen],
        "回复：询价：不锈钢法兰 DN50", "<nw.20230517.1505.al@northwind-trading.com>", text,
        part=multipart("mixed", "=_nw_ht_2023_quote", [
            text_part(text, cte="base64"),
            attachment_part(QUOTATION_HAITONG_PDF, "application/pdf", "报价单.pdf"),
        ]),
        parent=ht_rfq, extra=[("X-Mailer", "Foxmail 7.2.25.228[cn]")]))

    text = (
        "李小姐：\n\n"
        "样品已收到，质检部门检验合格。我是海通的采购助理王芳，以后订单相关事宜请同时抄送我。\n\n"
        "请确认：如果数量增加到 3000 件，单价能否降到 36 元？\n\n"
        "王芳\n宁波海通贸易有限公司\n\n")
    text += quote(ht_quote, lang="zh")
    add(Mail(
        "haitong-samples-gb2312", "Customers.Haitong", datetime(2023, 5, 25, 9, 12, tzinfo=CST),
        wangfang, [ANNA], "回复: 询价：不锈钢法兰 DN50",
        "<4a1c2e.7d3f.1884f0c2a1b.Coremail.wangfang@163.com>", text,
        part=text_part(text, charset="gb2312", cte="8bit", quoted_charset=False),
        cc=[chen], parent=ht_quote, subject_charset="gb2312", name_charset="gb2312",
        extra=[("X-Mailer", "Coremail Webmail Server Version XT5.0.13")], flags="RS"))

    text = (
        "李小姐：\n\n"
        "经确认，我司下单如下：\n"
        "订单号：PO-HT-230612\n"
        "品名：304 不锈钢平焊法兰 DN50 PN16\n"
        "数量：3000 件\n"
        "单价：RMB 36.00（含税）\n"
        "总金额：RMB 108,000.00\n"
        "付款方式：30% 预付款，余款发货前付清\n"
        "交货：宁波，2023 年 7 月 10 日前\n\n"
        "请回传盖章的形式发票（PI）。\n\n"
        "王芳\n宁波海通贸易有限公司（财务联系人：刘喆）\n")
    ht_order = add(Mail(
        "haitong-order-gbk", "Customers.Haitong", datetime(2023, 6, 12, 14, 30, tzinfo=CST),
        wangfang, [ANNA], "订单确认 PO-HT-230612",
        "<5b2d3f.8e4a.188af13b2c4.Coremail.wangfang@163.com>", text,
        part=text_part(text, charset="GBK", cte="base64", quoted_charset=False),
        cc=[chen], subject_charset="GBK", name_charset="GBK",
        extra=[("X-Mailer", "Coremail Webmail Server Version XT5.0.13")], flags="RS"))

    text = (
        "王芳，您好：\n\n"
        "订单 PO-HT-230612 已收到，谢谢！形式发票 PI-2023-0613 今天下午发出，"
        "预付款到账后安排生产，7 月 10 日前交货没有问题。\n\n"
        "李安娜\nNorthwind Trading 宁波办事处\n\n")
    text += quote(ht_order, lang="zh")
    add(Mail(
        "haitong-order-ack", "Sent", datetime(2023, 6, 13, 10, 2, tzinfo=CST), ANNA, [wangfang],
        "回复：订单确认 PO-HT-230612", "<nw.20230613.1002.al@northwind-trading.com>", text,
        cc=[chen], parent=ht_order, extra=[("X-Mailer", "Foxmail 7.2.25.228[cn]")]))

    # ---------------------------------------------------------------- internal (2023)
    text = (
        "Tom,\n\n"
        "Haitong confirmed PO-HT-230612: 3,000 flanges DN50 at RMB 36.00 incl. VAT\n"
        "(RMB 108,000 in total). Our cost is about RMB 31 a piece, so the margin drops to\n"
        "roughly 14% - they asked for the discount on the larger quantity. OK to accept?\n"
        "I'd like to keep them: they hinted at a yearly frame agreement.\n\n"
        "Anna\n")
    internal = add(Mail(
        "internal-margin", "Sent", datetime(2023, 6, 13, 11, 40, tzinfo=CST), ANNA, [TOM],
        "Haitong order PO-HT-230612 – margin check", "<nw.20230613.1140.al@northwind-trading.com>",
        text, extra=[("X-Mailer", "Foxmail 7.2.25.228[cn]")]))

    text = (
        "Fine by me - accept it. Please make sure the deposit is in before we order the\n"
        "raw material; stainless prices are moving.\n\nTom\n\n") + quote(internal)
    add(Mail(
        "internal-margin-reply", "", datetime(2023, 6, 13, 8, 15, tzinfo=BST), TOM, [ANNA],
        "Re: Haitong order PO-HT-230612 – margin check", "<nw.20230613.0815.tb@northwind-trading.com>",
        text, parent=internal, extra=[("X-Mailer", "Microsoft Outlook 16.0")]))

    # ---------------------------------------------------------------- Müller (2023)
    text = (
        "Sehr geehrter Herr Baker,\n\n"
        "für unsere Fräsmaschine FM-400 benötigen wir kurzfristig Ersatzteile:\n"
        "- 20 Stück Spindellager 7014 (Präzisionsklasse P4)\n"
        "- 50 Stück Hydraulikkupplungen DN12\n\n"
        "Bitte senden Sie uns Ihre aktuelle Preisliste und die Lieferzeit nach Stuttgart.\n\n"
        "Mit freundlichen Grüßen\n"
        "Jürgen Hoffmann\nEinkauf\nMüller Maschinenbau GmbH\n")
    mu_rfq = add(Mail(
        "mueller-rfq-latin1", "", datetime(2023, 9, 5, 9, 30, tzinfo=CEST), juergen, [TOM],
        "Anfrage Ersatzteile für Fräsmaschine", "<000901d9dfc3$4a1b2c30$de4f8490$@mueller-maschinen.de>",
        text, part=text_part(text, charset="iso-8859-1"),
        subject_charset="iso-8859-1", subject_enc="Q", name_charset="iso-8859-1", name_enc="Q",
        extra=[("X-Mailer", "Microsoft Outlook 14.0"), ("Content-Language", "de")], flags="RS"))

    text = (
        "Dear Mr Hoffmann,\n\n"
        "Thank you for your enquiry. Our current price list is attached\n"
        "(Northwind_PriceList_2023-Q3.xlsx). For your FM-400:\n\n"
        "- Spindellager 7014 P4 (NW-7014-P4): USD 86.00 each, 20 pcs = USD 1,720.00\n"
        "- Hydraulic quick coupling DN12 (NW-HC-DN12): USD 14.60 each, 50 pcs = USD 730.00\n\n"
        "Lead time 3 weeks; we can deliver DAP Stuttgart by air for an extra USD 180.\n"
        "Payment: 30 days net, as agreed for Müller Maschinenbau.\n\n"
        "Kind regards,\nTom Baker\nNorthwind Trading\n\n") + quote(mu_rfq)
    mu_quote = add(Mail(
        "mueller-quote-xlsx", "Sent", datetime(2023, 9, 7, 10, 15, tzinfo=BST), TOM, [juergen],
        "Re: Anfrage Ersatzteile für Fräsmaschine", "<nw.20230907.1015.tb@northwind-trading.com>", text,
        part=multipart("mixed", "=_nw_mu_2023_xlsx", [
            text_part(text),
            attachment_part(make_xlsx(),
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            "Northwind_PriceList_2023-Q3.xlsx"),
        ]),
        parent=mu_rfq, subject_enc="Q", extra=[("X-Mailer", "Microsoft Outlook 16.0")]))

    text = (
        "Sehr geehrter Herr Baker,\n\n"
        "vielen Dank für das Angebot. Wir bestellen hiermit (Bestellnummer B-23-0917):\n"
        "- 20 Stück Spindellager 7014 P4 à USD 86,00\n"
        "- 50 Stück Hydraulikkupplungen DN12 à USD 14,60\n"
        "Lieferung DAP Stuttgart per Luftfracht, Zahlungsziel 30 Tage netto.\n\n"
        "Bitte bestätigen Sie den Liefertermin.\n\n"
        "Mit freundlichen Grüßen\nJürgen Hoffmann\n\n") + quote(mu_quote, lang="de")
    add(Mail(
        "mueller-order", "", datetime(2023, 9, 12, 8, 50, tzinfo=CEST), juergen, [TOM],
        "AW: Anfrage Ersatzteile für Fräsmaschine", "<000a01d9e52b$1c2d3e40$5a6b7c80$@mueller-maschinen.de>",
        text, parent=mu_quote,
        extra=[("X-Mailer", "Microsoft Outlook 16.0"), ("Content-Language", "de")], flags="RS"))

    # ---------------------------------------------------------------- Acme (2024)
    text = (
        "Hello Tom,\n\n"
        "We are planning our Q2 purchase of hydraulic fittings and would like your best price for:\n\n"
        "- JIC 37° male connector 1/4\" (-04): 2,000 pcs\n"
        "- JIC 37° male connector 3/8\" (-06): 1,800 pcs\n"
        "- JIC 37° male connector 1/2\" (-08): 1,200 pcs\n\n"
        "Please quote FOB Ningbo with lead time and payment terms.\n\n"
        "Thanks,\nLaura Whitfield\nProcurement Lead, Acme Industrial\n"
        "1200 Industrial Parkway, Dayton OH\n")
    acme_rfq = add(Mail(
        "acme-rfq", "Customers.Acme", datetime(2024, 3, 4, 9, 15, tzinfo=EST), laura, [TOM],
        "RFQ: hydraulic fittings for Q2", "<20240304141502.51c7a9@acme-industrial.com>", text,
        extra=[("X-Mailer", "Microsoft Outlook 16.0")], flags="RS"))

    text = (
        "Hi Laura,\n\n"
        "Thanks for the RFQ. Our quotation Q-2024-017 is attached:\n\n"
        "Total for 5,000 pcs: USD 12,500 FOB Ningbo\n"
        "Payment terms: 30% T/T deposit, 70% against copy of B/L\n"
        "Lead time: 35 days after deposit; quotation valid until 5 April 2024.\n\n"
        "Happy to send free samples of each size if your QA team wants to check them first.\n\n"
        "Best regards,\nTom Baker\nNorthwind Trading\n\n") + quote(acme_rfq)
    acme_quote = add(Mail(
        "acme-quote-pdf", "Sent", datetime(2024, 3, 6, 9, 31, tzinfo=GMT), TOM, [laura],
        "Re: RFQ: hydraulic fittings for Q2", "<nw.20240306.0931.tb@northwind-trading.com>", text,
        part=multipart("mixed", "=_nw_acme_2024_quote", [
            text_part(text),
            attachment_part(QUOTATION_ACME_PDF, "application/pdf", "Quotation_Q-2024-017.pdf"),
        ]),
        parent=acme_rfq, extra=[("X-Mailer", "Microsoft Outlook 16.0")]))

    text = (
        "Hi Tom,\n\n"
        "Greg from Acme's sales office here - Laura asked me to handle the samples.\n"
        "Before we confirm the order, please send 10 samples of each size (-04, -06, -08) to:\n\n"
        "Acme Industrial - QA Lab\n1200 Industrial Parkway, Dayton OH 45400\n\n"
        "Our DHL account for the courier: 950001234.\n\n"
        "Thanks,\nGreg Olsen\n\n") + quote(acme_quote)
    html = (
        "<html><body style=\"font-family: Arial, sans-serif\">\n"
        "<p>Hi Tom,</p>\n"
        "<p>Greg from Acme's sales office here &ndash; Laura asked me to handle the <b>samples</b>.<br>\n"
        "Before we confirm the order, please send <b>10 samples of each size</b> (-04, -06, -08) to:</p>\n"
        "<p>Acme Industrial &ndash; QA Lab<br>1200 Industrial Parkway, Dayton OH 45400</p>\n"
        "<p>Our DHL account for the courier: 950001234.</p>\n"
        "<p>Thanks,<br>Greg Olsen</p>\n"
        "<blockquote type=\"cite\">Hi Laura, thanks for the RFQ. Our quotation Q-2024-017 is attached "
        "&hellip;</blockquote>\n</body></html>\n")
    acme_samples = add(Mail(
        "acme-samples-alt", "Customers.Acme", datetime(2024, 3, 8, 14, 2, tzinfo=EST), greg, [TOM],
        "Re: RFQ: hydraulic fittings for Q2", "<20240308190211.8e0b44@sales.acme-industrial.com>", text,
        part=multipart("alternative", "=_acme_alt_20240308", [
            text_part(text), text_part(html, subtype="html"),
        ]),
        cc=[laura], parent=acme_quote, extra=[("X-Mailer", "Apple Mail (2.3774.400.31)")], flags="RS"))

    text = (
        "Hi Greg,\n\n"
        "The samples left our Ningbo warehouse today by DHL Express, AWB 1234 5678 90 -\n"
        "10 pcs each of -04, -06 and -08 (30 pcs in total), charged to your account 950001234.\n"
        "Expected delivery in Dayton: 14–15 March.\n\n"
        "Best regards,\nTom\n\n") + quote(acme_samples)
    add(Mail(
        "acme-samples-sent", "Sent", datetime(2024, 3, 11, 10, 0, tzinfo=GMT), TOM, [greg],
        "Re: RFQ: hydraulic fittings for Q2", "<nw.20240311.1000.tb@northwind-trading.com>", text,
        cc=[laura], parent=acme_samples, extra=[("X-Mailer", "Microsoft Outlook 16.0")]))

    text = (
        "Hi Tom,\n\n"
        "The samples passed QA. Please find our purchase order PO 4500-2291 below:\n\n"
        "5,000 pcs JIC 37° fittings as per your quotation Q-2024-017\n"
        "Amount: USD 12,500 FOB Ningbo\n"
        "Payment: 30% T/T deposit, 70% against copy of B/L\n"
        "Required ETD: by 10 May 2024, port of discharge Savannah\n\n"
        "Please send your proforma invoice so we can release the deposit.\n\n"
        "Thanks,\nLaura\n")
    acme_po = add(Mail(
        "acme-po", "Customers.Acme", datetime(2024, 4, 2, 11, 48, tzinfo=EDT), laura, [TOM],
        "PO 4500-2291 – hydraulic fittings", "<20240402154801.a03f12@acme-industrial.com>", text,
        part=text_part(text, cte="base64"),
        extra=[("X-Mailer", "Microsoft Outlook 16.0")], flags="RS", copies=[("", False, "S")]))

    text = (
        "Hi Laura,\n\n"
        "Thank you for PO 4500-2291. Attached is our proforma invoice PI-2024-0412 for\n"
        "USD 12,500 FOB Ningbo; the 30% deposit is USD 3,750.\n"
        "Production starts as soon as the deposit arrives; ETD 10 May 2024 is confirmed.\n\n"
        "Best regards,\nTom Baker\n\n") + quote(acme_po)
    add(Mail(
        "acme-proforma-pdf", "Sent", datetime(2024, 4, 3, 10, 15, tzinfo=BST), TOM, [laura],
        "Re: PO 4500-2291 – hydraulic fittings", "<nw.20240403.1015.tb@northwind-trading.com>", text,
        part=multipart("mixed", "=_nw_acme_2024_pi", [
            text_part(text),
            attachment_part(PROFORMA_ACME_PDF, "application/pdf", "PI-2024-0412.pdf"),
        ]),
        parent=acme_po, extra=[("X-Mailer", "Microsoft Outlook 16.0")]))

    # ---------------------------------------------------------------- unknown parties (2024)
    text = (
        "Hello Anna,\n\n"
        "I found Northwind Trading at the Canton Fair. I am sourcing stainless flanges\n"
        "(DN25 to DN80, PN16) for a project in Vietnam, about 5,000 pcs in total.\n"
        "Do you have a catalogue and your best price?\n\n"
        "Kevin Zhao\n")
    kz = add(Mail(
        "unknown-gmail-lead", "", datetime(2024, 5, 8, 22, 41, tzinfo=CST), kevin, [ANNA],
        "Looking for supplier of stainless flanges",
        "<CAKx9fQ2w7Lr0pHbT1vZs8e4mNd3yU6aJc5oGt@mail.gmail.com>", text,
        part=multipart("alternative", "000000000000a1b2c3d4e5f60718", [
            text_part(text, quoted_charset=False),
            text_part("<div dir=\"ltr\">" + text.replace("\n", "<br>\n") + "</div>\n", subtype="html",
                      quoted_charset=False),
        ]), flags="RS"))

    text = (
        "Dear Kevin,\n\n"
        "Thank you for your interest. Our flange range covers DN15 to DN300; for 5,000 pcs\n"
        "of DN50 PN16 in 304 we are around USD 5.90 a piece FOB Ningbo. Could you send\n"
        "your drawing and the size breakdown so I can prepare a formal quotation?\n\n"
        "Best regards,\nAnna Li\nNorthwind Trading - Ningbo office\n\n") + quote(kz)
    add(Mail(
        "unknown-gmail-reply", "Sent", datetime(2024, 5, 9, 9, 12, tzinfo=CST), ANNA, [kevin],
        "Re: Looking for supplier of stainless flanges", "<nw.20240509.0912.al@northwind-trading.com>",
        text, parent=kz, extra=[("X-Mailer", "Foxmail 7.2.25.228[cn]")]))

    # ---------------------------------------------------------------- Taipei Precision (2024)
    text = (
        "李小姐您好：\n\n"
        "本公司需要 6204-ZZ 精密軸承，年用量約 50,000 個。請提供報價單及 20 個樣品供測試。\n"
        "交貨條件請報 FOB 寧波 與 CIF 基隆 兩種價格。\n\n"
        "謝謝！\n林志明\n採購課\n台北精密股份有限公司\n")
    tp_rfq = add(Mail(
        "taipei-rfq-big5", "Customers.Taipei", datetime(2024, 7, 22, 10, 0, tzinfo=CST), lin, [ANNA],
        "詢價：精密軸承 6204 樣品", "<20240722100004.3318@taipei-precision.com.tw>", text,
        part=text_part(text, charset="big5", cte="base64", quoted_charset=False),
        subject_charset="big5", name_charset="big5",
        extra=[("X-Mailer", "Microsoft Outlook 16.0")], flags="RS"))

    text = (
        "林先生您好：\n\n"
        "感謝詢價。6204-ZZ 精密軸承報價如下：\n"
        "- FOB 寧波：每個 USD 0.48\n"
        "- CIF 基隆：每個 USD 0.52\n"
        "最小訂購量 10,000 個，交期 30 天。20 個樣品已於今天寄出。\n\n"
        "李安娜\nNorthwind Trading 寧波辦事處\n\n") + quote(tp_rfq, lang="zh-tw")
    tp_quote = add(Mail(
        "taipei-quote", "Sent", datetime(2024, 7, 23, 16, 20, tzinfo=CST), ANNA, [lin],
        "回覆：詢價：精密軸承 6204 樣品", "<nw.20240723.1620.al@northwind-trading.com>", text,
        part=text_part(text, cte="base64"), parent=tp_rfq,
        extra=[("X-Mailer", "Foxmail 7.2.25.228[cn]")]))

    text = (
        "李小姐您好：\n\n"
        "樣品測試合格。首批訂單 10,000 個，訂單號 TP-240805，CIF 基隆，每個 USD 0.52。\n"
        "付款條件：T/T 出貨前付清。請寄形式發票。\n\n"
        "林志明\n\n") + quote(tp_quote, lang="zh-tw")
    add(Mail(
        "taipei-order", "Customers.Taipei", datetime(2024, 8, 5, 9, 5, tzinfo=CST), lin, [ANNA],
        "回覆：詢價：精密軸承 6204 樣品", "<20240805090517.4471@taipei-precision.com.tw>", text,
        parent=tp_quote, extra=[("X-Mailer", "Microsoft Outlook 16.0")], new=True))

    # ---------------------------------------------------------------- freight forwarder (unlinked)
    text = (
        "Dear customer,\n\n"
        "Please note the updated vessel schedule Ningbo - Felixstowe for September:\n\n"
        "MV Northern Lights  V.2437W  ETD Ningbo 18 Sep  ETA Felixstowe 21 Oct\n"
        "MV Amber Coast      V.2438W  ETD Ningbo 25 Sep  ETA Felixstowe 28 Oct\n\n"
        "Cut-off for documents is 48 hours before ETD.\n\n"
        "Harbourline Freight - Operations\n")
    add(Mail(
        "unknown-company-freight", "", datetime(2024, 9, 10, 7, 30, tzinfo=GMT), harbourline, [TOM],
        "Vessel schedule update: Ningbo - Felixstowe", "<sched-2437.20240910073000@harbourline-freight.com>",
        text, part=text_part(text, cte="7bit"), extra=[("X-Mailer", "Harbourline Notify 2.1")]))

    # ---------------------------------------------------------------- Mendes Importadora (gmail)
    text = (
        "Hi Tom,\n\n"
        "For our November order NW-BR-2410 we need 1 x 40' HC container, Ningbo to Santos.\n"
        "Can you book it for ETD around 5 November? Our broker needs the packing list\n"
        "at least a week before arrival.\n\n"
        "Abraços,\nCarlos Mendes\nMendes Importadora - São Paulo\n")
    cm_booking = add(Mail(
        "gmail-customer-booking", "", datetime(2024, 10, 2, 15, 20, tzinfo=BRT), carlos, [TOM],
        "Container booking for November order", "<CAJm5Tn0pQ8zR2vW6yX1cB4dE7fG9hK3LsAuV@mail.gmail.com>",
        text, part=text_part(text, quoted_charset=False), flags="RS"))

    text = (
        "Hi Carlos,\n\n"
        "Booked: 1 x 40' HC on MV Amber Coast, ETD Ningbo 5 November, ETA Santos around\n"
        "12 December. Packing list and commercial invoice will follow with the B/L draft.\n"
        "Balance of USD 18,200 is due against the B/L copy as usual.\n\n"
        "Cheers,\nTom\n\n") + quote(cm_booking)
    add(Mail(
        "gmail-customer-reply", "Sent", datetime(2024, 10, 3, 9, 45, tzinfo=BST), TOM, [carlos],
        "Re: Container booking for November order", "<nw.20241003.0945.tb@northwind-trading.com>",
        text, parent=cm_booking, extra=[("X-Mailer", "Microsoft Outlook 16.0")]))

    # ---------------------------------------------------------------- two customers at once
    text = (
        "Dear Laura, dear Mr Hoffmann,\n\n"
        "Northwind Trading will exhibit at Hannover Messe 2025 (hall 5, stand B12, 31 March -\n"
        "4 April). We will show our new range of hydraulic fittings and spindle bearings and\n"
        "would be glad to meet you there. Free visitor tickets are available on request.\n\n"
        "Best regards,\nTom Baker\nNorthwind Trading\n")
    add(Mail(
        "two-customers-invite", "Sent", datetime(2024, 11, 19, 14, 0, tzinfo=GMT), TOM, [laura],
        "Invitation: meet Northwind at Hannover Messe 2025", "<nw.20241119.1400.tb@northwind-trading.com>",
        text, cc=[juergen], part=text_part(text, cte="7bit"),
        extra=[("X-Mailer", "Microsoft Outlook 16.0")]))

    text = (
        "陈经理转李小姐：\n\n"
        "2025 年我司预计采购不锈钢法兰约 20,000 件（DN25–DN80），希望与贵司签订年度框架协议，"
        "价格按季度调整，付款方式仍为 30% 预付款。\n"
        "请在 12 月 20 日前提供框架协议草案和 2025 年报价单。\n\n"
        "陈建国\n宁波海通贸易有限公司\n")
    add(Mail(
        "haitong-frame-2025", "Customers.Haitong", datetime(2024, 12, 10, 16, 45, tzinfo=CST), chen,
        [ANNA], "2025年度框架协议", "<202412101645339901872@haitong-nb.cn>", text,
        part=text_part(text, cte="base64"), extra=[("X-Mailer", "Foxmail 7.2.25.228[cn]")], new=True))

    # ---------------------------------------------------------------- 2025
    text = (
        "Dear Tom,\n\n"
        "Remittance advice: today we paid invoice NW-24-0187 by SWIFT transfer.\n\n"
        "Invoice       Amount\n"
        "NW-24-0187    USD 9,870.00\n\n"
        "Value date 9 January 2025. Please confirm receipt.\n\n"
        "Bristol Components Ltd - Accounts Payable\n")
    add(Mail(
        "bristol-remittance", "", datetime(2025, 1, 9, 13, 10, tzinfo=GMT), bristol_accounts, [TOM],
        "Remittance advice – invoice NW-24-0187", "<remit.20250109131002.77@bristol-components.co.uk>",
        text, subject_enc="Q", extra=[("X-Mailer", "SAP Business One")]))

    text = (
        "Hi Tom,\n\n"
        "Payment sent today: USD 18,200, the balance for order NW-BR-2410 (B/L NBSS2411053).\n"
        "The containers cleared customs in Santos without problems - thanks!\n\n"
        "Carlos\n")
    add(Mail(
        "gmail-customer-payment", "", datetime(2025, 2, 17, 11, 5, tzinfo=BRT), carlos, [TOM],
        "Payment sent – USD 18,200 balance", "<CAJm5Tn3kV1bX9cQ4wE6rT8yU0iO2pA7sDfGh@mail.gmail.com>",
        text, part=text_part(text, quoted_charset=False)))

    text = (
        "李经理您好：\n\n"
        "我是一家五金配件贸易公司的业务员刘洋，在阿里巴巴看到贵司信息，想咨询不锈钢法兰"
        "和轴承的出口合作，是否可以提供产品目录和报价单？\n\n"
        "刘洋\n")
    add(Mail(
        "unknown-163-lead", "", datetime(2025, 3, 3, 20, 18, tzinfo=CST), liuyang, [ANNA],
        "合作咨询：五金配件出口", "<6c3e4f.9a5b.195a2b3c4d5.Coremail.liu.yang.trade@163.com>", text,
        part=text_part(text, cte="base64"),
        extra=[("X-Mailer", "Coremail Webmail Server Version XT5.0.14")], new=True))

    text = (
        "Hello Tom,\n\n"
        "Time to reorder. Based on PO 4500-2291 last year we need 8,000 pcs of the JIC 37°\n"
        "fittings (-04 / -06 / -08) for Q3 2025. Do your 2024 prices still hold?\n\n"
        "Thanks,\nLaura\n")
    acme_reorder = add(Mail(
        "acme-reorder", "Customers.Acme", datetime(2025, 5, 6, 10, 30, tzinfo=EDT), laura, [TOM],
        "Reorder: hydraulic fittings 2025", "<20250506143012.c41d07@acme-industrial.com>", text,
        extra=[("X-Mailer", "Microsoft Outlook 16.0")], new=True))

    text = (
        "Hi Laura,\n\n"
        "Good to hear from you. Steel costs went up, so prices are about 4% higher than in 2024:\n"
        "USD 13,000 for the 5,000-piece mix, still FOB Ningbo with 30% deposit. A formal\n"
        "quotation Q-2025-022 for the 8,000 pcs follows tomorrow.\n\n"
        "Best regards,\nTom\n\n") + quote(acme_reorder)
    add(Mail(
        "acme-reorder-reply", "Sent", datetime(2025, 5, 7, 9, 5, tzinfo=BST), TOM, [laura],
        "Re: Reorder: hydraulic fittings 2025", "<nw.20250507.0905.tb@northwind-trading.com>", text,
        parent=acme_reorder, extra=[("X-Mailer", "Microsoft Outlook 16.0")], new=True))

    text = (
        "Hi Tom,\n\n"
        "Our order BC-7781 (12,000 x NW-6204-ZZ) was due in Bristol on 28 May and has not\n"
        "arrived. Could you check with the forwarder and send us the tracking details?\n"
        "We need at least 4,000 pcs by 16 June.\n\n"
        "Kind regards,\nSarah\n")
    add(Mail(
        "bristol-delay", "", datetime(2025, 6, 3, 9, 12, tzinfo=BST), sarah, [TOM],
        "Delivery delay on order BC-7781", "<BCL-20250603091207.2KX@mail.bristol-components.co.uk>",
        text, extra=[("X-Mailer", "Bristol Webmail 3.4")], new=True))

    return list(m.values())


# --------------------------------------------------------------------------------------------
# Writing the tree
# --------------------------------------------------------------------------------------------

FOLDERS = ["", "Sent", "Customers.Acme", "Customers.Haitong", "Customers.Taipei"]


def folder_dir(mailbox: Path, folder: str) -> Path:
    return mailbox if not folder else mailbox / ("." + folder)


def write_mailbox(mailbox: Path, mails: list[Mail]) -> None:
    for folder in FOLDERS:
        base = folder_dir(mailbox, folder)
        for sub in ("cur", "new", "tmp"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        # Git keeps no empty directories; readers never look into tmp/.
        (base / "tmp" / ".gitkeep").write_bytes(b"")
        if folder:
            (base / "maildirfolder").write_bytes(b"")  # Maildir++ marks subfolders so
    seq = 0
    for mail in mails:
        data = mail.render()
        for folder, new, flags in [(mail.folder, mail.new, mail.flags)] + mail.copies:
            seq += 1
            name = f"{int(mail.date.timestamp())}.M{seq}P1.{HOST}"
            path = folder_dir(mailbox, folder) / ("new" if new else "cur") / (
                name if new else f"{name}:2,{flags}")
            path.write_bytes(data)


def generate(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    mailbox = out / "mailbox"
    if mailbox.exists():
        shutil.rmtree(mailbox)
    mails = build_mails()
    for folder in FOLDERS:  # every folder needs a file in new/ and cur/ to survive git
        assert any(m.folder == folder and m.new for m in mails), folder
        assert any(m.folder == folder and not m.new for m in mails), folder
    write_mailbox(mailbox, mails)
    (out / "customers.csv").write_bytes(customers_csv())
    (out / "README.md").write_bytes(README.encode("utf-8"))


README = """\
# The Dossier sample

Generated by `scripts/make_sample.py` (do not edit by hand: change the script and re-run it;
`tests/test_sample.py` checks the two agree). Everything here is invented: the companies,
people, domains, addresses, prices and order numbers.

## What it is

One shared mailbox of **Northwind Trading** (own domain `northwind-trading.com`), a trading
company with two sales reps, Anna Li (`anna.li@northwind-trading.com`, Ningbo office) and Tom
Baker (`tom.baker@northwind-trading.com`, UK office). 34 messages, February 2023 to June 2025,
in a Maildir++ tree:

| folder | on disk | holds |
|---|---|---|
| INBOX | `mailbox/cur`, `mailbox/new` | incoming mail (12 files) |
| Sent | `mailbox/.Sent/` | both reps' outgoing mail (13) |
| Customers/Acme | `mailbox/.Customers.Acme/` | mail filed for Acme Industrial (4) |
| Customers/Haitong | `mailbox/.Customers.Haitong/` | mail filed for Ningbo Haitong (4) |
| Customers/Taipei | `mailbox/.Customers.Taipei/` | mail filed for Taipei Precision (2) |

That is 35 files: Acme's order "PO 4500-2291 – hydraulic fittings" is filed both in INBOX and in
Customers/Acme (identical bytes, so one message with two copies). `tmp/.gitkeep` files keep the
empty `tmp/` directories in git; each folder has at least one unread message in `new/`.

`customers.csv` lists six customers (the `owner` column names the rep in charge of each):

| customer | domains | contact addresses |
|---|---|---|
| Acme Industrial | acme-industrial.com | laura.whitfield@acme-industrial.com |
| 宁波海通贸易有限公司 (Ningbo Haitong Trading) | haitong-nb.cn | chen.jianguo@haitong-nb.cn; wangfang@163.com |
| Müller Maschinenbau GmbH | mueller-maschinen.de; mueller-maschinen.com | j.hoffmann@mueller-maschinen.de |
| Bristol Components Ltd | bristol-components.co.uk | – |
| 台北精密股份有限公司 (Taipei Precision) | taipei-precision.com.tw | lin.zm@taipei-precision.com.tw |
| Mendes Importadora | – | carlos.mendes.imports@gmail.com |

What the linking rules should make of it:

- Acme's sales office writes from `sales.acme-industrial.com`, Bristol from
  `mail.bristol-components.co.uk`: both link by their registrable domain.
- Wang Fang of Ningbo Haitong writes from `wangfang@163.com`, a free-mail address: it links
  because the address itself is listed. `liu.yang.trade@163.com` (an unknown lead) must not link
  to Haitong, and `kzhao.sourcing@gmail.com` must not link to Mendes Importadora.
- Mail from `harbourline-freight.com`, a forwarder not in the sheet, stays unlinked.
- Two messages pass only between Anna and Tom: internal, linked to nobody.
- Tom's Hannover Messe invitation goes to Acme (To) and Müller (Cc): linked to both.

What the decoder meets: UTF-8 in base64, quoted-printable and 7bit; Simplified Chinese in
GB2312 with a raw 8bit body and GBK in base64 (with `=?gb2312?B?…?=` / `=?GBK?B?…?=` subjects
and names); Traditional Chinese in Big5; a German ISO-8859-1 message with
`=?iso-8859-1?Q?…?=` subject and sender name; an HTML-only message (Bristol, with a `<style>`
block and a table); multipart/alternative (Acme's sales office, a Gmail lead); reply prefixes
`Re:`, `AW:`, `回复：`, `回复: ` and `回覆：` with `> ` quoted text; threads joined by
Message-ID, In-Reply-To and References.

Attachments: `Quotation_Q-2024-017.pdf` and `PI-2024-0412.pdf` (Acme), `报价单.pdf` (Haitong; its
name comes as RFC 2231 `filename*=UTF-8''%E6%8A%A5%E4%BB%B7%E5%8D%95.pdf`),
`Northwind_PriceList_2023-Q3.xlsx` (Müller) and `price_list_2023.csv` (Bristol). The PDFs hold
real text (e.g. "QUOTATION Q-2024-017 … Total: USD 12,500.00 FOB Ningbo").

## Try it

Load `customers.csv`, then the mailbox, with `northwind-trading.com` as your own domain, then
search (the first command of the project's README does exactly this):

```sh
dossier init --own-domain northwind-trading.com
dossier customers import sample/customers.csv
dossier import sample/mailbox --account sample
```

Quoted replies carry their parent's words, so a thread's replies match too.

| query | finds |
|---|---|
| `dossier search "FOB Ningbo"` | 11 messages: the Acme thread (RFQ, quotation with `Quotation_Q-2024-017.pdf`, Greg's sample request, samples sent, PO 4500-2291, proforma, 2025 reorder reply), Bristol's 2023 price list and Sarah's HTML reply, Anna's reply to Kevin Zhao, and Tom's reply to Müller whose XLSX price list says it (found in the attachment's text) |
| `dossier search proforma` | Acme's PO 4500-2291 (asks for it) and Tom's reply carrying `PI-2024-0412.pdf` |
| `dossier search Fräsmaschine` | the Müller thread: the ISO-8859-1 enquiry, Tom's reply with the XLSX price list, the `AW:` order |
| `dossier search 报价单` | 8 messages: Haitong's enquiry, Anna's reply with `报价单.pdf`, Wang Fang's GB2312 reply quoting it, the 2025 frame-agreement mail, the unlinked 163.com lead, and Taipei Precision's three (報價單, Traditional) |
| `dossier search 样品` | 6 messages: the three Haitong ones about the five samples (UTF-8 and GB2312) and, as Traditional and Simplified find each other, Taipei Precision's three |
| `dossier search 樣品` | the same 6: Taipei Precision's three (Traditional; the first one in Big5) and Haitong's three |
| `dossier search Felixstowe` | the forwarder's vessel schedule, linked to no customer |
| `dossier search Hannover` | Tom's invitation, linked to both Acme Industrial and Müller Maschinenbau |
| `dossier search --customer Haitong` | Haitong's 6 messages, including Wang Fang's two from 163.com; not the 163.com lead, not the internal margin check |
| `dossier search --customer Mendes` | Carlos Mendes's 3 Gmail messages, not Kevin Zhao's Gmail enquiry |
| `dossier search --from acme-industrial.com` | 4 messages: Laura's three and Greg's from `sales.acme-industrial.com` |
| `dossier search 订单 --since 2023-06-01 --until 2023-07-01` | Haitong's order PO-HT-230612 (GBK) and Anna's reply |
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "sample",
                        help="directory to write mailbox/, customers.csv and README.md into")
    args = parser.parse_args()
    generate(args.out)


if __name__ == "__main__":
    main()
