"""Writes the real-replies corpus: what participants of tests/data/real/program send back to a
check-in request ("Did your PeMento small group meet?") as Gmail, Outlook (desktop, web,
HTML-only), Apple Mail, Thunderbird, Horde and Yahoo write it, in English, German, French and
Spanish, top-posted, bottom-posted and interleaved, and the RSVPs Google Calendar, Outlook and
Apple Calendar send to the invitation's ORGANIZER. Each message's expected outcome is written
by hand here (never computed by mentormail) into expected.json.

The .eml files keep placeholders the test fills from what mentormail actually sent to that
person: %%REPLY:who%% (the request's Reply-To, with its token), %%MSGID:who%%, %%QUOTE:who%%
(the request's plain text, quoted "> "), %%COPY:who%% (the same, unquoted, as Outlook copies
it), and for RSVPs %%UID:who%%, %%SEQ:who%%, %%DTSTART:who%%, %%SUMMARY:who%% of the latest
invitation sent to them.

Run: python tests/data/real/make_corpus.py (rewrites the .eml files and expected.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.header import Header
from email.utils import formataddr
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
PEOPLE = {
    "grace": ("Grace Okafor", "grace.okafor@example.org"),
    "sam": ("Sam Delgado", "sam.delgado@example.org"),
    "ruth": ("Ruth Nakamura", "ruth.nakamura@example.org"),
    "olivia": ("Olivia Brennan", "olivia.brennan@example.org"),
    "jonas": ("Jonas Weber", "jonas.weber@example.de"),
    "camille": ("Camille Martin", "camille.martin@example.fr"),
    "lucia": ("Lucía Fernández", "lucia.fernandez@example.es"),
    "tomasz": ("Tomasz Nowak", "tomasz.nowak@example.org"),
}
ORGANIZER = "pemento@example.org"
SUBJECT = "Re: Did your PeMento small group meet? (weeks 2–3)"
NBSP = "\xa0"

# attribution lines as each client writes them (Gmail wraps its own at 78 characters)
GMAIL_WRAPPED = "On Wed, Jul 28, 2021 at 9:14 AM PeMento Organizers <\npemento@example.org> wrote:"
GMAIL = "On Wed, Jul 28, 2021 at 9:14 AM PeMento Organizers <pemento@example.org> wrote:"
APPLE = "> On 28 Jul 2021, at 09:14, PeMento Organizers <pemento@example.org> wrote:\n>"
THUNDERBIRD = "On 7/28/21 6:14 PM, PeMento Organizers wrote:"
DE_GMAIL = "Am Mi., 28. Juli 2021 um 18:14 Uhr schrieb PeMento Organizers <\npemento@example.org>:"
DE_APPLE = "> Am 28.07.2021 um 18:14 schrieb PeMento Organizers <pemento@example.org>:\n>"
FR_GMAIL = (
    f"Le mer. 28 juil. 2021 à 18:14, PeMento Organizers <pemento@example.org> a{NBSP}écrit{NBSP}:"
)
FR_WRAPPED = "Le mer. 28 juil. 2021 à 18:14, PeMento Organizers <\npemento@example.org> a écrit :"
ES_GMAIL = "El mié, 28 jul 2021 a las 18:14, PeMento Organizers (<\npemento@example.org>) escribió:"
ES_ONE = "El mié., 28 jul. 2021 18:14, PeMento Organizers <pemento@example.org> escribió:"
HORDE = "Quoting PeMento Organizers <pemento@example.org>:"
YAHOO = (
    "On Wednesday, July 28, 2021, 09:14:22 AM PDT, PeMento Organizers <pemento@example.org> wrote:"
)


def outlook_block(who: str, lang: str = "en") -> str:
    """Outlook's header block above its unquoted copy of the request."""
    name, address = PEOPLE[who]
    labels = {
        "en": ("From", "Sent", "To", "Subject", "Wednesday, July 28, 2021 6:14 PM"),
        "de": ("Von", "Gesendet", "An", "Betreff", "Mittwoch, 28. Juli 2021 18:14"),
        "fr": ("De", "Envoyé", "À", "Objet", "mercredi 28 juillet 2021 18:14"),
        "es": ("De", "Enviado", "Para", "Asunto", "miércoles, 28 de julio de 2021 18:14"),
    }[lang]
    sep = " :" if lang == "fr" else ":"
    return (
        "________________________________\n"
        f"{labels[0]}{sep} PeMento Organizers <pemento@example.org>\n"
        f"{labels[1]}{sep} {labels[4]}\n"
        f"{labels[2]}{sep} {name} <{address}>\n"
        f"{labels[3]}{sep} Did your PeMento small group meet? (weeks 2–3)\n\n"
        f"%%COPY:{who}%%"
    )


