"""English title words and MovieLens' moved articles ("City of Lost Children, The").

Seed-independent lists the title generator (titles.py) and the tag vocabulary (vocab.py) pick from.
Theme lexicons follow the hidden theme axes of taste.py; genre nouns follow the 19 genres.
"""

from __future__ import annotations

ADJECTIVES = (
    "Silent Broken Last Lost Hidden Golden Dark Red Blue Black White Wild Secret Little Big Long Cold "
    "Hot Bright Final Second Eternal Forgotten Sweet Bitter Lonely Strange Perfect Crazy Happy Deadly "
    "Frozen Burning Falling Rising Endless Sudden Quiet Savage Gentle Royal American Midnight Electric "
    "Invisible Wicked Holy Young Distant Empty Hollow Crimson Scarlet Velvet Iron Glass Paper Northern "
    "Southern Western Eastern Naked Dangerous Beautiful Brave Wrong Fatal Restless Reckless Lucky Blind"
).split()
NOUNS = (
    "Road River City Night Day Heart House Summer Winter Dream Storm Game Island Garden Harbor Mountain "
    "Shadow Sky Star Moon Sun Fire Water Stone Girl Boy Man Woman Family Friend Stranger Angel Devil King "
    "Queen Kingdom Empire Story Song Line Window Door Mirror Train Bridge Time Life World Kiss Truth Lie "
    "Promise Hours Road Country Valley Sea Ocean Forest Desert Street Avenue Hotel Station Circus Carnival "
    "Horizon Paradise Echo Rain Thunder Dust Smoke Ashes Diamonds Roses Wolves Birds Horses Lions Tigers"
).split()
NOUNS = list(dict.fromkeys(NOUNS))
# Theme lexicons, two per hidden theme axis of taste.py (the axis high, the axis low): a title often
# takes a word of its movie's strongest theme, as real titles say what kind of film it is.
THEME_WORDS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = tuple(
    (tuple(nouns.split()), tuple(adjs.split()))
    for nouns, adjs in (
        ("Night Shadow Blood Grave Darkness Nightmare Crypt", "Dark Bloody Cold Grim Sinister"),
        ("Summer Sun Beach Holiday Picnic Sunshine Vacation", "Sunny Golden Happy Lazy Sweet"),
        ("Star Planet Galaxy Orbit Comet Moon Cosmos", "Cosmic Stellar Lunar Galactic Orbital"),
        ("Farm Village River Valley Meadow Harvest Barn", "Quiet Rural Green Humble Simple"),
        ("Love Heart Kiss Wedding Romance Valentine Bride", "Tender Loving Romantic Sweetheart Passionate"),
        ("War Soldier Battle Regiment Trench Siege Platoon", "Iron Brave Fallen Heroic Bitter"),
        ("Money Heist Gold Bank Fortune Jackpot Vault", "Rich Lucky Crooked Greedy Slick"),
        ("School Class Campus Prom Friends Locker Dorm", "Young Awkward Wild Teenage Rowdy"),
        ("Magic Dragon King Crown Kingdom Sorcerer Quest", "Enchanted Royal Mystic Ancient Legendary"),
        ("City Street Cop Precinct Alley Downtown Siren", "Urban Mean Gritty Crooked Neon"),
        ("Family Home Christmas Puppy Grandma Holiday Sister", "Little Merry Cozy Warm Gentle"),
        ("Killer Hunter Prey Knife Stalker Victim Trap", "Deadly Savage Brutal Vicious Lethal"),
        ("Music Dance Song Rhythm Band Melody Stage", "Loud Groovy Dancing Singing Jazzy"),
        ("Sea Ocean Ship Island Harbor Tide Voyage", "Deep Blue Salty Stormy Drowned"),
        ("Robot Machine Future Android Circuit Clone Cyborg", "Digital Electric Synthetic Mechanical Neon"),
        ("Ghost Spirit Haunting Curse Witch Demon Phantom", "Haunted Cursed Possessed Spectral Eerie"),
    )
)

