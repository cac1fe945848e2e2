"""Small aligned vocabularies for synthetic subtitle lines in en, fr, es and de.

Entries are aligned across languages (index i means the same thing in each), so a line built from
the same indices is a translation in every language. Nouns carry their article (gender and case
handled by hand: German needs nominative and accusative); adjectives appear only after an
invariant "it is" construction, so no agreement is needed.
"""

from __future__ import annotations

LANGUAGES = ["en", "fr", "es", "de"]

# The plan's topic list; each topic contributes five nouns.
TOPICS = ["love", "conflict", "discovery", "loss", "triumph", "betrayal", "redemption", "mystery", "science", "history"]

# topic -> list of (en, fr, es, de nominative, de accusative)
NOUNS: dict[str, list[tuple[str, str, str, str, str]]] = {
    "love": [
        ("the letter", "la lettre", "la carta", "der Brief", "den Brief"),
        ("the ring", "la bague", "el anillo", "der Ring", "den Ring"),
        ("her heart", "son cœur", "su corazón", "ihr Herz", "ihr Herz"),
        ("the wedding", "le mariage", "la boda", "die Hochzeit", "die Hochzeit"),
        ("the promise", "la promesse", "la promesa", "das Versprechen", "das Versprechen"),
    ],
    "conflict": [
        ("the border", "la frontière", "la frontera", "die Grenze", "die Grenze"),
        ("the army", "l'armée", "el ejército", "die Armee", "die Armee"),
        ("the weapon", "l'arme", "el arma", "die Waffe", "die Waffe"),
        ("the enemy", "l'ennemi", "el enemigo", "der Feind", "den Feind"),
        ("the bridge", "le pont", "el puente", "die Brücke", "die Brücke"),
    ],
    "discovery": [
        ("the map", "la carte", "el mapa", "die Karte", "die Karte"),
        ("the island", "l'île", "la isla", "die Insel", "die Insel"),
        ("the door", "la porte", "la puerta", "die Tür", "die Tür"),
        ("the signal", "le signal", "la señal", "das Signal", "das Signal"),
        ("the cave", "la grotte", "la cueva", "die Höhle", "die Höhle"),
    ],
    "loss": [
        ("the house", "la maison", "la casa", "das Haus", "das Haus"),
        ("the photograph", "la photo", "la foto", "das Foto", "das Foto"),
        ("his father", "son père", "su padre", "sein Vater", "seinen Vater"),
        ("the memory", "le souvenir", "el recuerdo", "die Erinnerung", "die Erinnerung"),
        ("the child", "l'enfant", "el niño", "das Kind", "das Kind"),
    ],
    "triumph": [
        ("the trophy", "le trophée", "el trofeo", "der Pokal", "den Pokal"),
        ("the final", "la finale", "la final", "das Finale", "das Finale"),
        ("the race", "la course", "la carrera", "das Rennen", "das Rennen"),
        ("the crowd", "la foule", "la multitud", "die Menge", "die Menge"),
        ("the title", "le titre", "el título", "der Titel", "den Titel"),
    ],
    "betrayal": [
        ("the secret", "le secret", "el secreto", "das Geheimnis", "das Geheimnis"),
        ("the contract", "le contrat", "el contrato", "der Vertrag", "den Vertrag"),
        ("the money", "l'argent", "el dinero", "das Geld", "das Geld"),
        ("the witness", "le témoin", "el testigo", "der Zeuge", "den Zeugen"),
        ("the key", "la clé", "la llave", "der Schlüssel", "den Schlüssel"),
    ],
    "redemption": [
        ("the truth", "la vérité", "la verdad", "die Wahrheit", "die Wahrheit"),
        ("the church", "l'église", "la iglesia", "die Kirche", "die Kirche"),
        ("the family", "la famille", "la familia", "die Familie", "die Familie"),
        ("the past", "le passé", "el pasado", "die Vergangenheit", "die Vergangenheit"),
        ("the farm", "la ferme", "la granja", "der Hof", "den Hof"),
    ],
    "mystery": [
        ("the body", "le corps", "el cuerpo", "die Leiche", "die Leiche"),
        ("the diary", "le journal", "el diario", "das Tagebuch", "das Tagebuch"),
        ("the stranger", "l'inconnu", "el desconocido", "der Fremde", "den Fremden"),
        ("the fingerprint", "l'empreinte", "la huella", "der Fingerabdruck", "den Fingerabdruck"),
        ("the attic", "le grenier", "el desván", "der Dachboden", "den Dachboden"),
    ],
    "science": [
        ("the experiment", "l'expérience", "el experimento", "das Experiment", "das Experiment"),
        ("the laboratory", "le laboratoire", "el laboratorio", "das Labor", "das Labor"),
        ("the formula", "la formule", "la fórmula", "die Formel", "die Formel"),
        ("the virus", "le virus", "el virus", "das Virus", "das Virus"),
        ("the rocket", "la fusée", "el cohete", "die Rakete", "die Rakete"),
    ],
    "history": [
        ("the castle", "le château", "el castillo", "die Burg", "die Burg"),
        ("the empire", "l'empire", "el imperio", "das Reich", "das Reich"),
        ("the manuscript", "le manuscrit", "el manuscrito", "das Manuskript", "das Manuskript"),
        ("the king", "le roi", "el rey", "der König", "den König"),
        ("the revolution", "la révolution", "la revolución", "die Revolution", "die Revolution"),
    ],
}
NOUNS_PER_TOPIC = 5

