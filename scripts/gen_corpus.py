#!/usr/bin/env python3
"""Generate a realistic archive of N messages as Maildir and mbox, with ground truth (seeded, deterministic).

The world: an own company (northwind-trading.com) with several reps, each with a mailbox of
folders (INBOX, Sent, Customers.<region>, Archive); a few hundred customer companies (domains,
mail from subdomains, a sales subsidiary that is a customer of its own), customers on free mail,
and a domain shared by two customers. Threads with quoted replies and several recipients; about
a third Chinese (UTF-8, GB2312, GBK, Big5 in Traditional script, encoded-word subjects and names),
some HTML-only, about 10% with small real PDF / XLSX / DOCX / CSV quotations whose text holds
words found nowhere else; newsletters and internal mail; median a few KB with a tail of large ones.

Writes, under OUT:
  maildir/<rep>/...              Maildir++ per rep (folders as .Sent, .Customers.Asia, ...)
  mbox/<rep>.<folder>.mbox       the same messages as mbox files
  customers.csv                  name, domains, emails, country, notes
  truth.json                     {"messages": {Message-ID: [customer names]}, "queries": [...]}
                                 each query: {"q": text, "kind": ..., "expected": [Message-ID, ...]}

    python scripts/gen_corpus.py OUT [--messages 10000] [--seed 7]
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import random
import sys
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_sample import Part, attachment_part, format_address, header_text, make_pdf, multipart, text_part  # noqa: E402

OWN = "northwind-trading.com"
REPS = [("Anna Li", "anna.li"), ("Tom Baker", "tom.baker"), ("Chen Wei", "chen.wei"),
        ("Maria Rossi", "maria.rossi"), ("Ben Okafor", "ben.okafor")]
FOLDERS = ["", "Sent", "Customers.Asia", "Customers.Europe", "Archive"]
FREEMAIL = ["gmail.com", "qq.com", "163.com", "126.com", "foxmail.com", "outlook.com", "yahoo.com.tw"]
TLDS = ["com", "cn", "com.cn", "co.uk", "de", "com.tw", "it", "fr"]
SUBDOMAINS = ["", "", "", "mail.", "cn.", "eu.mail."]
EN_WORDS = ("quotation price offer sample order shipment invoice pump valve flange steel delivery container "
            "payment terms discount catalogue specification drawing tolerance forwarder packing pallet "
            "inspection certificate warranty bearing gasket casting machining coating galvanized stainless "
            "schedule confirm please attached revised urgent lead time balance deposit freight insurance "
            "customs clearance carton label barcode model series pressure rating thread diameter").split()
ZH_SIMPLIFIED = ("我们的产品质量很好请确认订单交货期付款方式谢谢您的询价样品已经寄出请查收报价单价格包装运输"
                 "检验证书保修轴承垫片铸件加工涂层镀锌不锈钢计划尽快附件修改紧急定金余款运费保险清关纸箱标签型号系列压力")
ZH_TRADITIONAL = ("我們的產品質量很好請確認訂單交貨期付款方式謝謝您的詢價樣品已經寄出請查收報價單價格包裝運輸"
                  "檢驗證書保修軸承墊片鑄件加工塗層鍍鋅不鏽鋼計劃盡快附件修改緊急定金餘款運費保險清關紙箱標籤型號系列壓力")
# Code characters: found in no filler text, in GB2312 and Big5, (Simplified, Traditional).
CODE_CHARS = [("锦", "錦"), ("鸿", "鴻"), ("龙", "龍"), ("凤", "鳳"), ("丰", "豐"), ("华", "華"), ("兴", "興"),
              ("达", "達"), ("顺", "順"), ("泰", "泰"), ("宝", "寶"), ("盛", "盛"), ("荣", "榮"), ("昌", "昌"),
              ("隆", "隆"), ("鑫", "鑫"), ("源", "源"), ("恒", "恆"), ("辉", "輝"), ("腾", "騰")]
SYLLABLES = "ka ro vi tel mun dra sef pol zen quo rix bam lor tus fen gav hul nor pex sim".split()
CHARSETS = ["utf-8", "utf-8", "gb2312", "gbk", "big5"]


@dataclass
class Customer:
    name: str
    domains: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    country: str = ""


@dataclass
class Counterpart:
    """Someone a rep writes with, and the customers a message with them belongs to."""

    name: str
    email: str
    truth: frozenset[str]
    is_chinese: bool


class Words:
    """Unique pseudo-words (letters only) that occur nowhere else in the archive."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.used = rng, set(EN_WORDS)

    def new(self, prefix: str = "") -> str:
        while True:
            word = prefix + "".join(self.rng.choice(SYLLABLES) for _ in range(3))
            if word not in self.used:
                self.used.add(word)
                return word