@dataclass(frozen=True)
class Spec:
    slug: str
    who: str
    body: str  # the text/plain part (or the HTML, for html=True)
    expect: dict[str, Any]  # kind, answer, text, fields, counts, reply, partstat
    client: str = "gmail"
    sender: str = ""  # another address of theirs (an alias)
    to: str = "token"  # "token": the request's Reply-To; "organizer": the ORGANIZER address
    subject: str = SUBJECT
    html: bool = False
    flowed: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def yes(text: str, **more: Any) -> dict[str, Any]:
    return {"kind": "checkin", "answer": "yes", "text": text, "fields": {}, "counts": 1,
            "reply": "recorded", **more}  # fmt: skip


def no(text: str, **more: Any) -> dict[str, Any]:
    return {"kind": "checkin", "answer": "no", "text": text, "fields": {}, "counts": 0,
            "reply": "negative", **more}  # fmt: skip


def relayed(text: str) -> dict[str, Any]:
    """Neither yes nor no, and a question: asked yes or no, and passed on to the organizers."""
    return {"kind": "relayed", "relayed": text, "reply": ["yes-or-no", "relay"]}


def unknown(text: str, **more: Any) -> dict[str, Any]:
    """Neither yes nor no: recorded, counts for nothing, asked again (never guessed)."""
    return {"kind": "checkin", "answer": None, "text": text, "fields": {}, "counts": 0,
            "reply": "yes-or-no", **more}  # fmt: skip


def empty() -> dict[str, Any]:
    return {"kind": "checkin", "answer": None, "text": "", "fields": {}, "counts": 0,
            "reply": "not-understood"}  # fmt: skip


def rsvp(partstat: str) -> dict[str, Any]:
    return {"kind": "rsvp", "partstat": partstat, "reply": None}


Q = "%%QUOTE:{}%%"

