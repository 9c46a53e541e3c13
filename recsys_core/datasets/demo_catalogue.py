"""The demo's catalogue: 12 categories of a 3D-model marketplace, each with two taste groups.

A taste group is one category x one cluster of style tags (low-poly, photogrammetry, rigged,
voxel, tiltbrush, sculpt), with its own nouns and category tags: 24 groups in all. Item names are
built from a style adjective, a colour or material and a noun of their group
(:mod:`recsys_core.datasets.demo` draws them).
"""

from __future__ import annotations

from dataclasses import dataclass

# Style clusters: (tag, adjective used in names). An item's first style tag gives its adjective.
STYLES: dict[str, tuple[tuple[str, str], ...]] = {
    "low-poly": (("low-poly", "Low-poly"), ("stylized", "Stylized"), ("game-ready", "Game-ready")),
    "scan": (("photogrammetry", "Photoscanned"), ("pbr", "PBR"), ("realistic", "Realistic")),
    "rigged": (("rigged", "Rigged"), ("animated", "Animated")),
    "voxel": (("voxel", "Voxel"), ("pixel-art", "Pixel-art")),
    "tiltbrush": (("tiltbrush", "Tilt Brush"), ("hand-painted", "Hand-painted")),
    "sculpt": (("sculpt", "Sculpted"), ("high-poly", "High-poly")),
}
STYLE_TAGS = tuple(tag for cluster in STYLES.values() for tag, _ in cluster)

# Tables are kept as written (one entry per line would hide their shape).
# fmt: off
COLOURS = (
    "Red", "Blue", "Golden", "Silver", "Rusty", "Wooden", "Marble", "Neon", "Chrome", "Mossy",
    "Crimson", "Emerald", "Obsidian", "Ivory", "Copper", "Frosted", "Sandstone", "Teal",
    "Midnight", "Bronze", "Jade", "Amber", "Glass", "",
)
# fmt: on


@dataclass(frozen=True)
class Group:
    """A taste group: one cluster of style tags within a category, with its own nouns."""

    style: str
    tags: tuple[str, ...]
    nouns: tuple[str, ...]


@dataclass(frozen=True)
class Category:
    """A category of the marketplace, its tag and its two taste groups."""

    name: str
    tag: str
    groups: tuple[Group, Group]


