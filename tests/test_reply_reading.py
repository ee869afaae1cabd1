"""The pure reading of a reply: yes/no/unknown from the whole text (yesno.py), the person's own
text wherever they wrote it (quotes.py), the request's form answered in its own format or
under its quoted lines (replytext.py), format=flowed (parse.unflowed), HTML replies
(htmltext.py), and the thread an answer continues (mail/thread.py)."""

from __future__ import annotations

import pytest

from daemon.inbound import quotes, yesno
from daemon.inbound.events import FieldSpec, FormSpec
from daemon.inbound.htmltext import html_to_text
from daemon.inbound.parse import unflowed
from daemon.inbound.replytext import confirmation_answer, read_reply
from daemon.mail.thread import MAX_REFERENCES, reply_subject, reply_thread

FORM = FormSpec(
    "small-group-meeting",
    (
        FieldSpec("met", "Did your group meet? (yes/no)", "yesno", private=False, required=True),
        FieldSpec("date", "When did you meet?", "date", private=False),
        FieldSpec("notes", "Anything you'd like to note for yourself (stays private)"),
    ),
)


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("Status update: we met on Tuesday.", "yes"),
        ("Meeting went great – we met for an hour.", "yes"),
        ("Sorry, we couldn't meet this time.", "no"),
        ("Sorry, we couldn’t meet this time.", "no"),  # a typographic apostrophe
        ("not yet", "no"),
        ("we didn't manage", "no"),
        ("Replying from my other account – yes", "yes"),
        ("Nope.", "no"),
        ("We had our meeting on Thursday.", "yes"),
        ("The meeting was cancelled.", "no"),
        ("We met! No problems at all.", "yes"),  # an idiom denies nothing
        ("Ja, wir haben uns am Dienstag getroffen.", "yes"),
        ("Wir haben uns noch nicht getroffen.", "no"),
        ("Es hat leider nicht geklappt.", "no"),
        ("Oui, on s'est retrouvés jeudi.", "yes"),
        ("Nous ne nous sommes pas encore réunis.", "no"),
        ("On n'a pas pu se voir.", "no"),
        ("On ne s'est vus qu'une fois.", "yes"),  # "ne … que" is "only"
        ("Sí, nos reunimos el martes.", "yes"),
        ("No pudimos reunirnos esta semana.", "no"),
        ("Todavía no nos hemos reunido.", "no"),
        ("We haven't had a chance to meet yet.", "no"),
        ("There was no meeting this week.", "no"),
        ("Pas de réunion cette semaine.", "no"),
        ("Wir trafen uns nicht.", "no"),  # the negator after the verb
        # neither: kept unknown, never guessed
        ("I can't find the meeting link, can you resend it?", None),  # not about meeting
        ("Quick question: where is the worksheet?", None),
        ("Thanks!", None),
        ("We will meet next week.", None),
        ("If we meet on Friday I'll tell you.", None),
        ("Nos reunimos la próxima semana.", None),
        ("Yes and no – two of us met, Sam couldn't make it.", None),
        ("Did your group meet? (yes/no)", None),  # a copied question answers nothing
        ("", None),
    ],
)
def test_yes_or_no_from_the_whole_text(text: str, answer: str | None) -> None:
    verdict = yesno.decide(text)
    assert verdict.answer == answer, verdict.explain()


def test_a_verdict_says_which_words_made_it() -> None:
    assert (
        yesno.decide("Sorry, we couldn't meet").explain() == "no: 'we could not' and 'not … meet'"
    )
    assert yesno.decide("Thanks!").explain() == "unknown: no yes or no"
    assert yesno.decide("yes, but not yet").explain() == "unknown: 'yes' and 'not yet'"


def test_a_confirmation_is_declined_by_an_opening_no() -> None:
    assert confirmation_answer("No idea what this is") == "no"  # anything else would confirm
    assert confirmation_answer("Yes, that was me.") == "yes"
    assert confirmation_answer("Thanks") is None


QUOTE = "> Hello Grace,\n>\n> Did your small group meet during weeks 2–3?\n"


