"""Fixed vocabularies for the generator: genres and the tag / genome tag vocabularies.

Everything here is seed-independent; the generator's random draws pick from these lists.
The tag vocabularies are built once (cached) and are identical for every seed and scale.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from ..movielens_format import GENRES
from .title_words import FIRST_NAMES, LAST_NAMES, PLACES

# The 19 real genres plus "(no genres listed)" = 20 genre values. Index = topic id.
NO_GENRES = "(no genres listed)"
N_GENRES = len(GENRES)
GENERAL_TOPIC = N_GENRES  # topic id of tags not tied to a genre
N_TOPICS = N_GENRES + 1
G = {name: i for i, name in enumerate(GENRES)}

# Approximate ml-25m genre counts (movies per genre); used as weights.
GENRE_COUNTS = np.array(
    [7348, 4145, 2929, 2935, 16870, 5319, 5605, 25606, 2731, 353, 5989, 195, 1054, 2925, 7719, 3595, 8654, 1874, 1399],
    dtype=np.float64,
)


# --------------------------------------------------------------------------------------------
# Tag vocabularies
# --------------------------------------------------------------------------------------------
_GENOME_HEADS: dict[str, str] = {
    "Action": "action|action packed|car chase|explosions|fight scenes|martial arts|kung fu|guns|shootout|stunts|assassin|"
    "bodyguard|special forces|revenge|vigilante|one-man army|fast paced|adrenaline|swordplay|motorcycle|helicopter|"
    "hostage|terrorism|mercenary|buddy cop|007|007 (series)|james bond|spy|espionage|cops|bank robbery|superhero|"
    "super-hero|comic book|destruction|bad ass|brutality|good action",
    "Adventure": "adventure|treasure hunt|jungle|pirates|sailing|expedition|exploration|quest|survival|shipwreck|island|"
    "mountain climbing|archaeology|road trip|journey|travel|swashbuckler|lost city|globetrotting|africa|arctic|"
    "river|ships|great adventure",
    "Animation": "animation|animated|cartoon|anime|pixar animation|stop motion|claymation|computer animation|hand-drawn|"
    "studio ghibli|cgi|2d animation|japan|pixar|dreamworks|beautiful animation",
    "Children": "kids|children|family|childhood|for kids|kids and family|disney|talking animals|fairy tale|christmas|"
    "dogs|cute|school|friendship|puppets|animal movie|toys|harry potter|wholesome",
    "Comedy": "comedy|funny|hilarious|dark comedy|black comedy|satire|parody|slapstick|spoof|witty|quirky|absurd|goofy|"
    "stand-up comedy|romantic comedy|screwball comedy|silly|humorous|dry humor|british comedy|farce|mockumentary|"
    "feel-good|awkward|very funny|silly fun|comedy classic|sarcasm|irreverent|crude humor",
    "Crime": "crime|gangsters|mafia|organized crime|drugs|police|corruption|detective|murder|prison|con artists|mob|"
    "hitman|robbery|courtroom|lawyers|crime boss|gangs|police investigation|heist|drug abuse|money|greed|"
    "crime gone awful|undercover cop|prison escape",
    "Documentary": "documentary|history|politics|biography|true story|based on a true story|interviews|nature|"
    "environment|music documentary|social commentary|journalism|science|activism|propaganda|economics|"
    "investigative journalism|archive footage|educational",
    "Drama": "drama|emotional|moving|tearjerker|family drama|melancholy|sad|depressing|bittersweet|character study|"
    "relationships|loneliness|grief|death|poignant|intimate|slow paced|coming of age|redemption|mental illness|"
    "addiction|poverty|racism|social issues|oscar (best picture)|oscar (best actress)|oscar (best actor)|"
    "oscar (best directing)|great acting|powerful|touching|life philosophy|father-son relationship|"
    "mother-daughter relationship|friendship|hope|forgiveness|betrayal",
    "Fantasy": "fantasy|magic|fantasy world|dragons|wizards|myth|mythology|supernatural|elves|swords|"
    "sword and sorcery|medieval|enchanted|parallel universe|epic|legend|tolkien|talking objects|dreams|"
    "imagination|fairy tales|magical realism",
    "Film-Noir": "film noir|noir|femme fatale|hard-boiled|private detective|black and white|1940s|shadows|"
    "double cross|voiceover|pulp|crime noir|neo-noir|hardboiled|flashbacks",
    "Horror": "horror|scary|creepy|gore|gory|zombies|zombie|vampires|vampire|ghosts|haunted house|slasher|monster|"
    "demons|possession|exorcism|supernatural horror|jump scares|torture|psychological horror|werewolves|cult|"
    "witches|serial killer|body horror|found footage|b-movie|splatter|cannibalism|creepy kids|horror comedy",
    "IMAX": "imax|3d|visually stunning|spectacle|big budget|visual effects|special effects|stunning|epic scale|"
    "eye candy|visuals|cgi heavy",
    "Musical": "musical|music|singing|dancing|dance|broadway|soundtrack|great soundtrack|songs|opera|jazz|"
    "rock and roll|hip hop|concert|musicians|singer|music business|catchy songs|classical music",
    "Mystery": "mystery|twist ending|plot twist|whodunit|investigation|clever|puzzle|enigmatic|nonlinear|"
    "complicated|memory loss|amnesia|cryptic|unreliable narrator|twists & turns|mindbender|multiple storylines|"
    "complex|secrets|intricate plot",
    "Romance": "romance|romantic|love story|love|love triangle|chick flick|wedding|marriage|sweet|passion|sexy|sex|"
    "first love|unrequited love|infidelity|dating|heartwarming|cute couple|romantic drama|adultery|lovers|"
    "relationship drama",
    "Sci-Fi": "sci-fi|science fiction|space|aliens|robots|artificial intelligence|time travel|dystopia|future|"
    "futuristic|cyberpunk|post-apocalyptic|spaceship|space travel|genetics|virtual reality|clones|mars|androids|"
    "alternate reality|cerebral|philosophical|alien invasion|sci fi|mad scientist|computers|hackers|"
    "technology|apocalypse|first contact",
    "Thriller": "thriller|suspense|tense|suspenseful|psychological thriller|conspiracy|paranoia|kidnapping|stalker|"
    "cat and mouse|edge of your seat|political thriller|intense|violence|violent|psychology|psychopaths|"
    "psychological|tension|paranoid|dark hero|gritty",
    "War": "war|world war ii|world war i|vietnam war|military|soldiers|battle|army|nazis|holocaust|navy|submarine|"
    "anti-war|cold war|civil war|combat|pilots|wwii|war movie|korean war|prisoner of war|resistance",
    "Western": "western|cowboys|gunfight|wild west|outlaws|sheriff|frontier|native americans|horses|spaghetti western|"
    "bounty hunter|desert|revisionist western|ranch|duel|cowboy|gold rush|train robbery",
    "": "atmospheric|visually appealing|cinematography|good acting|great ending|good soundtrack|dialogue|quotable|"
    "classic|cult film|cult classic|masterpiece|overrated|underrated|predictable|boring|stylized|beautiful|dark|"
    "original|unusual|imdb top 250|criterion|remake|sequel|franchise|based on a book|based on a comic|"
    "adapted from:book|adapted from:comic|adaptation|independent film|low budget|weird|thought-provoking|dreamlike|"
    "surreal|nudity|nudity (topless)|nudity (full frontal)|r:violence|r:language|pg-13|new york city|new york|"
    "london|paris|los angeles|small town|san francisco|1920s|1930s|1950s|1960s|1970s|1980s|1990s|2000s|"
    "19th century|18th century|20th century|biographical|female protagonist|strong female lead|ensemble cast|"
    "narrated|storytelling|books|writers|artist|teen|teenagers|high school|college|sports|boxing|baseball|"
    "football|basketball|cars|trains|aviation|ocean|underwater|animals|cats|food|cooking|fashion|religion|"
    "christianity|catholicism|islam|judaism|tv series|talky|long|slow|fun movie|entertaining|great|good|"
    "excellent|excellent script|great movie|good story|great dialogue|stylish|visual|pretentious|"
    "beautifully filmed|beautiful scenery|scenic|cool|inspirational|inspiring|feel good movie|melancholic|"
    "nostalgic|nostalgia|lyrical|poetic|realistic|gritty realism|exceptional acting|vengeance|obsession|"
    "destiny|identity|memory|loneliness in the city|suburbia|rich and poor|class differences|workplace|"
    "office|journalism ethics|politics and power|immigrants|race issues|lgbt|gay|lesbian|homosexuality|"
    "feminism|women|mother|father|brothers|sisters|siblings|twins|kids in danger|old age|aging|illness|cancer|"
    "disability|blindness|deafness|autism|drinking|alcoholism|smoking|gambling|las vegas|chicago|texas|"
    "california|australia|india|china|france|italy|germany|russia|mexico|ireland|scotland|england|spain|"
    "africa (continent)|south america|middle east|island life|beach|snow|winter|summer|rain|night|city|"
    "rural|small budget|short film|black and white film|silent film|foreign|subtitled|dubbed|oscar winner|"
    "oscar (best cinematography)|oscar (best supporting actor)|oscar (best supporting actress)|"
    "oscar (best writing - original screenplay)|oscar (best foreign language film)|golden palm|"
    "cannes|sundance|highly quotable|memorable characters|great characters|interesting|intelligent|smart|"
    "brilliant|clever dialogue|long takes|minimalist|experimental|art house|arthouse|avant-garde|"
    "visual style|colourful|colorful|dark atmosphere|moody|eerie|tragedy|tragic|hopeful|uplifting|optimistic",
}

_TOPIC_ADJS: dict[str, list[str]] = {
    "Action": "explosive|relentless|brutal|epic|stylish|over-the-top|kinetic|gritty|high-octane|loud|nonstop|bloody".split(
        "|"
    ),
    "Adventure": "exotic|daring|sweeping|perilous|grand|wild|thrilling|old-fashioned|rousing|remote|uncharted|classic".split(
        "|"
    ),
    "Animation": "animated|colorful|charming|hand-drawn|whimsical|cute|gorgeous|stylized|playful|vivid|fluid|painterly".split(
        "|"
    ),
    "Children": "family-friendly|cute|sweet|innocent|gentle|heartwarming|magical|silly|cheerful|educational|wholesome|cozy".split(
        "|"
    ),
    "Comedy": "funny|hilarious|witty|absurd|goofy|deadpan|quirky|silly|slapstick|sarcastic|cheesy|awkward".split("|"),
    "Crime": "criminal|corrupt|gritty|violent|cold-blooded|ruthless|urban|underworld|dirty|crooked|masterful|violent".split(
        "|"
    ),
    "Documentary": "factual|historical|political|investigative|archival|real|honest|eye-opening|informative|social|personal|candid".split(
        "|"
    ),
    "Drama": "emotional|moving|sad|touching|intimate|bleak|powerful|quiet|tender|heartbreaking|raw|subtle".split("|"),
    "Fantasy": "magical|mythical|enchanted|epic|otherworldly|mystical|legendary|dreamy|whimsical|ancient|dark|fabled".split(
        "|"
    ),
    "Film-Noir": "noir|shadowy|hard-boiled|fatalistic|smoky|cynical|rain-soaked|doomed|treacherous|black-and-white|moody|seedy".split(
        "|"
    ),
    "Horror": "creepy|gory|eerie|disturbing|grim|chilling|bloody|macabre|terrifying|nightmarish|grisly|unsettling".split(
        "|"
    ),
    "IMAX": "huge|immersive|stunning|spectacular|gigantic|breathtaking|panoramic|3d|large-format|vast|dazzling|monumental".split(
        "|"
    ),
    "Musical": "musical|catchy|toe-tapping|melodic|jazzy|rocking|operatic|singing|choreographed|rhythmic|lyrical|brassy".split(
        "|"
    ),
    "Mystery": "mysterious|puzzling|twisty|cryptic|enigmatic|baffling|clever|intricate|ambiguous|secretive|layered|nonlinear".split(
        "|"
    ),
    "Romance": "romantic|passionate|tender|sweet|steamy|star-crossed|forbidden|bittersweet|sentimental|sappy|flirty|swoony".split(
        "|"
    ),
    "Sci-Fi": "futuristic|dystopian|alien|robotic|cosmic|cyberpunk|interstellar|post-apocalyptic|cerebral|high-tech|retro-futuristic|orbital".split(
        "|"
    ),
    "Thriller": "tense|suspenseful|paranoid|gripping|claustrophobic|nail-biting|twisted|menacing|taut|edgy|dangerous|frantic".split(
        "|"
    ),
    "War": "wartime|military|brutal|heroic|anti-war|tragic|patriotic|bloody|frontline|naval|aerial|wartorn".split("|"),
    "Western": "western|dusty|frontier|lawless|rugged|sun-baked|spaghetti|revisionist|lonesome|wild|cowboy|desert".split(
        "|"
    ),
    "": "great|good|bad|beautiful|clever|slow|strong|memorable|stylish|weak|amazing|brilliant|boring|overlong|"
    "confusing|smart|dumb|fun|dull|perfect|terrible|awesome|underrated|overrated|original|weird|classic|dark|"
    "interesting|excellent|mediocre|solid|fantastic|amazing|poor|incredible|gorgeous|lovely|annoying|haunting".split(
        "|"
    ),
}
_TOPIC_NOUNS: dict[str, list[str]] = {
    "Action": "fights|chases|stunts|explosions|shootouts|hero|villain|showdown|car chases|gunplay|henchmen|mayhem".split(
        "|"
    ),
    "Adventure": "journey|quest|expedition|jungle|treasure|voyage|landscapes|explorers|maps|ruins|sea voyage|caves".split(
        "|"
    ),
    "Animation": "animation|characters|cartoon|artwork|visual style|creatures|drawings|puppets|colors|world-building|sidekick|mascot".split(
        "|"
    ),
    "Children": "kids movie|family film|puppies|toys|friendship|fairy tale|adventure|animals|storybook|playground|lesson|holiday".split(
        "|"
    ),
    "Comedy": "humor|jokes|gags|comedy|banter|one-liners|satire|parody|comedic timing|punchlines|pranks|sitcom feel".split(
        "|"
    ),
    "Crime": "crime|heist|gangsters|cops|mob|underworld|hitmen|criminals|robbery|investigation|detectives|drug deal".split(
        "|"
    ),
    "Documentary": "documentary|history|footage|interviews|politics|portrait|account|reporting|archive|testimony|biography|exposé".split(
        "|"
    ),
    "Drama": "drama|story|family|grief|loss|relationships|performances|characters|tragedy|redemption|struggle|tears".split(
        "|"
    ),
    "Fantasy": "magic|kingdom|dragons|wizards|quest|creatures|world|legend|spells|swords|prophecy|realm".split("|"),
    "Film-Noir": "noir|femme fatale|detective|crime|shadows|double-cross|voiceover|streets|alleys|gumshoe|nightclub|fall guy".split(
        "|"
    ),
    "Horror": "horror|atmosphere|villain|ending|monster|killer|house|ritual|forest|creatures|deaths|kills".split("|"),
    "IMAX": "visuals|spectacle|effects|photography|scenery|footage|landscapes|experience|screen|imagery|vistas|cgi".split(
        "|"
    ),
    "Musical": "songs|music|soundtrack|dance numbers|score|singing|choreography|musical numbers|ballads|melodies|vocals|band".split(
        "|"
    ),
    "Mystery": "mystery|twist|ending|puzzle|clues|secrets|plot|reveal|whodunit|riddle|suspects|revelation".split("|"),
    "Romance": "romance|love story|couple|chemistry|kiss|wedding|lovers|relationship|affair|courtship|heartbreak|love scenes".split(
        "|"
    ),
    "Sci-Fi": "sci-fi|future|aliens|robots|technology|space|spaceships|world-building|concept|ai|time travel|dystopia".split(
        "|"
    ),
    "Thriller": "thriller|suspense|tension|plot|twists|paranoia|villain|chase|conspiracy|climax|stalker|cat-and-mouse".split(
        "|"
    ),
    "War": "war|battle scenes|soldiers|combat|military|warfare|army|trenches|navy|history|bombing|resistance".split(
        "|"
    ),
    "Western": "western|cowboys|gunfights|outlaws|frontier|landscapes|horses|saloon|showdown|sheriff|desert|ranchers".split(
        "|"
    ),
    "": "acting|plot|ending|dialogue|soundtrack|visuals|characters|storyline|script|pacing|score|cast|direction|"
    "photography|twist|performances|atmosphere|premise|finale|cameo|costumes|sets|editing|humor|message|"
    "story|writing|lead|villain|setting|production design|makeup|scenery|directing|concept|movie|film".split("|"),
}

_CASE_VARIANT_SOURCES = (
    "sci-fi|atmospheric|dark comedy|funny|twist ending|visually appealing|comedy|action|horror|romance|"
    "thought-provoking|surreal|classic|drama|cult film|disney|anime|zombies|time travel|quirky|based on a book|"
    "superhero|world war ii|christmas|dystopia|space|pixar|musical|western|heist"
).split("|")

# Tags and genome tags share this fixed list of 1,128 genome tags.
N_GENOME_TAGS = 1128


def _topic_id(name: str) -> int:
    return GENERAL_TOPIC if name == "" else G[name]


@functools.lru_cache(maxsize=1)
def genome_vocabulary() -> tuple[tuple[str, ...], np.ndarray]:
    """The fixed 1,128 genome tags (alphabetical, like the real genome-tags.csv) and their topic ids."""
    seen: dict[str, int] = {}
    for topic, text in _GENOME_HEADS.items():
        for tag in text.split("|"):
            seen.setdefault(tag, _topic_id(topic))
    # Fill the rest with deterministic "adjective noun" combinations, spread over all topics.
    rng = np.random.default_rng(20191121)
    combos: list[tuple[str, int]] = []
    for topic in _TOPIC_ADJS:
        pairs = list(itertools.product(_TOPIC_ADJS[topic], _TOPIC_NOUNS[topic]))
        order = rng.permutation(len(pairs))
        combos.append([(f"{pairs[i][0]} {pairs[i][1]}", _topic_id(topic)) for i in order])  # type: ignore[arg-type]
    i = 0
    while len(seen) < N_GENOME_TAGS:
        for lst in combos:
            if i < len(lst) and len(seen) < N_GENOME_TAGS:
                seen.setdefault(*lst[i])
        i += 1
    tags = sorted(seen)
    return tuple(tags), np.array([seen[t] for t in tags], dtype=np.int16)


def mojibake(text: str) -> str:
    """UTF-8 bytes read back as latin-1: 'é' -> 'Ã©' (the kind of damage found in real tags)."""
    return text.encode("utf-8").decode("latin-1")


@functools.lru_cache(maxsize=1)
def tag_vocabulary() -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """User-tag vocabulary: (strings, topic id per tag, base weight per tag).

    Head: the genome tags (Zipf weights within a topic) plus case variants of popular tags
    ("Sci-Fi", "SCI-FI"); tail: many rare "adjective noun" tags and person names, so that most
    distinct tags are used once or twice, as in real tags.csv. Strings are unique.
    """
    strings = _head_tags()
    for s, topic in _tail_tags().items():
        if s not in strings:
            strings[s] = (topic, 0.0)  # tail weights are set per topic below
    names = tuple(strings)
    topics = np.array([strings[s][0] for s in names], dtype=np.int16)
    weights = np.array([strings[s][1] for s in names], dtype=np.float64)
    # Each topic's tail gets 15% of the topic's mass, spread evenly (long tail of rare tags).
    for topic in range(N_TOPICS):
        in_topic = topics == topic
        head = in_topic & (weights > 0)
        tail_mask = in_topic & (weights == 0)
        if tail_mask.any():
            weights[tail_mask] = 0.15 / 0.85 * weights[head].sum() / tail_mask.sum()
    return names, topics, weights


def _head_tags() -> dict[str, tuple[int, float]]:
    """tag -> (topic, weight): the genome tags (Zipf weights within a topic), then case variants."""
    g_tags, g_topics = genome_vocabulary()
    rng = np.random.default_rng(1093360)
    strings: dict[str, tuple[int, float]] = {}
    # Rank within a topic: the hand-written heads in their listed order (most canonical first),
    # lightly shuffled, then the generated combinations.
    listed = {tag: i for text in _GENOME_HEADS.values() for i, tag in enumerate(text.split("|"))}
    for topic in range(N_TOPICS):
        idx = np.flatnonzero(g_topics == topic)
        pos = np.array([listed.get(g_tags[j], 1000) for j in idx], dtype=np.float64)
        ranks = np.argsort(np.argsort(pos + rng.normal(0, 2.0, len(idx)), kind="stable"), kind="stable") + 1
        for j, r in zip(idx, ranks):
            strings[g_tags[j]] = (topic, 1.0 / r**0.5)
    for tag in _CASE_VARIANT_SOURCES:
        topic, w = strings.get(tag, (GENERAL_TOPIC, 0.1))
        for variant, share in ((tag.title(), 0.25), (tag.upper(), 0.04), (tag.capitalize(), 0.12)):
            if variant not in strings:
                strings[variant] = (topic, w * share)
    return strings


def _tail_tags() -> dict[str, int]:
    """tag -> topic: many rare "adjective noun" tags, person names, places, years, accented words."""
    tail: dict[str, int] = {}
    for topic_name, adjs in _TOPIC_ADJS.items():
        topic = _topic_id(topic_name)
        nouns = _TOPIC_NOUNS[topic_name]
        if topic == GENERAL_TOPIC:
            pairs = itertools.product(adjs, nouns)
        else:
            pairs = itertools.chain(
                itertools.product(adjs, nouns + _TOPIC_NOUNS[""]), itertools.product(_TOPIC_ADJS[""], nouns)
            )
        for a, n in pairs:
            tail.setdefault(f"{a} {n}", topic)
        # Three-word tags make the long tail: most of them are used once, like real free text.
        outer = _TOPIC_ADJS[""] if topic != GENERAL_TOPIC else adjs[: len(adjs) // 2]
        for a, b, n in itertools.product(adjs, outer, nouns):
            if a != b:
                tail.setdefault(f"{b} {a} {n}", topic)
    for first, last in itertools.product(FIRST_NAMES, LAST_NAMES):
        tail.setdefault(f"{first} {last}", GENERAL_TOPIC)
        tail.setdefault(f"{first.lower()} {last.lower()}", GENERAL_TOPIC)
    for p in PLACES:
        tail.setdefault(f"set in {p}", GENERAL_TOPIC)
        tail.setdefault(f"filmed in {p.lower()}", GENERAL_TOPIC)
    for y in range(1930, 2020):
        tail.setdefault(f"seen {y}", GENERAL_TOPIC)
    for word in ("café", "naïve", "déjà vu", "über", "mañana", "fiancée", "señorita", "crème brûlée", "rosé"):
        tail.setdefault(word, GENERAL_TOPIC)
        tail.setdefault(mojibake(word), GENERAL_TOPIC)
    return tail