GENRE_NOUNS: dict[str, list[str]] = {
    "Action": "Strike Mission Force Fury Chase Rampage Target Protocol Escape Operation Extraction Vengeance Impact Showdown Payback".split(),
    "Adventure": "Expedition Treasure Jungle Voyage Quest Map Temple Lagoon Safari Odyssey Compass Summit Caravan".split(),
    "Animation": "Dragon Robot Kitten Forest Balloon Wizard Bunny Penguin Giant Castle Rocket Monster".split(),
    "Children": "Puppy Treasure Friends Toy Princess Magic Bear Elephant Pirate Christmas Snowman Pony Treehouse".split(),
    "Comedy": "Wedding Vacation Party Roommate Boss Neighbor Date Dad Mom Fool Trouble Business Weekend Reunion Prank".split(),
    "Crime": "Heist Killer Murder Alibi Contract Witness Gangster Detective Ransom Vendetta Motive Bullet Jury Suspect Cartel Mob".split(),
    "Documentary": "Portrait Inside Voices Revolution History Chronicles Nature Frontline Archive Legacy Testament".split(),
    "Drama": "Silence Memory Letters Father Mother Daughter Son Brothers Sisters Home Years Season Grace Confession Mercy".split(),
    "Fantasy": "Sword Kingdom Wizard Dragon Spell Realm Throne Prophecy Sorcerer Amulet Legend Unicorn Labyrinth".split(),
    "Film-Noir": "Alibi Dame Racket Detour Gun Nightfall Dragnet Pickup Squeeze Double Frame Setup".split(),
    "Horror": "Dead Curse Haunting Blood Grave Witch Demon Zombie Nightmare Crypt Ritual Possession Cabin Asylum Exorcism Massacre Scream Beast Vampire Ghost".split(),
    "IMAX": "Planet Ocean Everest Space Station Cosmos Reef Volcano Wings Hubble".split(),
    "Musical": "Song Dance Melody Rhythm Ballad Opera Broadway Tune Jazz Blues Swing Serenade".split(),
    "Mystery": "Clue Mystery Riddle Enigma Vanishing Disappearance Case Puzzle Key Cipher Stranger".split(),
    "Romance": "Love Kiss Wedding Heart Affair Romance Valentine Bride Letters Honeymoon Darling Sweetheart".split(),
    "Sci-Fi": "Planet Galaxy Android Orbit Signal Clone Machine Colony Nebula Robot Future Eclipse Quantum Alien Cyborg Paradox".split(),
    "Thriller": "Target Hostage Trap Panic Conspiracy Stalker Breakdown Deadline Fracture Obsession Pursuit".split(),
    "War": "Battle Soldier Front Platoon Siege Battalion Trench Regiment Beach Enemy Command Flag General Sniper".split(),
    "Western": "Gun Ranch Outlaw Sheriff Frontier Canyon Saddle Rider Trail Mesa Gunslinger Rio Bounty Stagecoach".split(),
}
FIRST_NAMES = (
    "John Mary Anna Jack Emma Lucy Max Sam Henry Grace Billy Rosa Frank Ellie Harry Martha Joe Clara Leo Nina "
    "Oscar Vera Walter Irene Hugo Alice Rita Victor Daisy Felix Mabel Otto Iris Ruby Eddie Hazel Louis Stella Jim Nora"
).split()
LAST_NAMES = (
    "Miller Brown Smith Carter Hayes Walsh Moreno Kowalski Nakamura Dubois Fischer Rossi Petrov Olsen Lindqvist "
    "Santos Kim Chen O'Brien Murphy Novak Schmidt Ortega Jensen Costa Bianchi Wagner Sato Horvat Keller"
).split()
PLACES = (
    "Paris Berlin Tokyo Texas Brooklyn Manhattan Vegas Rome Casablanca Alaska Mars Moscow Havana Bombay Dublin "
    "Sicily Chinatown Harlem Hollywood Venice Istanbul Memphis Nevada Oklahoma Marseille Shanghai Lisbon Montana"
).split()
VERBS_ING = "Chasing Finding Saving Killing Loving Leaving Catching Breaking Raising Waking Burning Hunting Dancing Crossing".split()
SUBTITLES = (
    "The Return|The Beginning|Revenge|Resurrection|The Last Chapter|Part Two|Origins|The Reckoning|Legacy|"
    "A New Hope|The Awakening|Judgment Day|Homecoming|Endgame|The Final Frontier|Redemption|Uprising"
).split("|")


MOVED_ARTICLES: tuple[str, ...] = (
    "The",
    "A",
    "An",
    "Les",
    "La",
    "Le",
    "L'",
    "Der",
    "Die",
    "Das",
    "El",
    "Il",
    "Los",
    "Las",
    "Det",
    "Den",
    "O",
)
"""Articles that MovieLens moves to the end of a title ("Haine, La"). "L'" is restored without a space."""


def restore_article(text: str) -> str:
    """'City of Lost Children, The' -> 'The City of Lost Children'; "Avventura, L'" -> "L'Avventura"."""
    head, sep, art = text.rpartition(", ")
    if sep and art in MOVED_ARTICLES and head:
        return f"{art}{head}" if art.endswith("'") else f"{art} {head}"
    return text


def move_article(article: str, core: str) -> str:
    return f"{core}, {article}" if article else core
