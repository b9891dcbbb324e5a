"""Write the fictional corpus's PDF and Word documents from the text kept in this file.

Run with the project's environment (needs fpdf2 and python-docx):

    .venv/bin/python sample_corpus/fictional/build_binary_docs.py

The text lives here, not in the binary files, so that it can be reviewed and edited in a diff. Re-running the
script rewrites the three files with fixed metadata dates, so unchanged text gives the same content.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

DOCS = Path(__file__).resolve().parent / "docs"
FIXED_DATE = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)

# Each document is written in a tiny markup: "# " a title, "## " a heading, "- " a bulleted item, "---" a
# page break (PDF only), anything else a paragraph. Blocks are separated by blank lines; lines within a block
# are joined with spaces. The PDFs use the core Helvetica font, so their text must stay within Latin-1 (which
# is why they write "euros", not the euro sign).

BENEFITS_GUIDE = """\
# Tansywick Growworks - Employee Benefits Guide 2024

This guide summarises the benefits available to employees of Tansywick Growworks from 1 January 2024. It
applies to everyone on a permanent or fixed-term contract of six months or more. The full terms are in
your contract and in the Burrow HR system; where this guide and your contract differ, your contract
applies.

## Pension

All employees are enrolled in the Tansywick pension plan, run by Fernhill Pension Trust, after one month
of employment. Tansywick contributes 6 percent of your basic salary. If you contribute more than the
minimum of 4 percent, the company matches each extra percentage point up to a total employer
contribution of 9 percent.

You can change your own contribution once a month in Burrow. Changes made before the 10th of the month
apply to that month's salary.

## Health insurance

Private health insurance is provided by Brightwater Mutual and covers you from your first day. Partners
and children under 21 can be added at a cost of 40 euros a month per person, deducted from salary. The
plan includes an annual health check for employees over 40 and unlimited access to a 24-hour online
doctor service.

Eye tests are refunded up to 60 euros every two years for anyone who works at a screen.

---

## Learning and development

Every employee has a personal learning budget of 1,200 euros per calendar year for courses, books,
conferences and certifications related to their work. Unused budget does not carry over to the next
year. Requests above the annual budget, such as a part-time degree, are considered by the Head of People
and may be repaid in part if you leave within 18 months of finishing the course.

In addition, every team has four learning days a year that can be used for internal workshops,
conferences or time to study.

## Product discount

Employees receive a 40 percent discount on Tansywick gardens and accessories, for up to two gardens a
year. Mossline nutrient pods are free for employees, up to three packs a month, collected from the
Lantern Quay office or the Marrowgate shop.

## Wellbeing and travel to work

- Wellbeing allowance: 300 euros a year for sports clubs, gyms, classes or equipment.

- Cycle to work: the company buys a bicycle and accessories worth up to 1,500 euros, which you repay
  from your gross salary over 12 months.

- Public transport: an interest-free loan for an annual season ticket, repaid over 10 months.

- Employee assistance: free and confidential counselling, up to six sessions per issue.

---

## Time away

Annual leave, parental leave and other paid leave are described in the leave and holidays section of the
staff handbook. After five years of continuous service, employees may take a sabbatical of up to eight
weeks, of which the first two weeks are paid. A sabbatical must be requested at least four months in
advance.

## Recognition

Each quarter, colleagues nominate peers for the Golden Trowel award. The three winners receive a voucher
of 150 euros and an extra day of leave. Long service is celebrated with a gift at five, ten and fifteen
years; at ten years the gift is an engraved brass trowel made in Veyholm.

## Questions

Questions about benefits go to the People team on #ask-people or to benefits@tansywick.example. This
guide is reviewed every year by the Head of People, Pim Vandersloot.
"""


SAFETY_GUIDE = """\
# Sproutvault Safety and Installation Guide

This guide applies to the Sproutvault S3 and the Sproutvault Tower T9. Read it before you set up your
garden and keep it for later reference. Document number SG-0219, edition 5, January 2024.

## Electrical safety

- Use only the power adapter supplied with your garden. The S3 adapter delivers 12 V and the T9 adapter
  delivers 24 V.

- Plug the adapter into a socket at least 1 metre away from any sink or tap, and never with wet hands.

- Unplug the garden before emptying or cleaning the reservoir, and before moving it.

- Do not use an extension reel that is wound up; unwind it completely to prevent overheating.

## Choosing a place

Place the garden on a flat, level surface that can carry its full weight: about 8 kg for a filled S3 and
about 31 kg for a filled and planted T9. Leave at least 10 cm of free space behind the S3 and at least
20 cm around the T9 so that air can flow around the lamps.

The ideal room temperature is between 18 and 26 degrees Celsius. Below 12 degrees Celsius most plants
stop growing; the garden shows a cold warning in the app when the water temperature falls below this.

---

## Light and eyes

The LED lamps are bright. Do not look directly into a lamp from less than 50 cm. For the Tower T9, set
the lamp panels to the lowest position when young children are nearby, or use the child mode in the
Greenledger app, which limits brightness to 40 percent.

## Water and nutrients

- Fill the reservoir with cold tap water only; water above 30 degrees Celsius can damage the pump seal.

- Use only Mossline nutrient pods. Store pods out of reach of children and pets.

- Wipe up spilled water at once: the base of the T9 is not waterproof and the floor beneath can become
  slippery.

## Children and pets

Secure the Tower T9 to a wall with the anchor strap included in box 2 when children under six are in the
room. The strap holds a pull of up to 90 kg. Keep the S3 out of reach of cats, which are attracted to
the moving water and may knock the garden over.

## In case of a fault