@pytest.mark.parametrize(
    ("text", "own"),
    [
        # top-posted, Gmail's attribution wrapped over two lines
        ("Yes, we met.\n\nOn Wed, Jul 28, 2021 at 9:14 AM PeMento <\npemento@example.org> wrote:"
         f"\n\n{QUOTE}", "Yes, we met."),
        # bottom-posted: the answer is below the quote
        (f"On Wed, Jul 28, 2021 at 9:14 AM PeMento <pemento@example.org> wrote:\n{QUOTE}\n"
         "We met on Tuesday.\n\nGrace\n", "We met on Tuesday.\n\nGrace"),
        # interleaved
        ("Hi,\n\n> Did your group meet?\n\nYes.\n\n> When?\n\nMonday.\n", "Hi,\n\nYes.\n\nMonday."),
        (f"Ja.\n\nAm Mi., 28. Juli 2021 um 18:14 Uhr schrieb PeMento <\npemento@example.org>:\n"
         f"{QUOTE}", "Ja."),
        ("Oui.\n\nLe mer. 28 juil. 2021 à 18:14, PeMento <pemento@example.org> a\xa0écrit\xa0:\n"
         f"{QUOTE}", "Oui."),
        (f"Sí.\n\nEl mié, 28 jul 2021 a las 18:14, PeMento (<\npemento@example.org>) escribió:\n"
         f"{QUOTE}", "Sí."),
        ("Jonas Weber <j@example.de> schrieb am Mi., 28. Juli 2021, 18:14:\n> Hallo\n\nNein.\n",
         "Nein."),
        (f"Quoting PeMento <pemento@example.org>:\n\n{QUOTE}\nyes\n", "yes"),
        # Outlook: an unquoted copy under a header block, or a separator
        ("Not yet.\n\n________________________________\nFrom: PeMento <pemento@example.org>\n"
         "Sent: Wednesday, July 28, 2021 6:14 PM\nTo: Grace\nSubject: Did you meet?\n\nHello",
         "Not yet."),
        ("Nein.\n\nVon: PeMento <pemento@example.org>\nGesendet: Mittwoch, 28. Juli 2021\n"
         "An: Jonas\nBetreff: Did you meet?\n\nHello", "Nein."),
        ("Yes.\n\n-----Original Message-----\nFrom: PeMento\nSent: Monday\n\nHello", "Yes."),
        ("Sí.\n\nDe: PeMento <pemento@example.org>\nEnviado el: miércoles, 28 de julio de 2021\n"
         "Para: Lucía\nAsunto: Did you meet?\n\nHello", "Sí."),  # a label the library misses
        ("We met.\n\nFrom: PeMento <pemento@example.org>\nDate: Wednesday, 28 July 2021 at 18:14"
         "\nTo: Grace\nSubject: Did you meet?\n\nHello", "We met."),  # Outlook for Mac
        # a line of another shape naming an address, right above the quote
        ("Yes\n\n2021-07-28 18:14 GMT+02:00 PeMento <pemento@example.org>:\n> Hello", "Yes"),
        ("Tak\n\nW dniu 28.07.2021 o 18:14, PeMento pisze:\n> Hello", "Tak"),
        ("Write to me at <g@x.org>:\nyes", "Write to me at <g@x.org>:\nyes"),  # no quote below
        # signatures
        ("We met.\n\n-- \nGrace Okafor\nLibrarian\n", "We met."),
        ("Not yet\n\nSent from my iPhone\n\n> On 28 Jul 2021, at 09:14, X <x@y> wrote:\n> Hi\n",
         "Not yet"),
        # nothing typed
        (f"On Wed, Jul 28, 2021 at 9:14 AM PeMento <pemento@example.org> wrote:\n{QUOTE}", ""),
        (f"\n\nSent from my iPhone\n\n{QUOTE}", ""),
        # a line that only ends like an attribution is the person's own
        ("Yes\nJonas wrote the notes, see below:", "Yes\nJonas wrote the notes, see below:"),
    ],
)  # fmt: skip
def test_the_own_text_wherever_it_was_written(text: str, own: str) -> None:
    assert quotes.new_text(text) == own


def test_a_long_line_starting_with_on_is_read_quickly() -> None:
    hostile = "On " + "a " * 50_000 + "\n> quoted\nyes"  # no backtracking blow-up
    assert quotes.new_text(hostile).endswith("yes")