# fmt: off
CATEGORIES: tuple[Category, ...] = (
    Category("Animals", "animal", (
        Group("low-poly", ("pet", "farm"), ("Fox", "Cat", "Puppy", "Bunny", "Cow", "Pig",
                                            "Chicken", "Sheep", "Horse", "Duck")),
        Group("scan", ("wildlife", "safari"), ("Wolf", "Elephant", "Lion", "Tiger", "Owl",
                                                "Deer", "Bear", "Crocodile", "Giraffe", "Eagle")),
    )),
    Category("Vehicles", "vehicle", (
        Group("voxel", ("car", "racing"), ("Sports Car", "Pickup Truck", "Race Kart", "Taxi",
                                           "School Bus", "Hot Rod", "Police Car", "Dune Buggy",
                                           "Tractor", "Ice Cream Van")),
        Group("scan", ("aircraft", "military"), ("Fighter Jet", "Helicopter", "Biplane", "Tank",
                                                  "Submarine", "Cargo Plane", "Jeep",
                                                  "Hovercraft", "Zeppelin", "Motorbike")),
    )),
    Category("Architecture", "architecture", (
        Group("scan", ("heritage", "ruins"), ("Cathedral", "Temple Ruins", "Castle Gate",
                                              "Lighthouse", "Old Mill", "Stone Bridge", "Chapel",
                                              "Town Hall", "Roman Arch", "Pagoda")),
        Group("low-poly", ("house", "city"), ("Cottage", "Apartment Block", "Gas Station",
                                              "Diner", "Skyscraper", "Bakery", "Farmhouse",
                                              "Train Station", "Treehouse", "Market Stall")),
    )),
    Category("Characters", "character", (
        Group("rigged", ("human", "hero"), ("Medieval Knight", "Wizard", "Archer",
                                            "Pirate Captain", "Ninja", "Samurai", "Viking",
                                            "Elf Ranger", "Barbarian", "Witch")),
        Group("sculpt", ("creature", "bust"), ("Orc Warlord", "Goblin", "Troll", "Dragon Bust",
                                               "Demon", "Zombie", "Minotaur", "Gargoyle",
                                               "Cyclops", "Lich King")),
    )),
    Category("Weapons", "weapon", (
        Group("low-poly", ("melee", "medieval"), ("Longsword", "Battle Axe", "Katana",
                                                  "War Hammer", "Dagger", "Spear", "Mace",
                                                  "Scimitar", "Halberd", "Round Shield")),
        Group("rigged", ("firearm", "fps"), ("Revolver", "Sniper Rifle", "Shotgun", "Crossbow",
                                             "Flintlock Pistol", "Assault Rifle", "Grenade",
                                             "Bazooka", "Musket", "Blunderbuss")),
    )),
    Category("Furniture", "furniture", (
        Group("scan", ("interior", "antique"), ("Armchair", "Chesterfield Sofa", "Rocking Chair",
                                                 "Grandfather Clock", "Writing Desk", "Dresser",
                                                 "Bookcase", "Four-poster Bed", "Wardrobe",
                                                 "Side Table")),
        Group("voxel", ("office", "modern"), ("Office Chair", "Standing Desk", "Floor Lamp",
                                              "Bean Bag", "Coffee Table", "Bar Stool",
                                              "Shelf Unit", "Sofa Bed", "Filing Cabinet",
                                              "Nightstand")),
    )),
    Category("Sci-fi", "sci-fi", (
        Group("low-poly", ("spaceship", "space"), ("Starfighter", "Space Station", "Rocket",
                                                   "Shuttle", "Mothership", "Lunar Lander",
                                                   "Cargo Freighter", "Drop Pod", "Satellite",
                                                   "Warp Gate")),
        Group("sculpt", ("robot", "cyberpunk"), ("Corridor Kit", "Mech", "Android",
                                                 "Combat Drone", "Cyborg", "Plasma Rifle",
                                                 "Reactor Core", "Exosuit", "Hover Bike",
                                                 "Control Panel")),
    )),
    Category("Nature", "nature", (
        Group("scan", ("plant", "rock"), ("Oak Tree", "Boulder", "Fern", "Fallen Log", "Cactus",
                                          "Tree Stump", "Mushroom Cluster", "Birch Tree",
                                          "Cliff Face", "Pine Tree")),
        Group("tiltbrush", ("flower", "landscape"), ("Sunflower", "Lily Pond", "Waterfall",
                                                     "Island", "Cherry Blossom", "Volcano",
                                                     "Rose Bush", "Meadow", "Canyon",
                                                     "Coral Reef")),
    )),
    Category("Food", "food", (
        Group("sculpt", ("fruit", "bakery"), ("Apple", "Croissant", "Sourdough Loaf",
                                              "Cheese Wheel", "Pumpkin", "Pineapple",
                                              "Watermelon", "Avocado", "Baguette", "Lemon")),
        Group("voxel", ("dessert", "fast-food"), ("Cupcake", "Burger", "Pizza Slice", "Donut",
                                                  "Ice Cream Cone", "Sushi Platter", "Taco",
                                                  "Milkshake", "Hot Dog", "Birthday Cake")),
    )),
    Category("Electronics", "electronics", (
        Group("sculpt", ("retro", "gadget"), ("Cassette Player", "Rotary Phone",
                                              "CRT Television", "Game Console", "Walkman",
                                              "Instant Camera", "Boombox", "Typewriter",
                                              "Radio", "Arcade Cabinet")),
        Group("low-poly", ("computer", "phone"), ("Laptop", "Smartphone", "Gaming PC",
                                                  "Headphones", "Smartwatch", "Keyboard",
                                                  "VR Headset", "Quadcopter", "Tablet",
                                                  "Smart Speaker")),
    )),
    Category("Fantasy", "fantasy", (
        Group("tiltbrush", ("magic", "potion"), ("Potion Bottle", "Crystal Ball", "Spell Book",
                                                 "Magic Staff", "Treasure Chest", "Rune Stone",
                                                 "Wizard Tower", "Portal", "Chalice",
                                                 "Amulet")),
        Group("voxel", ("dungeon", "dragon"), ("Dragon", "Dungeon Tile Set", "Griffin",
                                               "Phoenix", "Unicorn", "Kraken", "Castle Keep",
                                               "Throne", "Mimic Chest", "Basilisk")),
    )),
    Category("Music", "music", (
        Group("rigged", ("instrument", "acoustic"), ("Acoustic Guitar", "Violin", "Grand Piano",
                                                     "Drum Kit", "Saxophone", "Cello",
                                                     "Trumpet", "Harp", "Banjo", "Accordion")),
        Group("tiltbrush", ("synth", "stage"), ("Synthesizer", "Electric Guitar", "DJ Deck",
                                                "Turntable", "Amplifier", "Microphone",
                                                "Keytar", "Drum Machine", "Stage Speaker",
                                                "Bass Guitar")),
    )),
)
# fmt: on
CATEGORY_NAMES = tuple(c.name for c in CATEGORIES)
GROUPS: tuple[tuple[int, Group], ...] = tuple(
    (c, group) for c, category in enumerate(CATEGORIES) for group in category.groups
)
GROUP_LABELS = tuple(f"{CATEGORIES[c].name} / {g.style}" for c, g in GROUPS)