SPECS = [
    # --- English, top-posted, the answer not in the first word -------------------------------
    Spec("status-update", "grace",
         "Status update: we met on Tuesday and went through the balance worksheet.\n\nGrace\n\n"
         f"{GMAIL_WRAPPED}\n\n{Q.format('grace')}\n",
         yes("Status update: we met on Tuesday and went through the balance worksheet.\n\n"
             "Grace")),
    Spec("meeting-went-great", "sam",
         "Meeting went great – we met for an hour on Zoom!\n\n"
         f"{GMAIL_WRAPPED}\n\n{Q.format('sam')}\n",
         yes("Meeting went great – we met for an hour on Zoom!")),
    Spec("sorry-couldnt-meet-iphone", "ruth",
         "Sorry, we couldn’t meet this time. Two of us were travelling.\n\nSent from my iPhone"
         f"\n\n{APPLE}\n{Q.format('ruth')}\n",
         no("Sorry, we couldn’t meet this time. Two of us were travelling."), client="iphone"),
    Spec("other-account-yes", "olivia",
         f"Replying from my other account – yes\n\n{GMAIL_WRAPPED}\n\n{Q.format('olivia')}\n",
         yes("Replying from my other account – yes"), sender="olivia.brennan@gmail.example"),
    Spec("we-didnt-manage", "grace", f"we didn't manage\n\n{GMAIL}\n\n{Q.format('grace')}\n",
         no("we didn't manage")),
    Spec("not-yet", "sam", f"not yet\n\n{GMAIL_WRAPPED}\n{Q.format('sam')}\n", no("not yet")),
    Spec("nope-not-this-time", "sam", f"Nope, not this time.\n\n{GMAIL}\n{Q.format('sam')}\n",
         no("Nope, not this time.")),
    Spec("thumbs-up", "grace", f"👍\n\n{GMAIL}\n\n{Q.format('grace')}\n", yes("👍")),
    Spec("meeting-cancelled", "olivia",
         "Update: the meeting was cancelled because of the heat wave.\n\n"
         f"{GMAIL_WRAPPED}\n\n{Q.format('olivia')}\n",
         no("Update: the meeting was cancelled because of the heat wave.")),
    Spec("old-gmail-date-attribution", "sam",
         "Yes! Everyone came.\n\n2021-07-28 18:14 GMT-07:00 PeMento Organizers "
         f"<pemento@example.org>:\n\n{Q.format('sam')}\n",
         yes("Yes! Everyone came.")),
    Spec("yahoo-had-our-call", "ruth",
         f"We had our call on Monday, all four of us.\n\n{YAHOO}\n\n{Q.format('ruth')}\n",
         yes("We had our call on Monday, all four of us."), client="yahoo"),
    # --- bottom-posted and interleaved ---------------------------------------------------------
    Spec("thunderbird-bottom-not-yet", "jonas",
         f"{THUNDERBIRD}\n{Q.format('jonas')}\n\nNot yet, we are still looking for a date.\n\n"
         "Jonas\n",
         no("Not yet, we are still looking for a date.\n\nJonas"), client="thunderbird",
         flowed=True),
    Spec("horde-quoting-bottom", "tomasz",
         f"{HORDE}\n\n{Q.format('tomasz')}\n\nyes, we met on Friday\n",
         yes("yes, we met on Friday"), client="horde"),
    Spec("bottom-with-signature", "ruth",
         f"{GMAIL}\n{Q.format('ruth')}\n\nWe met on Zoom last Thursday.\n\n-- \nRuth Nakamura\n"
         "Reference Librarian\n",
         yes("We met on Zoom last Thursday."), client="thunderbird"),
    Spec("interleaved-greeting", "olivia",
         "Hi all,\n\n> Did your small group meet during weeks 2–3?\n\nYes we did, on Monday.\n\n"
         "Cheers,\nOlivia\n",
         yes("Hi all,\n\nYes we did, on Monday.\n\nCheers,\nOlivia"), client="thunderbird"),
    Spec("interleaved-form", "sam",
         f"{GMAIL}\n> Hello Sam,\n>\n> - Did your group meet? (yes/no):\n\nYes\n\n"
         "> - When did you meet?\n\nMonday evening\n\n"
         "> - Anything you'd like to note for yourself (stays private):\n\nGood energy.\n",
         yes("Yes\n\nMonday evening\n\nGood energy.",
             fields={"met": "yes", "date": "Monday evening", "notes": "Good energy."})),
    Spec("typed-into-the-quote", "grace",
         f"{GMAIL}\n> Hi Grace,\n>\n> Did your small group meet during weeks 2–3?\n>\n"
         "> - Did your group meet? (yes/no): yes\n> - When did you meet? Saturday morning\n"
         "> - Anything you'd like to note for yourself (stays private):\n>\n> Thank you!\n",
         {"kind": "checkin", "answer": "yes", "text": "", "counts": 1, "reply": "recorded",
          "fields": {"met": "yes", "date": "Saturday morning"}}),
    Spec("flowed-wrapped-no", "jonas",
         "We did not \nmeet this week: Camille was ill.\n\n"
         f"{THUNDERBIRD}\n{Q.format('jonas')}\n",
         no("We did not meet this week: Camille was ill."), client="thunderbird", flowed=True),
    # --- answers in the request's own format ---------------------------------------------------
    Spec("form-copied-yes", "lucia",
         "- Did your group meet? (yes/no) yes\n- When did you meet? Tuesday 27 July\n"
         "- Anything you'd like to note for yourself (stays private): We planned the next "
         f"steps.\n\n{ES_GMAIL}\n\n{Q.format('lucia')}\n",
         yes("- Did your group meet? (yes/no) yes\n- When did you meet? Tuesday 27 July\n"
             "- Anything you'd like to note for yourself (stays private): We planned the next "
             "steps.",
             fields={"met": "yes", "date": "Tuesday 27 July",
                     "notes": "We planned the next steps."})),
    Spec("form-colon-no", "grace",
         f"- Did your group meet? (yes/no): no\n- When did you meet?\n\n{GMAIL}\n"
         f"{Q.format('grace')}\n",
         no("- Did your group meet? (yes/no): no\n- When did you meet?", fields={"met": "no"})),
    Spec("form-german-ja", "jonas",
         "- Did your group meet? (yes/no) ja\n- When did you meet? Montag\n\n"
         f"{DE_GMAIL}\n\n{Q.format('jonas')}\n",
         yes("- Did your group meet? (yes/no) ja\n- When did you meet? Montag",
             fields={"met": "yes", "date": "Montag"})),
    Spec("form-bullets-outlook", "tomasz",
         "• Did your group meet? (yes/no): Yes\n• When did you meet?: 26 July\n\n"
         + outlook_block("tomasz"),
         yes("• Did your group meet? (yes/no): Yes\n• When did you meet?: 26 July",
             fields={"met": "yes", "date": "26 July"}), client="outlook"),
    # --- German ----------------------------------------------------------------------------------
    Spec("de-ja-getroffen", "jonas",
         f"Ja, wir haben uns am Montag getroffen.\n\n{DE_GMAIL}\n\n{Q.format('jonas')}\n",
         yes("Ja, wir haben uns am Montag getroffen.")),
    Spec("de-noch-nicht-alias", "jonas",
         f"Wir haben uns leider noch nicht getroffen.\n\nGruß\nJonas\n\n{DE_APPLE}\n"
         f"{Q.format('jonas')}\n",
         no("Wir haben uns leider noch nicht getroffen.\n\nGruß\nJonas"),
         sender="jonas@weber-familie.example", client="apple"),
    Spec("de-outlook-nicht-geklappt", "jonas",
         "Hallo,\n\nhat leider nicht geklappt, wir versuchen es nächste Woche.\n\n"
         + outlook_block("jonas", "de"),
         no("Hallo,\n\nhat leider nicht geklappt, wir versuchen es nächste Woche."),
         client="outlook"),
    # --- French --------------------------------------------------------------------------------
    Spec("fr-oui-retrouves", "camille",
         f"Oui, on s'est retrouvés mardi soir.\n\n{FR_GMAIL}\n\n{Q.format('camille')}\n",
         yes("Oui, on s'est retrouvés mardi soir.")),
    Spec("fr-pas-encore-wrapped", "camille",
         f"Non, pas encore. On essaie la semaine prochaine.\n\n{FR_WRAPPED}\n\n"
         f"{Q.format('camille')}\n",
         no("Non, pas encore. On essaie la semaine prochaine.")),
    Spec("fr-outlook-cetait-super", "camille",
         "Oui, c'était super, merci !\n\n" + outlook_block("camille", "fr"),
         yes("Oui, c'était super, merci !"), client="outlook"),
    Spec("fr-pas-pu-se-voir", "camille",
         f"{FR_GMAIL}\n{Q.format('camille')}\n\nOn n'a pas pu se voir, désolée.\n",
         no("On n'a pas pu se voir, désolée.")),
    # --- Spanish -------------------------------------------------------------------------------
    Spec("es-si-nos-reunimos", "lucia",
         f"Sí, nos reunimos el martes por la tarde.\n\n{ES_GMAIL}\n\n{Q.format('lucia')}\n",
         yes("Sí, nos reunimos el martes por la tarde.")),
    Spec("es-no-pudimos", "lucia",
         f"No pudimos reunirnos esta semana, lo siento.\n\n{ES_ONE}\n\n{Q.format('lucia')}\n",
         no("No pudimos reunirnos esta semana, lo siento.")),
    Spec("es-todavia-no-bottom", "lucia",
         f"{ES_GMAIL}\n\n{Q.format('lucia')}\n\nTodavía no.\n\nEnviado desde mi iPhone\n",
         no("Todavía no."), client="iphone"),
    Spec("es-outlook-ya-reunido", "lucia",
         "Sí, ya nos hemos reunido.\n\nSaludos,\nLucía\n\n" + outlook_block("lucia", "es"),
         yes("Sí, ya nos hemos reunido.\n\nSaludos,\nLucía"), client="outlook"),
    # --- Outlook shapes ------------------------------------------------------------------------
    Spec("outlook-mac-from-date", "grace",
         "We got together on Sunday afternoon.\n\nFrom: PeMento Organizers "
         "<pemento@example.org>\nDate: Wednesday, 28 July 2021 at 18:14\nTo: Grace Okafor "
         "<grace.okafor@example.org>\nSubject: Did your PeMento small group meet? (weeks 2–3)"
         "\n\n%%COPY:grace%%\n",
         yes("We got together on Sunday afternoon."), client="outlook-mac"),
    Spec("es-outlook-enviado-el", "lucia",
         "No, todavía no hemos encontrado un día.\n\n"
         "De: PeMento Organizers <pemento@example.org>\nEnviado el: miércoles, 28 de julio de "
         "2021 18:14\nPara: Lucía Fernández <lucia.fernandez@example.es>\nAsunto: Did your "
         "PeMento small group meet? (weeks 2–3)\n\n%%COPY:lucia%%\n",
         no("No, todavía no hemos encontrado un día."), client="outlook"),
    Spec("outlook-didnt-manage", "tomasz",
         "We didn't manage to find a time that works for everyone.\n\n"
         + outlook_block("tomasz"),
         no("We didn't manage to find a time that works for everyone."), client="outlook"),
    Spec("original-message-separator", "camille",
         "Yes, we met yesterday evening.\n\n-----Original Message-----\n"
         "From: PeMento Organizers <pemento@example.org>\nSent: Wednesday, July 28, 2021 6:14 PM"
         "\nTo: camille.martin@example.fr\nSubject: Did your PeMento small group meet? (weeks 2–3)"
         "\n\n%%COPY:camille%%\n",
         yes("Yes, we met yesterday evening."), client="outlook"),
    Spec("outlook-html-only", "tomasz",
         '<html><head><style>p{margin:0}</style></head><body dir="ltr">'
         '<div style="font-family:Calibri">We met on Thursday, it went well.</div>'
         '<div style="font-family:Calibri"><br></div>'
         '<div id="Signature"><div>Tomasz</div></div>'
         '<hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg" dir="ltr">'
         '<font face="Calibri"><b>From:</b> PeMento Organizers &lt;pemento@example.org&gt;<br>'
         "<b>Sent:</b> Wednesday, July 28, 2021 6:14 PM<br><b>Subject:</b> Did your PeMento "
         "small group meet?</font><div>&nbsp;</div></div><div>Hello Tomasz, did your group "
         "meet? (yes/no)</div></body></html>",
         yes("We met on Thursday, it went well.\n\nTomasz"), client="outlook", html=True),
    Spec("gmail-html-only-not-yet", "camille",
         '<div dir="ltr">Not yet, sorry!<div><br></div><div>Camille</div></div><br>'
         '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Wed, Jul 28, 2021 at '
         "9:14 AM PeMento Organizers &lt;<a href=\"mailto:pemento@example.org\">pemento@example"
         ".org</a>&gt; wrote:<br></div><blockquote class=\"gmail_quote\">Hello Camille,<br>Did "
         "your group meet? (yes/no)</blockquote></div>",
         no("Not yet, sorry!\n\nCamille"), html=True),
    # --- neither yes nor no: kept, asked again, never guessed -----------------------------------
    Spec("question-not-an-answer", "ruth",
         f"Quick question: is the worksheet due before the call?\n\n{GMAIL}\n"
         f"{Q.format('ruth')}\n",
         relayed("Quick question: is the worksheet due before the call?")),
    Spec("yes-and-no", "olivia",
         f"Yes and no – two of us met, Sam couldn't make it.\n\n{GMAIL}\n{Q.format('olivia')}\n",
         unknown("Yes and no – two of us met, Sam couldn't make it.")),
    Spec("planned-not-happened", "grace",
         f"We will meet next Tuesday.\n\n{GMAIL_WRAPPED}\n\n{Q.format('grace')}\n",
         unknown("We will meet next Tuesday.")),
    Spec("thanks-only", "tomasz",
         "Thanks for the reminder!\n\n" + outlook_block("tomasz"),
         unknown("Thanks for the reminder!"), client="outlook"),
    # --- nothing typed: counts for nothing, and says why ------------------------------------
    Spec("only-the-quote", "sam", f"{GMAIL_WRAPPED}\n\n{Q.format('sam')}\n", empty()),
    Spec("only-sent-from-iphone", "ruth",
         f"\n\nSent from my iPhone\n\n{APPLE}\n{Q.format('ruth')}\n",
         empty(), client="iphone"),
    Spec("only-outlook-copy", "lucia", "\n" + outlook_block("lucia", "es"), empty(),
         client="outlook"),
    # --- a command below the quote, and a reply to the From address (no token) ----------------
    Spec("status-command-bottom", "ruth", f"{GMAIL}\n{Q.format('ruth')}\n\nSTATUS\n",
         {"kind": "command", "reply": "status"}),
    Spec("no-token-in-reply-to", "olivia",
         f"Yes, we met on Tuesday.\n\n{GMAIL}\n{Q.format('olivia')}\n",
         yes("Yes, we met on Tuesday."), to="organizer",
         headers={"In-Reply-To": "%%MSGID:olivia%%", "References": "%%MSGID:olivia%%"}),
    # --- calendar RSVPs, sent to the ORGANIZER ----------------------------------------------
    Spec("google-rsvp-accepted", "grace", "", rsvp("ACCEPTED"), client="google", to="organizer"),
    Spec("outlook-rsvp-declined", "jonas", "", rsvp("DECLINED"), client="outlook-rsvp",
         to="organizer"),
    Spec("apple-rsvp-tentative", "camille", "", rsvp("TENTATIVE"), client="apple-rsvp",
         to="organizer"),
    Spec("outlook-rsvp-accepted", "lucia", "", rsvp("ACCEPTED"), client="outlook-rsvp",
         to="organizer"),
    Spec("google-rsvp-declined", "tomasz", "", rsvp("DECLINED"), client="google",
         to="organizer"),
]  # fmt: skip