# Subject + modal, followed by an infinitive (German puts the infinitive last).
SUBJECTS = [
    ("We have to", "Nous devons", "Tenemos que", "Wir müssen"),
    ("You must", "Tu dois", "Debes", "Du musst"),
    ("I want to", "Je veux", "Quiero", "Ich will"),
    ("They will", "Ils vont", "Van a", "Sie werden"),
    ("Nobody can", "Personne ne peut", "Nadie puede", "Niemand kann"),
    ("He should", "Il devrait", "Él debería", "Er sollte"),
]
VERBS = [
    ("find", "trouver", "encontrar", "finden"),
    ("protect", "protéger", "proteger", "beschützen"),
    ("forget", "oublier", "olvidar", "vergessen"),
    ("destroy", "détruire", "destruir", "zerstören"),
    ("understand", "comprendre", "entender", "verstehen"),
    ("hide", "cacher", "esconder", "verstecken"),
    ("open", "ouvrir", "abrir", "öffnen"),
    ("save", "sauver", "salvar", "retten"),
    ("keep", "garder", "guardar", "behalten"),
    ("look for", "chercher", "buscar", "suchen"),
    ("explain", "expliquer", "explicar", "erklären"),
    ("change", "changer", "cambiar", "ändern"),
]
ADVERBS = [
    ("tonight", "ce soir", "esta noche", "heute Abend"),
    ("now", "maintenant", "ahora", "jetzt"),
    ("before dawn", "avant l'aube", "antes del amanecer", "vor Sonnenaufgang"),
    ("again", "encore une fois", "otra vez", "noch einmal"),
    ("tomorrow", "demain", "mañana", "morgen"),
    ("at any cost", "à tout prix", "a toda costa", "um jeden Preis"),
]
INTERJECTIONS = [
    ("Listen.", "Écoute.", "Escucha.", "Hör zu."),
    ("Look.", "Regarde.", "Mira.", "Schau."),
    ("Wait.", "Attends.", "Espera.", "Warte."),
    ("Believe me.", "Crois-moi.", "Créeme.", "Glaub mir."),
]
NAMES = ["Anna", "Marc", "Julia", "Thomas", "Léa", "Paul", "Sofia", "Max", "Elena", "Hugo", "Clara", "Daniel"]

