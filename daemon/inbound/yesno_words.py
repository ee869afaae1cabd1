"""The words the yes/no reader looks for, by what they do, in English, German, French and Spanish
(and the bare yes/no of a few more languages). Data only: yesno.py applies it.

Phrases are written as a person's words appear after normalisation (yesno.tokens): lower case,
"n't" spelt " not" ("didn't" -> "did not", "can't" -> "ca not"), apostrophes and punctuation
split words ("s'est" -> "s est"), accents kept — so where people often drop them, both spellings
are listed. Why each list exists:

- a person answers the question first ("Yes, …", "Nein.", "Not yet") — REPLY_*;
- or says what happened ("we met on Tuesday") — MET, read as "no" when negated ("we didn't
  meet", "wir haben uns nicht getroffen") — and MEET, the forms that only ever count negated
  ("couldn't meet"; an un-negated "we'll meet" says nothing about the past);
- or that it did not ("it was cancelled", "we didn't manage") — FAILED, NOT_YET;
- idioms with a negative word that deny nothing ("no problem", "pas mal") are dropped first;
- plans and conditions ("we will meet", "if we meet") make a "met" say nothing.
"""

from __future__ import annotations

# Whole answers at the start of a clause ("Yes, we did", "Ja!", "Oui, …", "Sí, …").
REPLY_YES = (
    "yes", "yeah", "yep", "yup", "yea", "yess", "sure", "absolutely", "definitely", "certainly",
    "indeed", "of course", "affirmative", "done", "we did", "we managed",
    "ja", "jawohl", "jep", "jup", "klar", "genau", "natürlich", "selbstverständlich", "erledigt",
    "oui", "ouais", "bien sûr", "évidemment", "tout à fait", "c est fait", "effectivement",
    "sí", "claro", "por supuesto", "desde luego", "efectivamente", "hecho", "así es",
    "sì", "sim", "tak", "👍", "✅", "✔", "✔️",
)  # fmt: skip

# Only when they are the whole clause: "si" is also "if", "y" is also "and".
WHOLE_YES = (
    "si", "y", "i did", "we have", "we did it", "did it", "wir haben", "haben wir", "geschafft",
    "hat geklappt", "on l a fait", "nous l avons fait", "lo hicimos", "sí lo hicimos",
)  # fmt: skip

# Negative answers at the start of a clause. "no" is here too: idioms that start with it
# ("no problem") are dropped before (IDIOMS).
REPLY_NO = (
    "no", "nope", "nah", "negative", "not really", "not at all", "we did not", "i did not",
    "we have not", "we could not", "we were not", "nein", "nö", "nee", "leider nicht",
    "leider nein", "nicht wirklich", "non", "pas vraiment", "pas du tout", "malheureusement non",
    "para nada", "lamentablemente no", "desgraciadamente no", "nie", "nej", "não", "👎", "❌",
)  # fmt: skip

WHOLE_NO = ("n",)

# Answers that may also end a clause: "Replying from my other account, yes" / "je crois que non".
END_YES = ("yes", "ja", "oui", "sí")
END_NO = ("nein", "non")

# Anywhere: it has not happened yet.
NOT_YET = (
    "not yet", "noch nicht", "pas encore", "todavía no", "todavia no", "aún no", "aun no",
    "no todavía", "no todavia", "not so far", "bisher nicht", "jusqu ici non",
)  # fmt: skip

# Anywhere: it did not happen.
FAILED = (
    "cancelled", "canceled", "called off", "fell through", "postponed", "did not manage",
    "could not make it", "did not make it", "did not happen", "has not happened",
    "have not been able", "were not able", "was not able", "unable to meet",
    "abgesagt", "ausgefallen", "verschoben", "nicht geklappt", "nicht geschafft",
    "nicht stattgefunden", "annulé", "annulée", "annule", "reporté", "reportée", "pas pu",
    "pas réussi", "cancelada", "cancelado", "cancelamos", "suspendida", "aplazada",
    "aplazado", "pospuesta", "pospusimos", "no pudimos", "no hemos podido", "no se pudo",
    "no ha sido posible", "no fue posible",
)  # fmt: skip

# It happened (past forms): "yes" unless negated, planned or conditional.
MET = (
    "met", "talked", "spoke", "got together", "caught up", "had a meeting", "had our meeting",
    "had the meeting", "had a call", "had our call", "had a chat", "had a session",
    "meeting went", "call went", "went well", "went great", "took place", "seen each other",
    "saw each other", "spoken",
    "getroffen", "trafen", "gesprochen", "telefoniert", "gesehen", "stattgefunden", "geklappt",
    "rencontrés", "rencontrées", "rencontré", "rencontrée", "rencontres", "vus", "vues",
    "réunis", "réunies", "parlé", "discuté", "retrouvés", "retrouvées", "eu lieu",
    "s est bien passé", "s est bien passée",
    "reunimos", "reunido", "reunidos", "vimos", "hablamos", "hablado", "encontramos",
    "quedamos", "tuvimos la reunión", "tuvimos la reunion", "tuvimos una reunión",
    "tuvimos nuestra reunión", "conectamos", "salió bien",
)  # fmt: skip