def make_world(rng: random.Random, count: int) -> tuple[list[Customer], list[Counterpart]]:
    customers: list[Customer] = []
    people: list[Counterpart] = []
    words = Words(rng)
    n = max(60, min(400, count // 25))
    for i in range(n):
        kind = i % 20
        if kind < 15:  # a company; some mail comes from subdomains
            zh = i % 3 == 0
            domain = f"{words.new()}-{rng.choice(['trading', 'industrial', 'tech', 'group'])}.{rng.choice(TLDS)}"
            name = f"{domain.split('.')[0].title()} {'有限公司' if zh else 'Ltd'}"
            customers.append(Customer(name, [domain], [], "China" if zh else "Germany"))
            for p in range(3):
                host = rng.choice(SUBDOMAINS) + domain
                person = f"{'王李张刘陈'[p]}{'伟芳娜敏静'[i % 5]}" if zh else f"Buyer{p} {name.split()[0]}"
                people.append(Counterpart(person, f"p{p}@{host}", frozenset([name]), zh))
            if kind == 0:  # a sales subsidiary with its own customer record
                sub = f"sales.{domain}"
                sname = f"{name} Sales"
                customers.append(Customer(sname, [sub], [], "China"))
                people.append(Counterpart("Sales desk", f"desk@{sub}", frozenset([sname]), zh))
        elif kind < 19:  # a person on free mail
            zh = i % 2 == 0
            address = f"{words.new()}{i}@{rng.choice(FREEMAIL)}"
            name = f"{'赵钱孙周吴'[i % 5]}先生" if zh else f"Person {i}"
            customers.append(Customer(name, [], [address], "China" if zh else "Italy"))
            people.append(Counterpart(name, address, frozenset([name]), zh))
        else:  # a domain two customers share: one owns the domain, the other is known by its
            # contact's address (a customer sheet row naming a domain another row owns updates
            # that customer, so the sheet cannot give the domain to both)
            domain = f"{words.new()}-hub.com"
            a, b = f"Hub {i} North", f"Hub {i} South"
            customers.append(Customer(a, [domain], []))
            customers.append(Customer(b, [], [f"boss@{domain}"]))
            people.append(Counterpart(f"Staff {i}", f"staff@{domain}", frozenset([a]), False))
            people.append(Counterpart(f"Boss {i}", f"boss@{domain}", frozenset([b]), False))
    return customers, people


# --- attachments ---------------------------------------------------------------------------

FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)


def _repack(data: bytes) -> bytes:
    """Re-pack an OOXML zip with fixed timestamps, so the output is a function of the seed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            fixed.external_attr = 0o644 << 16
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def make_attachment(kind: str, term: str, rng: random.Random) -> tuple[str, bytes, str]:
    """(file name, bytes, MIME type) of a quotation whose text holds ``term``."""
    rows = [(f"NW-{rng.randrange(1000, 9999)}", rng.choice(EN_WORDS), round(rng.uniform(0.5, 900), 2))
            for _ in range(rng.randint(3, 12))]
    stamp = datetime(2024, 1, 1)
    if kind == "pdf":
        lines = ["# QUOTATION", f"Reference {term}", ""] + [f"{s}  {d}  USD {p:.2f}" for s, d, p in rows]
        return f"quotation-{rng.randrange(10000)}.pdf", make_pdf("Quotation", lines, "20240101000000Z"), \
            "application/pdf"
    if kind == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["sku", "description", "price_usd", "note"])
        for s, d, p in rows:
            writer.writerow([s, d, p, term])
        return f"prices-{rng.randrange(10000)}.csv", out.getvalue().encode(), "text/csv"
    if kind == "xlsx":
        import openpyxl
        from openpyxl.writer.excel import ExcelWriter

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(["Price list", term])
        for row in rows:
            ws.append(list(row))
        wb.properties.created = wb.properties.modified = stamp
        raw = io.BytesIO()
        with zipfile.ZipFile(raw, "w") as archive:  # save() would stamp "modified" with now()
            ExcelWriter(wb, archive).save()
        return f"pricelist-{rng.randrange(10000)}.xlsx", _repack(raw.getvalue()), \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    import docx

    doc = docx.Document()
    doc.add_heading("Proforma invoice", 1)
    doc.add_paragraph(f"Project {term}")
    for s, d, p in rows:
        doc.add_paragraph(f"{s} {d} USD {p:.2f}")
    doc.core_properties.created = doc.core_properties.modified = stamp
    raw = io.BytesIO()
    doc.save(raw)
    return f"proforma-{rng.randrange(10000)}.docx", _repack(raw.getvalue()), \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# --- messages ------------------------------------------------------------------------------

@dataclass
class Mail:
    rep: str
    folder: str
    data: bytes
    message_id: str
    date: datetime


def _filler(rng: random.Random, charset: str, paragraphs: int) -> str:
    out = []
    for _ in range(paragraphs):
        if charset == "ascii" or rng.random() < 0.35:
            out.append(" ".join(rng.choices(EN_WORDS, k=rng.randint(15, 45))).capitalize() + ".")
        else:
            pool = ZH_TRADITIONAL if charset == "big5" else ZH_SIMPLIFIED
            out.append("".join(rng.choices(pool, k=rng.randint(20, 70))) + "。")
    return "\n\n".join(out)


def _quote(text: str, sender: str, date: datetime, charset: str) -> str:
    if charset == "big5":
        return f"\n\n------------------ 原始郵件 ------------------\n寄件者: {sender}\n\n{text}"
    if charset != "ascii":
        return f"\n\n------------------ 原始邮件 ------------------\n发件人: {sender}\n\n{text}"
    return f"\n\nOn {format_datetime(date)}, {sender} wrote:\n" + "\n".join("> " + line for line in text.splitlines())


def _html(text: str) -> str:
    paras = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n"))
    return f"<html><body>{paras}</body></html>"


def render(*, sender: tuple[str, str], to: list[tuple[str, str]], cc: list[tuple[str, str]], subject: str,
           date: datetime, message_id: str, parent_ids: list[str], text: str, charset: str, is_html: bool,
           attachments: list[tuple[str, bytes, str]], extra: list[tuple[str, str]]) -> bytes:
    enc = "Q" if charset in ("gb2312", "big5") else "B"

    def addrs(items):
        # Names are Simplified Chinese: in a Big5 message they come as UTF-8 encoded words.
        name_charset = charset if charset in ("gb2312", "gbk") else "utf-8"
        return ",\n ".join(format_address(n, e, name_charset, enc) for n, e in items)

    headers = [("Date", format_datetime(date)), ("From", addrs([sender])), ("To", addrs(to))]
    if cc:
        headers.append(("Cc", addrs(cc)))
    headers.append(("Subject", header_text(subject, "utf-8" if charset == "ascii" else charset, enc)))
    headers.append(("Message-ID", message_id))
    if parent_ids:
        headers.append(("In-Reply-To", parent_ids[-1]))
        headers.append(("References", "\n ".join(parent_ids[-10:])))
    headers.extend(extra)
    headers.append(("MIME-Version", "1.0"))
    body_charset = "utf-8" if charset == "ascii" else charset
    cte = "quoted-printable" if body_charset == "utf-8" else "base64"
    part: Part = text_part(_html(text) if is_html else text, subtype="html" if is_html else "plain",
                           charset=body_charset, cte=cte)
    if attachments:
        part = multipart("mixed", f"=_b{zlib.crc32(message_id.encode()):08x}",
                         [part] + [attachment_part(d, t, n) for n, d, t in attachments])
    head = "".join(f"{k}: {v}\n" for k, v in headers).encode("ascii")
    return head + part.render()


def generate(out: Path, count: int, seed: int) -> dict:
    rng = random.Random(seed)
    customers, people = make_world(rng, count)
    words = Words(random.Random(seed + 1))
    attach_pool: list[tuple[tuple[str, bytes, str], str]] = []  # ((name, data, type), term)
    for k in range(max(8, min(60, count // 150))):
        term = words.new("att")
        attach_pool.append((make_attachment(["pdf", "xlsx", "docx", "csv"][k % 4], term, rng), term))
    truth: dict[str, list[str]] = {}
    en_codes: dict[str, list[str]] = {}
    zh_codes: dict[tuple[str, str], list[str]] = {}
    att_hits: dict[str, list[str]] = {}
    start = datetime(2023, 1, 2, 8, 0, tzinfo=timezone.utc)
    n = 0
    thread_no = 0
    writers = _Writers(out)
    while n < count:
        roll = rng.random()
        rep_name, rep_login = rng.choice(REPS)
        rep = (rep_name, f"{rep_login}@{OWN}")
        if roll < 0.06:  # internal note between reps
            other = rng.choice([r for r in REPS if r[1] != rep_login])
            data = render(sender=rep, to=[(other[0], f"{other[1]}@{OWN}")], cc=[], subject="Internal: "
                          + " ".join(rng.choices(EN_WORDS, k=4)), date=start + timedelta(minutes=11 * n),
                          message_id=f"<i{n}.{seed}@{OWN}>", parent_ids=[], text=_filler(rng, "ascii", 2),
                          charset="ascii", is_html=False, attachments=[], extra=[])
            writers.add(Mail(rep_login, "", data, f"<i{n}.{seed}@{OWN}>", start))
            truth[f"<i{n}.{seed}@{OWN}>"] = []
            n += 1
            continue
        if roll < 0.10:  # a newsletter from a customer's domain: bulk, not linked
            who = rng.choice([p for p in people[:50]])
            host = who.email.split("@")[1]
            mid = f"<nl{n}.{seed}@{host}>"
            data = render(sender=("Newsletter", f"news@{host}"), to=[rep], cc=[], subject="Monthly news "
                          + rng.choice(EN_WORDS), date=start + timedelta(minutes=11 * n), message_id=mid,
                          parent_ids=[], text=_filler(rng, "ascii", 3), charset="ascii", is_html=True,
                          attachments=[], extra=[("List-Unsubscribe", f"<mailto:unsub@{host}>"),
                                                 ("Precedence", "bulk")])
            writers.add(Mail(rep_login, "", data, mid, start))
            truth[mid] = []
            n += 1
            continue
        # A thread with a counterpart.
        thread_no += 1
        who = rng.choice(people)
        chinese = who.is_chinese and rng.random() < 0.85
        charset = rng.choice(CHARSETS) if chinese else "ascii"
        code = words.new()
        zh_code = None
        if chinese and len(zh_codes) < 400:
            while True:
                picks = rng.sample(range(len(CODE_CHARS)), rng.choice([3, 3, 4]))
                key = ("".join(CODE_CHARS[i][0] for i in picks), "".join(CODE_CHARS[i][1] for i in picks))
                if key not in zh_codes:
                    break
            zh_code = key
        zh_subject = ""
        if chinese:
            pool = ZH_TRADITIONAL if charset == "big5" else ZH_SIMPLIFIED
            zh_subject = "".join(rng.choices(pool, k=rng.randint(4, 8)))
        code_text = (zh_code[1] if charset == "big5" else zh_code[0]) if zh_code else ""
        subject = f"{code} {zh_subject}{code_text}".strip() if chinese else \
            f"{code} {' '.join(rng.choices(EN_WORDS, k=rng.randint(2, 6)))}"
        length = rng.choice([1, 1, 2, 2, 3, 4, 6])
        ids: list[str] = []
        prev_text, prev_sender = "", ""
        region = "Customers.Asia" if who.is_chinese else "Customers.Europe"
        for step in range(min(length, count - n)):
            inbound = step % 2 == 0
            date = start + timedelta(minutes=11 * n + step)
            mid = f"<t{thread_no}.{step}.{seed}@{who.email.split('@')[1] if inbound else OWN}>"
            paragraphs = rng.randint(1, 9)
            if rng.random() < 0.02:
                paragraphs = rng.randint(60, 400)  # the tail of large messages
            text = (code_text + "\n\n" if code_text else "") + f"Ref {code}.\n\n" + _filler(rng, charset, paragraphs)
            if prev_text:
                text += _quote(prev_text, prev_sender, date, charset)
            attachments = []
            if rng.random() < 0.10:
                (att, term) = rng.choice(attach_pool)
                attachments.append(att)
                att_hits.setdefault(term, []).append(mid)
            cc = []
            if rng.random() < 0.3:
                other = rng.choice(REPS)
                cc.append((other[0], f"{other[1]}@{OWN}"))
            sender, to = ((who.name, who.email), [rep]) if inbound else (rep, [(who.name, who.email)])
            data = render(sender=sender, to=to, cc=cc, subject=("Re: " if step else "") + subject, date=date,
                          message_id=mid, parent_ids=list(ids), text=text, charset=charset,
                          is_html=rng.random() < 0.1, attachments=attachments, extra=[])
            folder = rng.choice(["", "", region, "Archive"]) if inbound else "Sent"
            writers.add(Mail(rep_login, folder, data, mid, date))
            truth[mid] = sorted(who.truth)
            en_codes.setdefault(code, []).append(mid)
            if zh_code:
                zh_codes.setdefault(zh_code, []).append(mid)
            ids.append(mid)
            prev_text, prev_sender = text, sender[1]
            n += 1
    writers.close()

    queries = []
    q_rng = random.Random(seed + 2)
    for code in q_rng.sample(sorted(en_codes), min(200, len(en_codes))):
        queries.append({"q": code, "kind": "en", "expected": en_codes[code]})
    for (simp, trad) in q_rng.sample(sorted(zh_codes), min(120, len(zh_codes))):
        queries.append({"q": simp, "kind": "zh", "expected": zh_codes[(simp, trad)]})
        if len(simp) == 3 and q_rng.random() < 0.3:
            queries.append({"q": trad, "kind": "zh-traditional", "expected": zh_codes[(simp, trad)]})
    for term in sorted(att_hits):
        queries.append({"q": term, "kind": "attachment", "expected": att_hits[term]})

    with open(out / "customers.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "domains", "emails", "country", "notes"])
        for c in customers:
            writer.writerow([c.name, ";".join(c.domains), ";".join(c.emails), c.country, ""])
    summary = {"messages": n, "seed": seed, "customers": len(customers), "queries": len(queries)}
    (out / "truth.json").write_text(json.dumps({"summary": summary, "messages": truth, "queries": queries},
                                               ensure_ascii=False))
    return summary


class _Writers:
    """Writes each mail into its rep's Maildir folder and the matching mbox file, streaming."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.mboxes: dict[tuple[str, str], object] = {}
        self.seq = 0
        self.made: set[Path] = set()

    def add(self, mail: Mail) -> None:
        self.seq += 1
        base = self.out / "maildir" / mail.rep
        folder = base / ("." + mail.folder if mail.folder else "")
        if folder not in self.made:
            for sub in ("cur", "new", "tmp"):
                (folder / sub).mkdir(parents=True, exist_ok=True)
            if mail.folder:
                (folder / "maildirfolder").write_bytes(b"")
            self.made.add(folder)
        (folder / "cur" / f"{1700000000 + self.seq}.M{self.seq}P1.gen:2,S").write_bytes(mail.data)
        key = (mail.rep, mail.folder or "INBOX")
        fh = self.mboxes.get(key)
        if fh is None:
            (self.out / "mbox").mkdir(parents=True, exist_ok=True)
            fh = self.mboxes[key] = open(self.out / "mbox" / f"{key[0]}.{key[1]}.mbox", "wb")
        body = b"\n".join(b">" + line if line.startswith((b"From ", b">From ")) else line
                          for line in mail.data.split(b"\n"))
        fh.write(b"From MAILER-DAEMON " + time.asctime(time.gmtime(0)).encode() + b"\n" + body.rstrip(b"\n")
                 + b"\n\n")

    def close(self) -> None:
        for fh in self.mboxes.values():
            fh.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        raise SystemExit(f"{args.out} is not empty")
    args.out.mkdir(parents=True, exist_ok=True)
    print(json.dumps(generate(args.out, args.messages, args.seed)))


if __name__ == "__main__":
    main()