MAILERS = {
    "gmail": "",
    "iphone": "X-Mailer: iPhone Mail (18G82)\n",
    "apple": "X-Mailer: Apple Mail (2.3654.120.0.1.13)\n",
    "thunderbird": "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:78.0) Gecko/20100101 "
    "Thunderbird/78.12.0\n",
    "outlook": "X-Mailer: Microsoft Outlook 16.0\nThread-Index: AQHXg0Z1r2k3mV7bS0mYb3xN1w==\n",
    "horde": "User-Agent: Horde Application Framework 5\n",
    "outlook-mac": "User-Agent: Microsoft-MacOutlook/16.51.21071101\n",
    "yahoo": "X-Mailer: WebService/1.1.18749 YMailNorrin\n",
}


def _rsvp_ics(spec: Spec) -> str:
    partstat = spec.expect["partstat"]
    prodid = {
        "google": "-//Google Inc//Google Calendar 70.9054//EN",
        "outlook-rsvp": "Microsoft Exchange Server 2010",
        "apple-rsvp": "-//Apple Inc.//Mac OS X 10.15.7//EN",
    }[spec.client]
    address = PEOPLE[spec.who][1]
    organizer = [] if spec.client == "outlook-rsvp" else ["ORGANIZER:mailto:pemento@example.org"]
    lines = [
        "BEGIN:VCALENDAR", f"PRODID:{prodid}", "VERSION:2.0", "METHOD:REPLY", "BEGIN:VEVENT",
        f"UID:%%UID:{spec.who}%%", f"SEQUENCE:%%SEQ:{spec.who}%%",
        f"DTSTART:%%DTSTART:{spec.who}%%", "DTSTAMP:20210729T090000Z",
        f"ATTENDEE;PARTSTAT={partstat};CN={PEOPLE[spec.who][0]}:mailto:{address}",
        *organizer, f"SUMMARY:%%SUMMARY:{spec.who}%%", "END:VEVENT", "END:VCALENDAR",
    ]  # fmt: skip
    return "\r\n".join(lines) + "\r\n"