@pytest.mark.parametrize(
    ("text", "fields", "answer"),
    [
        ("- Did your group meet? (yes/no) yes\n- When did you meet? Tuesday",
         {"met": "yes", "date": "Tuesday"}, "yes"),
        ("- Did your group meet? (yes/no): no", {"met": "no"}, "no"),
        ("• Did your group meet? (yes/no): Ja\n• When did you meet?: 26 July",
         {"met": "yes", "date": "26 July"}, "yes"),
        ("- Did your group meet? (yes/no): sort of\n\nWe met on Monday.",
         {"met": "yes"}, "yes"),  # the answer runs on to the next field: "we met" in it
        ("> - Did your group meet? (yes/no):\n\nYes\n\n> - When did you meet?\n\nMonday\n\n"
         "> - Anything you'd like to note for yourself (stays private):\n\nGood.",
         {"met": "yes", "date": "Monday", "notes": "Good."}, "yes"),
        ("Status update: we met on Monday.", {}, "yes"),
        # typed into the quoted request; the rest of the quote is ours and ignored
        ("On Wed X <x@y> wrote:\n> Hi Sam,\n> - Did your group meet? (yes/no): no\n"
         "> - When did you meet?\n> - Anything you'd like to note for yourself (stays private):"
         "\n>\n> Private (only you): Anything.\n>> - When did you meet? Old answer",
         {"met": "no"}, "no"),
    ],
)  # fmt: skip
def test_the_request_s_own_format_is_read(
    text: str, fields: dict[str, str], answer: str | None
) -> None:
    reply = read_reply(text, FORM)
    assert reply.fields == fields
    assert reply.verdict.answer == answer


def test_format_flowed_is_read_as_its_paragraphs() -> None:
    assert unflowed("We did not \nmeet this week.\n> quoted \n> on.\n-- \nSig") == (
        "We did not meet this week.\n> quoted on.\n-- \nSig"
    )
    assert unflowed("abc \ndef", delsp=True) == "abcdef"


def test_html_keeps_what_follows_a_quote_and_drops_outlook_s_history() -> None:
    gmail = (
        '<div dir="ltr">Top</div><div class="gmail_quote"><div class="gmail_attr">On Mon X '
        "wrote:</div><blockquote>old<blockquote>older</blockquote>still old</blockquote>"
        "Below</div>"
    )
    assert html_to_text(gmail) == "Top\n\nOn Mon X wrote:\nBelow"  # the line goes in quotes.py
    outlook = '<div>We met.</div><div id="divRplyFwdMsg"><b>From:</b> X</div><div>old</div>'
    assert html_to_text(outlook) == "We met."


def test_an_answer_continues_the_thread() -> None:
    refs = ["<b@x>", "<c@x>", "<a@x>"]  # as read: In-Reply-To first, then nearest first
    thread = reply_thread({"thread": {"subject": "Did you meet?", "references": refs}}, "<m@x>")
    assert thread.subject == "Re: Did you meet?"
    assert thread.references == ("<a@x>", "<c@x>", "<b@x>", "<m@x>")
    assert thread.in_reply_to == "<m@x>"
    long = [f"<{n}@x>" for n in range(30, 0, -1)]
    kept = reply_thread({"thread": {"subject": "", "references": long}}, "<m@x>").references
    assert len(kept) == MAX_REFERENCES and kept[0] == "<1@x>" and kept[-1] == "<m@x>"


def test_a_thread_takes_nothing_unsafe_from_outside() -> None:
    hostile = {"thread": {"subject": "x\r\nBcc: all@evil.example", "references": ["<a@x> <b"]}}
    thread = reply_thread(hostile, "<m@x>")
    assert "\n" not in thread.subject and "\r" not in thread.subject
    assert thread.references == ("<m@x>",)
    assert reply_thread(hostile, "not an id").subject == ""  # no message answered: no thread
    assert reply_thread({"thread": "junk"}, "<m@x>").subject == ""  # our own subject stays


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [("Did you meet?", "Re: Did you meet?"), ("Re: Did you meet?", "Re: Did you meet?"),
     ("AW: Treffen", "AW: Treffen"), ("RE : rencontre", "RE : rencontre"), ("", ""),
     ("x" * 300, "Re: " + "x" * 199 + "…")],
)  # fmt: skip
def test_the_subject_of_an_answer(theirs: str, ours: str) -> None:
    assert reply_subject(theirs) == ours