# Genre vocabulary: the tone words of a movie's mood group.
MOOD_GROUPS = ["dark", "light", "epic", "serious"]
MOOD_GROUP_OF_GENRE = {
    "Horror": "dark",
    "Thriller": "dark",
    "Crime": "dark",
    "Film-Noir": "dark",
    "Mystery": "dark",
    "War": "dark",
    "Comedy": "light",
    "Children": "light",
    "Animation": "light",
    "Musical": "light",
    "Romance": "light",
    "Action": "epic",
    "Adventure": "epic",
    "Fantasy": "epic",
    "Sci-Fi": "epic",
    "Western": "epic",
    "IMAX": "epic",
    "Drama": "serious",
    "Documentary": "serious",
}
ADJECTIVES = {
    "dark": [
        ("strange", "étrange", "extraño", "seltsam"),
        ("cold", "froid", "frío", "kalt"),
        ("dangerous", "dangereux", "peligroso", "gefährlich"),
        ("terrible", "terrible", "terrible", "schrecklich"),
    ],
    "light": [
        ("wonderful", "merveilleux", "maravilloso", "wunderbar"),
        ("funny", "drôle", "gracioso", "lustig"),
        ("sweet", "doux", "dulce", "süß"),
        ("perfect", "parfait", "perfecto", "perfekt"),
    ],
    "epic": [
        ("incredible", "incroyable", "increíble", "unglaublich"),
        ("huge", "immense", "enorme", "riesig"),
        ("impossible", "impossible", "imposible", "unmöglich"),
        ("fast", "rapide", "rápido", "schnell"),
    ],
    "serious": [
        ("important", "important", "importante", "wichtig"),
        ("difficult", "difficile", "difícil", "schwierig"),
        ("true", "vrai", "cierto", "wahr"),
        ("complicated", "compliqué", "complicado", "kompliziert"),
    ],
}
ADJECTIVES_PER_GROUP = 4

# Templates per language. Slots: {subject} {verb} {noun} {noun_nom} {adverb} {name} {interjection}
# {adjective}. Template i means the same in every language.
TEMPLATES = {
    "en": [
        "{subject} {verb} {noun} {adverb}.",
        "{name}, where is {noun}?",
        "{interjection} It's so {adjective}.",
        "{name}, I can't {verb} {noun} without you.",
        "What about {noun}?",
    ],
    "fr": [
        "{subject} {verb} {noun} {adverb}.",
        "{name}, où est {noun} ?",
        "{interjection} C'est tellement {adjective}.",
        "{name}, je ne peux pas {verb} {noun} sans toi.",
        "Et {noun} ?",
    ],
    "es": [
        "{subject} {verb} {noun} {adverb}.",
        "{name}, ¿dónde está {noun}?",
        "{interjection} Es tan {adjective}.",
        "{name}, no puedo {verb} {noun} sin ti.",
        "¿Y {noun}?",
    ],
    "de": [
        "{subject} {adverb} {noun} {verb}.",
        "{name}, wo ist {noun_nom}?",
        "{interjection} Es ist so {adjective}.",
        "{name}, ich kann {noun} nicht ohne dich {verb}.",
        "Und {noun_nom}?",
    ],
}
TEMPLATE_P = [0.35, 0.20, 0.20, 0.10, 0.15]


def column(entries: list[tuple[str, ...]], language: str) -> list[str]:
    """The words of one language from a list of aligned tuples."""
    return [entry[LANGUAGES.index(language)] for entry in entries]


def nouns(language: str, case: str = "accusative") -> list[str]:
    """All nouns, topic by topic (index = topic * NOUNS_PER_TOPIC + i); German object case by default."""
    position = {"en": 0, "fr": 1, "es": 2}.get(language, 4 if case == "accusative" else 3)
    return [entry[position] for topic in TOPICS for entry in NOUNS[topic]]


def adjectives(language: str) -> list[str]:
    """All adjectives, mood group by group (index = group * ADJECTIVES_PER_GROUP + i)."""
    return [entry[LANGUAGES.index(language)] for group in MOOD_GROUPS for entry in ADJECTIVES[group]]