# It happening (base forms): only a negated one counts ("couldn't meet" -> "no").
MEET = (
    "meet", "meeting", "talk", "speak", "call", "get together", "catch up", "happen",
    "take place", "see each other", "treffen", "sehen", "sprechen", "telefonieren", "schaffen",
    "rencontrer", "voir", "vu", "réunir", "retrouver", "parler", "réunion", "rencontre",
    "reunir", "reunirnos", "vernos", "hablar", "quedar",
    "encontrarnos", "reunión", "reunion",
)  # fmt: skip

# Negators, looked for up to six words before a MET/MEET word in its clause.
NEGATORS = (
    "not", "never", "no", "neither", "nor", "without", "nicht", "nie", "niemals", "kein", "keine",
    "keinen", "keinem", "ohne", "ne", "n", "pas", "jamais", "aucun", "aucune", "sans", "nunca",
    "jamás", "jamas", "tampoco", "ni", "sin",
)  # fmt: skip

# What may stand between a negator and the verb it negates ("did not get a chance to meet",
# "no nos hemos reunido", "n'a pas pu se voir"). Any other word ends the negation's reach:
# "I can't find the meeting link" says nothing about a meeting.
FILLERS = (
    "we", "i", "us", "you", "they", "our", "my", "the", "a", "an", "any", "to", "yet", "been",
    "be", "able", "have", "had", "has", "having", "do", "did", "does", "could", "can", "ca",
    "would", "will", "wo", "get", "got", "gotten", "chance", "time", "manage", "managed",
    "really", "actually", "even", "once", "all", "together", "properly", "formally", "in",
    "person", "as", "group", "still", "so", "far", "ever", "officially",
    "wir", "uns", "noch", "leider", "es", "zu", "haben", "hat", "habe", "sind", "ist", "konnten",
    "können", "ein", "einen", "eine", "einem", "wirklich", "richtig", "persönlich", "bisher",
    "gemeinsam", "zusammen", "als", "gruppe", "mal", "einmal", "geschafft",
    "nous", "on", "se", "s", "est", "sommes", "avons", "a", "eu", "été", "le", "la", "l", "les",
    "de", "d", "temps", "encore", "pu", "réussi", "à", "vraiment", "ensemble", "toujours", "y",
    "en", "un", "une",
    "nos", "nosotros", "hemos", "he", "ha", "han", "hubo", "habido", "hay", "podido", "pudimos",
    "pude", "podemos", "logramos", "conseguido", "conseguimos", "tiempo", "para", "el",
    "todavía", "todavia", "aún", "aun", "realmente", "juntos", "ninguna", "ningún", "ningun",
)  # fmt: skip

# Negators that may come up to three words after the verb: "wir trafen uns nicht".
AFTER_NEGATORS = ("nicht", "nie", "niemals", "pas", "jamais")

# A plan or a wish before a MET word: "we will have met", "wir werden uns getroffen haben".
PLANS = (
    "will", "ll", "shall", "going", "gonna", "plan", "plans", "planned", "planning", "hope",
    "hoping", "want", "would", "should", "werden", "werde", "wird", "wollen", "möchten",
    "sollten", "allons", "vais", "va", "vont", "prévu", "prévoyons", "espère", "espérons",
    "vamos", "voy", "va a", "esperamos", "queremos", "pensamos",
)  # fmt: skip

# A time ahead, just after a MET word: "nos reunimos la próxima semana".
AHEAD = (
    "next", "tomorrow", "nächste", "nächsten", "morgen", "demain", "prochaine", "prochain",
    "próxima", "próximo", "proxima", "proximo", "mañana", "manana",
)  # fmt: skip

# A condition before the verb: "if we meet", "wenn wir uns treffen", "si on se voit".
CONDITIONS = ("if", "unless", "whether", "wenn", "falls", "ob", "si")

# Dropped before reading: a negative word that denies nothing.
IDIOMS = (
    "no problem", "no problems", "no worries", "no doubt", "no matter", "not only", "not just",
    "not bad", "not sure", "no idea", "kein problem", "keine sorge", "keine ahnung", "nicht nur",
    "nicht schlecht", "pas de souci", "pas de soucis", "pas de problème", "pas mal",
    "non seulement", "no hay problema", "no problema", "no solo", "no sólo", "sin problema",
    "no te preocupes", "no se preocupe", "no sé", "no se si", "je ne sais pas", "rien à voir",
    "nada que ver",
)  # fmt: skip