If you smell burning, see smoke or notice water inside the lamp, unplug the garden immediately and
contact Customer Care on 0800 417 2290. Do not try to open the lamp housing or the pump: there are no
user-serviceable parts inside, and opening them ends the warranty.

Tansywick Growworks Ltd, 9 Lantern Quay, Veyholm. This product meets the Northwold low-voltage equipment
standard NLV-2021.
"""


CODE_OF_CONDUCT = """\
# Tansywick Growworks Code of Conduct

Version 2.3, approved by the board on 14 June 2023 and effective from 1 July 2023. This code applies to
every employee, contractor and board member of Tansywick Growworks.

## Why we have a code

Our customers trust us with their homes, their classrooms and their data. This code describes the
behaviour that keeps that trust. It does not cover every situation; when in doubt, ask your manager or
the People team before you act.

## Gifts and hospitality

You may accept gifts and hospitality from suppliers, customers or partners up to a value of 75 euros per
occasion. Anything above that value must be politely refused or handed to the People team, who will
donate it to charity.

Every gift or invitation worth more than 25 euros must be recorded in the gift register in Burrow within
five working days, whether you accepted it or not. Cash and vouchers may never be accepted, whatever
their value.

## Conflicts of interest

A conflict of interest arises when your personal interests could affect your decisions at work, for
example when a relative works for a supplier. You must disclose any conflict of interest to your manager
and to the People team within 14 days of becoming aware of it.

Second jobs are allowed as long as they do not compete with Tansywick and do not take more than 10 hours
a week; tell your manager before you start one.

## Fair treatment

We do not tolerate harassment, bullying or discrimination of any kind. Complaints are investigated by
someone outside the team concerned, and the person who raised the complaint receives a written answer
within 21 days.

## Protecting company assets

Company laptops, samples and prototypes are for work. Prototypes from the Lantern Quay workshop must not
leave the building without a signed release form from the Head of Engineering, even for a weekend trial
at home.

## Speaking up

If you see something that breaks this code, we want to hear about it. You can speak to your manager, the
Head of People, or call the confidential Speak-up line on internal extension 4477, which is answered by
an independent service run by Calder & Pine Advisory. Reports can be anonymous.

Nobody will be disadvantaged for raising a concern in good faith. Retaliation against someone who spoke
up is treated as gross misconduct.

## Review

The board reviews this code every year in June. Suggestions for changes can be sent to the Head of
People at any time.
"""


Block = tuple[str, str]  # (kind, text), kind one of "title", "h2", "li", "p", "page"


def parse_blocks(markup: str) -> list[Block]:
    """Split the markup above into (kind, text) blocks.

    >>> parse_blocks("# Guide\\n\\n- one\\n  item\\n\\n---")
    [('title', 'Guide'), ('li', 'one item'), ('page', '')]
    """
    blocks: list[Block] = []
    for chunk in markup.strip().split("\n\n"):
        text = " ".join(line.strip() for line in chunk.splitlines())
        if text == "---":
            blocks.append(("page", ""))
        elif text.startswith("## "):
            blocks.append(("h2", text[3:]))
        elif text.startswith("# "):
            blocks.append(("title", text[2:]))
        elif text.startswith("- "):
            blocks.append(("li", text[2:]))
        else:
            blocks.append(("p", text))
    return blocks


def write_pdf(blocks: list[Block], path: Path, title: str) -> None:
    """A plain A4 PDF with real, extractable text."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_author("Tansywick Growworks")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    for kind, text in blocks:
        if kind == "page":
            pdf.add_page()
        elif kind == "title":
            pdf.set_font("Helvetica", "B", 16)
            pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
        elif kind == "h2":
            pdf.set_font("Helvetica", "B", 13)
            pdf.ln(2)
            pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        else:
            pdf.set_font("Helvetica", "", 11)
            indent = 5 if kind == "li" else 0
            pdf.set_x(pdf.l_margin + indent)
            prefix = "- " if kind == "li" else ""
            pdf.multi_cell(0, 6, prefix + text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    pdf.output(str(path))


def write_docx(blocks: list[Block], path: Path, title: str) -> None:
    """A Word document with a title, level-2 headings, paragraphs and bulleted items."""
    import docx

    document = docx.Document()
    props = document.core_properties
    props.title, props.author = title, "Tansywick Growworks"
    props.created = props.modified = FIXED_DATE.replace(tzinfo=None)
    for kind, text in blocks:
        if kind == "title":
            document.add_heading(text, level=1)
        elif kind == "h2":
            document.add_heading(text, level=2)
        elif kind == "li":
            document.add_paragraph(text, style="List Bullet")
        elif kind == "p":
            document.add_paragraph(text)
    document.save(str(path))
    _fix_zip_timestamps(path)


def _fix_zip_timestamps(path: Path) -> None:
    """Rewrite the .docx zip with fixed entry dates, so that re-running does not change the file in git."""
    import zipfile

    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in entries:
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_DATE.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, data)


def main() -> None:
    benefits, safety = parse_blocks(BENEFITS_GUIDE), parse_blocks(SAFETY_GUIDE)
    write_pdf(benefits, DOCS / "handbook" / "benefits-guide-2024.pdf", "Employee Benefits Guide 2024")
    write_pdf(safety, DOCS / "products" / "sproutvault-safety-guide.pdf", "Sproutvault Safety Guide")
    write_docx(parse_blocks(CODE_OF_CONDUCT), DOCS / "handbook" / "code-of-conduct.docx", "Code of Conduct")
    print("wrote 2 PDFs and 1 Word document under", DOCS)


if __name__ == "__main__":
    main()