def _rsvp(n: int, spec: Spec) -> str:
    name, address = PEOPLE[spec.who]
    verb = {"ACCEPTED": "Accepted", "DECLINED": "Declined", "TENTATIVE": "Tentative"}[
        spec.expect["partstat"]
    ]
    ics = _rsvp_ics(spec)
    boundary = f"rsvp-{n:02d}"
    if spec.client == "google":
        head = (
            "From: Google Calendar <calendar-notification@google.com>\n"
            f"Reply-To: {address}\nSender: Google Calendar <calendar-notification@google.com>\n"
            "Auto-Submitted: auto-generated\n"
            f"Subject: {verb}: %%SUMMARY:{spec.who}%%\n"
        )
        text = f"{name} has {verb.lower()} this invitation."
    elif spec.client == "outlook-rsvp":
        head = (
            f"From: {formataddr((name, address), 'utf-8')}\n"
            f"Subject: {verb}: %%SUMMARY:{spec.who}%%\n"
        )
        text = "Sorry, I have a class that evening." if verb == "Declined" else ""
    else:
        head = (
            f"From: {formataddr((name, address), 'utf-8')}\n"
            f"Subject: Invitation: %%SUMMARY:{spec.who}%% ({verb})\n"
        )
        text = f"{name} has {verb.lower()} your invitation."
    return (
        f"{head}To: PeMento Organizers <{ORGANIZER}>\n"
        f"Message-ID: <real-{n:02d}@mail.example.net>\nDate: Thu, 29 Jul 2021 09:00:00 +0000\n"
        f'MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="{boundary}"\n\n'
        f"--{boundary}\nContent-Type: text/plain; charset=UTF-8\n\n{text}\n\n"
        f"--{boundary}\nContent-Type: text/calendar; charset=UTF-8; method=REPLY\n\n{ics}\n"
        f"--{boundary}--\n"
    )


def message(n: int, spec: Spec) -> str:
    if spec.client in ("google", "outlook-rsvp", "apple-rsvp"):
        return _rsvp(n, spec)
    name, address = PEOPLE[spec.who]
    to = f"PeMento Organizers <{ORGANIZER}>" if spec.to == "organizer" else f"%%REPLY:{spec.who}%%"
    extra = "".join(f"{k}: {v}\n" for k, v in spec.headers.items())
    if spec.to == "token":
        extra += f"In-Reply-To: %%MSGID:{spec.who}%%\nReferences: %%MSGID:{spec.who}%%\n"
    kind = "html" if spec.html else "plain"
    params = "; format=flowed; delsp=no" if spec.flowed else ""
    return (
        f"From: {formataddr((name, spec.sender or address), 'utf-8')}\nTo: {to}\n"
        f"Subject: {Header(spec.subject, 'utf-8', header_name='Subject').encode()}\n"
        f"Message-ID: <real-{n:02d}@mail.example.net>\nDate: Thu, 29 Jul 2021 09:00:00 +0000\n"
        f"{MAILERS[spec.client]}{extra}MIME-Version: 1.0\n"
        f"Content-Type: text/{kind}; charset=UTF-8{params}\nContent-Transfer-Encoding: 8bit\n\n"
        f"{spec.body}"
    )


def main() -> None:
    for old in HERE.glob("*.eml"):
        old.unlink()
    expected = {}
    for n, spec in enumerate(SPECS, start=1):
        name = f"{n:02d}-{spec.slug}.eml"
        raw = message(n, spec).replace("\n", "\r\n")
        (HERE / name).write_bytes(raw.encode())
        expected[name] = {"who": spec.who, "to": spec.to, **spec.expect}
    text = json.dumps(expected, indent=1, ensure_ascii=False) + "\n"
    (HERE / "expected.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
