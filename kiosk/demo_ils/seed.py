"""The demo library's collection and patrons: deterministic, multilingual, full of real situations.

Everything is generated from fixed tables and a fixed random seed, with dates relative to the
day of seeding, so two seeds on the same day give the same database (trainers can print the
card list).  Each situation a kiosk must handle has a named patron or item (see ``scenario``);
docs/demo-library.md lists them and ``kiosk demo-ils --export-json`` prints them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from kiosk.demo_ils.rules import OTHER_BRANCH, THIS_BRANCH, due_date

SEED = 28560   # fixed: the demo library must be the same on every machine


@dataclass
class Work:
    title: str
    author: str
    call: str            # call number stem, e.g. "FIC SAI" or "641.5 KOC"
    media: str = "book"
    copies: int = 3
    parts: int = 1
    language: str = ""


# (title, author, call number, media, copies, parts).  Titles keep their own accents and scripts.
WORKS: list[Work] = [Work(*w) for w in (
    ("Le Petit Prince", "Antoine de Saint-Exupéry", "FIC SAI", "book", 6),
    ("L'Étranger", "Albert Camus", "FIC CAM", "book", 3),
    ("Les Misérables", "Victor Hugo", "FIC HUG", "book", 3),
    ("À la recherche du temps perdu : Du côté de chez Swann", "Marcel Proust", "FIC PRO", "book", 2),
    ("Madame Bovary", "Gustave Flaubert", "FIC FLA", "book", 2),
    ("Les Trois Mousquetaires", "Alexandre Dumas", "FIC DUM", "book", 3),
    ("Die Verwandlung", "Franz Kafka", "FIC KAF", "book", 3),
    ("Der Zauberberg", "Thomas Mann", "FIC MAN", "book", 2),
    ("Effi Briest", "Theodor Fontane", "FIC FON", "book", 2),
    ("Faust. Der Tragödie erster Teil", "Johann Wolfgang von Goethe", "FIC GOE", "book", 3),
    ("Die unendliche Geschichte", "Michael Ende", "J FIC END", "book", 4),
    ("Emil und die Detektive", "Erich Kästner", "J FIC KAE", "book", 3),
    ("Der Grüffelo", "Julia Donaldson", "J PIC DON", "book", 4),
    ("Cien años de soledad", "Gabriel García Márquez", "FIC GAR", "book", 3),
    ("Don Quijote de la Mancha", "Miguel de Cervantes Saavedra", "FIC CER", "book", 2),
    ("La sombra del viento", "Carlos Ruiz Zafón", "FIC RUI", "book", 4),
    ("Pippi Långstrump", "Astrid Lindgren", "J FIC LIN", "book", 4),
    ("Bröderna Lejonhjärta", "Astrid Lindgren", "J FIC LIN", "book", 3),
    ("Nils Holgerssons underbara resa genom Sverige", "Selma Lagerlöf", "J FIC LAG", "book", 2),
    ("Kometen kommer", "Tove Jansson", "J FIC JAN", "book", 3),
    ("Solaris", "Stanisław Lem", "FIC LEM", "book", 3),
    ("Pan Tadeusz", "Adam Mickiewicz", "FIC MIC", "book", 2),
    ("Osudy dobrého vojáka Švejka za světové války", "Jaroslav Hašek", "FIC HAS", "book", 2),
    ("Il nome della rosa", "Umberto Eco", "FIC ECO", "book", 3),
    ("Se questo è un uomo", "Primo Levi", "940.53 LEV", "book", 2),
    ("Ensaio sobre a cegueira", "José Saramago", "FIC SAR", "book", 3),
    ("Os Lusíadas", "Luís Vaz de Camões", "869.1 CAM", "book", 2),
    ("Seitsemän veljestä", "Aleksis Kivi", "FIC KIV", "book", 2),
    ("Sjálfstætt fólk", "Halldór Laxness", "FIC LAX", "book", 2),
    ("Truyện Kiều", "Nguyễn Du", "895.92 NGU", "book", 2),
    ("Pride and Prejudice", "Jane Austen", "FIC AUS", "book", 4),
    ("Jane Eyre", "Charlotte Brontë", "FIC BRO", "book", 3),
    ("Moby-Dick; or, The Whale", "Herman Melville", "FIC MEL", "book", 2),
    ("Frankenstein; or, The Modern Prometheus", "Mary Wollstonecraft Shelley", "FIC SHE", "book", 3),
    ("The Hobbit", "J. R. R. Tolkien", "FIC TOL", "book", 5),
    ("Anna Karenina", "Lev Tolstoj", "FIC TOL", "book", 2),
    ("Une brève histoire du temps", "Stephen Hawking", "523.1 HAW", "book", 2),
    ("Grundkochbuch: Kochen für Einsteiger", "Ulrike Schäfer", "641.5 SCH", "book", 3),
    ("La cocina mediterránea en casa", "María José Sevilla", "641.59 SEV", "book", 2),
    ("Fågelguiden: Europas och Medelhavsområdets fåglar", "Lars Svensson", "598 SVE", "book", 2),
    ("Jardinería ecológica para principiantes", "Núria Puig", "635 PUI", "book", 2),
    ("Python: Einstieg in die Programmierung", "Jörg Kleinschmidt", "005.13 KLE", "book", 3),
    ("Atlas du monde : édition 2026", "Éditions Géo", "R 912 ATL", "reference", 2),
    ("Duden: Die deutsche Rechtschreibung", "Dudenredaktion", "R 433 DUD", "reference", 2),
    ("Le Fabuleux Destin d'Amélie Poulain", "Jean-Pierre Jeunet", "DVD JEU", "dvd", 3),
    ("Das Leben der Anderen", "Florian Henckel von Donnersmarck", "DVD HEN", "dvd", 2),
    ("Y tu mamá también", "Alfonso Cuarón", "DVD CUA", "dvd", 2),
    ("La vita è bella", "Roberto Benigni", "DVD BEN", "dvd", 2),
    ("Lola rennt", "Tom Tykwer", "DVD TYK", "dvd", 2),
    ("Central do Brasil", "Walter Salles", "DVD SAL", "dvd", 2),
    ("Intouchables", "Olivier Nakache, Éric Toledano", "DVD NAK", "dvd", 2),
    ("Der Herr der Ringe – Die Gefährten (Extended Edition, 2 Discs)", "Peter Jackson", "DVD JAC",
     "dvd", 2, 2),
    ("Perfect Days", "Wim Wenders", "DVD WEN", "dvd-new", 2),
    ("Anatomie d'une chute", "Justine Triet", "DVD TRI", "dvd-new", 2),
    ("Harry Potter und der Stein der Weisen (Hörbuch)", "J. K. Rowling; gelesen von Rufus Beck",
     "CD ROW", "audiobook", 2, 8),
    ("Le Comte de Monte-Cristo (livre audio)", "Alexandre Dumas", "CD DUM", "audiobook", 2, 4),
    ("Assimil : Le nouveau Français sans peine (livre + 4 CD)", "Anthony Bulger", "448 BUL", "set", 2, 5),
    ("Langenscheidt Sprachkurs Spanisch (Buch + 2 CDs)", "Langenscheidt-Redaktion", "468 LAN", "set", 2, 3),
    ("The Lord of the Rings (boxed set, 3 volumes)", "J. R. R. Tolkien", "FIC TOL", "set", 2, 3),
    ("National Geographic (October 2026)", "National Geographic Society", "MAG NAT", "magazine", 3),
    ("GEO – Die Welt mit anderen Augen sehen (11/2026)", "Gruner + Jahr", "MAG GEO", "magazine", 3),
    ("Le Monde diplomatique (novembre 2026)", "Le Monde diplomatique", "MAG MON", "magazine", 2),
    ("¡Hola! (noviembre 2026)", "¡Hola! S.L.", "MAG HOL", "magazine", 2),
    ("The Economist (7 November 2026)", "The Economist Group", "MAG ECO", "magazine", 3),
    ("Allt om Mat (nr 14 2026)", "Bonnier Tidskrifter", "MAG ALL", "magazine", 2),
    ("Los juegos del hambre", "Suzanne Collins", "YA FIC COL", "book", 3),
    ("Tschick", "Wolfgang Herrndorf", "YA FIC HER", "book", 3),
    ("Le Loup qui voulait changer de couleur", "Orianne Lallemand", "J PIC LAL", "book", 3),
    ("Mamma Mu åker bobb", "Jujja Wieslander", "J PIC WIE", "book", 2),
    ("Księgi Jakubowe", "Olga Tokarczuk", "FIC TOK", "book", 2),
    ("Kniha smíchu a zapomnění", "Milan Kundera", "FIC KUN", "book", 2),
    ("Kafka på stranden", "Haruki Murakami", "FIC MUR", "book", 3),
    ("Ζορμπάς", "Νίκος Καζαντζάκης", "FIC KAZ", "book", 2),
    ("Мастер и Маргарита", "Михаил Булгаков", "FIC BUL", "book", 2),
    ("Bolla", "Pajtim Statovci", "FIC STA", "book", 2),
    ("Čovjek od svijeta? Zagrebačke priče", "Ivana Šojat", "FIC SOJ", "book", 2),
    ("Hygge: dansk livsstil", "Meik Wiking", "158.1 WIK", "book", 2),
    ("Harry Potter à l'école des sorciers", "J. K. Rowling", "J FIC ROW", "book", 4),
    ("Pettson och Findus: Rävjakten", "Sven Nordqvist", "J PIC NOR", "book", 3),
    ("Ronja rövardotter", "Astrid Lindgren", "J FIC LIN", "book", 3),
    ("Tintin au Tibet", "Hergé", "J BD HER", "book", 3),
)]


@dataclass
class PatronSeed:
    name: str
    category: str = "adult"
    pin: str | None = None
    status: str = "active"
    block_note: str = ""
    expires_in_days: int = 700
    home_branch: str = THIS_BRANCH
    scenario: str = "valid patron"
    language: str = "000"
    email: str = ""
    loans: list[tuple[str, int, int]] = field(default_factory=list)   # (item key, days ago, renewals)
    fines: list[tuple[int, str, str]] = field(default_factory=list)   # (cents, fee type, description)


def patron_seeds() -> list[PatronSeed]:
    """The demo patrons, card numbers 2000000001.. in this order.  Loans name items by role."""
    P = PatronSeed
    return [
        P("Alice Example", pin="1234", scenario="valid, with PIN; several loans and a hold waiting for her",
          loans=[("book", 3, 0), ("dvd", 2, 0)], email="alice@example.org"),
        P("Bruno Díaz García", scenario="valid, no PIN; one loan that someone at East Branch is waiting for",
          loans=[("hold_east_on_loan", 10, 0)]),
        P("Chloé Lefèvre", pin="2468", scenario="valid; her loan has a hold by another patron (no renewal)",
          loans=[("hold_here_on_loan", 12, 0), ("book", 5, 1)]),
        P("Dagmar Weiß", pin="1111", expires_in_days=-30, scenario="expired card", language="003"),
        P("Émile Moreau", pin="5555", scenario="blocked by fines (12.50 owed, limit 10.00)", language="002",
          fines=[(750, "04", "Overdue: Les Misérables"), (500, "04", "Overdue: Madame Bovary")]),
        P("Fatima Haddad", pin="6666", status="lost_card", scenario="card reported lost"),
        P("Gustav Lindqvist", category="child", pin="7777", scenario="child at the loan limit (5 of 5)",
          loans=[("child_book", d, 0) for d in (1, 2, 3, 4, 5)]),
        P("Hana Nováková", pin="8888", scenario="blocked: 3 overdue items (limit 3)",
          loans=[("book", 35, 0), ("book", 33, 0), ("book", 31, 0)]),
        P("Íñigo Zubizarreta", status="blocked", block_note="Returned damaged items",
          scenario="debarred (blocked by staff), no PIN"),
        P("Jürgen Schäfer", pin="1010", scenario="one overdue book (accruing fine, still allowed to borrow)",
          loans=[("book", 38, 0)], language="003"),
        P("Kaisa Mäkinen", pin="1212", home_branch=OTHER_BRANCH,
          scenario="hold in transit to East Branch"),
        P("Łucja Wiśniewska", pin="1313", scenario="holds for pickup here on an item on loan and one on the shelf"),
        P("Mårten Öberg", pin="1414", home_branch=OTHER_BRANCH, scenario="hold for pickup at East Branch"),
        P("Nguyễn Thị Hoa", pin="1515", scenario="a loan at its renewal limit (3 of 3)",
          loans=[("book", 20, 3), ("magazine", 4, 0)]),
        P("Olga Petrović", pin="1616", scenario="small fine (2.00, under the limit)",
          fines=[(200, "04", "Overdue: Solaris")]),
        P("Pål Næss", category="staff", pin="1717", scenario="staff member (high limits)",
          loans=[("set", 6, 0)]),
        P("Renée Dubois", category="child", scenario="child, no PIN", language="002"),
        P("Søren Kjærgaard", pin="1818", scenario="lost a book on loan: replacement fee 25.00 (blocked by fines)",
          loans=[("lost_on_loan", 90, 0)]),
        P("Teresa Conceição", pin="1919", scenario="valid, nothing on loan"),
        P("Ümit Yılmaz", pin="2020", scenario="valid, nothing on loan"),
        P("Valérie Roux", pin="2121", scenario="valid, nothing on loan"),
        P("Wojciech Kowalczyk", pin="2222", scenario="valid, nothing on loan"),
        P("Xenia Papadopoulou", pin="2323", scenario="valid, nothing on loan"),
        P("Yasmin Ødegård", scenario="valid, no PIN, nothing on loan"),
        P("Zoë Ångström", pin="2525", scenario="valid, nothing on loan"),
        P("Ahmet Çelik", pin="2626", scenario="valid, nothing on loan"),
        P("Björn Þórsson", pin="2727", scenario="valid, nothing on loan"),
        P("Carmen Muñoz", pin="2828", scenario="valid, nothing on loan", language="004"),
        P("Dörte Kühn", pin="2929", scenario="valid, nothing on loan", language="003"),
        P("Enzo Galli", pin="3030", scenario="valid, nothing on loan"),
        P("Françoise Gérard", pin="3131", scenario="valid, nothing on loan", language="002"),
        P("Gökhan Aydın", pin="3232", scenario="valid, nothing on loan"),
    ]


# What the export says about an item a seed patron has on loan, by the role it plays.
ROLE_SCENARIOS = {
    "hold_here_on_loan": "on loan; a patron waits for it here (return answers alert 01)",
    "hold_east_on_loan": "on loan; a patron waits for it at East Branch (return answers alert 02)",
    "lost_on_loan": "lost while on loan: replacement fee charged, cancelled if it comes back",
}


@dataclass
class SeededLibrary:
    """Rows ready for INSERT, produced by :func:`build`."""

    patrons: list[dict]
    items: list[dict]
    loans: list[dict]
    holds: list[dict]
    fines: list[dict]


def _fmt(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def build(today: date) -> SeededLibrary:
    """Generate the whole library for a seed made on ``today`` (deterministic for a given day)."""
    rng = random.Random(SEED)
    noon = datetime.combine(today, datetime.min.time()).replace(hour=12)
    items: list[dict] = []
    used_uids: set[str] = set()
    for work in WORKS:
        for copy in range(work.copies):
            n = len(items) + 1
            uid = ""
            while not uid or uid in used_uids:   # ISO 15693 UIDs of NXP ICODE tags start E0 04
                uid = f"E004015{rng.getrandbits(36):09X}"
            used_uids.add(uid)
            home = OTHER_BRANCH if rng.random() < 0.08 else THIS_BRANCH
            items.append(dict(
                barcode=f"39{n:08d}", tag_uid=uid, title=work.title, author=work.author,
                call_number=f"{work.call}" + (f" c.{copy + 1}" if work.copies > 1 else ""),
                media=work.media, parts=work.parts, home_branch=home, status="available", transit_to="",
                location="Reference" if work.media == "reference" else
                ("Children" if work.call.startswith("J ") else "Adult lending"),
                price=rng.choice((1500, 1990, 2500, 2990, 3500)), properties="", scenario=""))
    # Pick items by role, never reusing one: roles are what the seed patrons and tests rely on.
    free = [it for it in items if it["home_branch"] == THIS_BRANCH and it["media"] != "reference"]
    rng.shuffle(free)

    role_items: dict[str, dict] = {}

    def take(pred, scenario: str, role: str = "") -> dict:
        for i, it in enumerate(free):
            if pred(it):
                it["scenario"] = scenario
                role_items.setdefault(role, it)
                return free.pop(i)
        raise LookupError(scenario)

    roles = {
        "book": lambda it: it["media"] == "book" and not it["call_number"].startswith("J"),
        "child_book": lambda it: it["media"] == "book" and it["call_number"].startswith("J"),
        "dvd": lambda it: it["media"] == "dvd",
        "magazine": lambda it: it["media"] == "magazine",
        "set": lambda it: it["media"] == "set",
        "hold_here_on_loan": lambda it: it["media"] == "book",
        "hold_east_on_loan": lambda it: it["media"] == "book",
        "lost_on_loan": lambda it: it["media"] == "book",
    }
    patrons, loans, holds, fines = [], [], [], []
    for i, p in enumerate(patron_seeds(), start=1):
        card = f"20{i:08d}"
        patrons.append(dict(card=card, name=p.name, pin=p.pin, category=p.category,
                            expires=(today + timedelta(days=p.expires_in_days)).isoformat(),
                            status=p.status, block_note=p.block_note, home_branch=p.home_branch,
                            email=p.email or f"patron{i}@example.org", phone=f"+45 70 00 {i:02d} {i:02d}",
                            address=f"{i} Library Street, Demo Town", language=p.language,
                            scenario=p.scenario))
        for role, days_ago, renewals in p.loans:
            item = take(roles[role], ROLE_SCENARIOS.get(role, "on loan"), role)
            issued = noon - timedelta(days=days_ago)
            loans.append(dict(card=card, barcode=item["barcode"], issued_at=_fmt(issued),
                              due_at=_fmt(due_date(item["media"], issued)), renewals=renewals))
            if role == "lost_on_loan":   # lost while on loan: replacement fee, cancelled if it comes back
                item["status"] = "lost"
                fines.append(dict(card=card, barcode=item["barcode"], fee_type="07", amount=2500,
                                  description=f"Replacement: {item['title']}",
                                  created_at=_fmt(noon - timedelta(days=30))))
        for cents, fee_type, description in p.fines:
            fines.append(dict(card=card, barcode=None, fee_type=fee_type, amount=cents,
                              description=description, created_at=_fmt(noon - timedelta(days=20))))
    by_name = {p["name"]: p["card"] for p in patrons}
    loaned = {ln["barcode"]: ln for ln in loans}

    def hold(name: str, barcode: str, pickup: str, status: str, days_ago: int) -> None:
        holds.append(dict(card=by_name[name], barcode=barcode, pickup_branch=pickup, status=status,
                          placed_at=_fmt(noon - timedelta(days=days_ago)),
                          waiting_since=_fmt(noon - timedelta(days=1)) if status == "waiting" else None))

    hold("Łucja Wiśniewska", role_items["hold_here_on_loan"]["barcode"], THIS_BRANCH, "pending", 6)
    hold("Mårten Öberg", role_items["hold_east_on_loan"]["barcode"], OTHER_BRANCH, "pending", 4)
    on_shelf = take(roles["book"], "on the shelf with a hold for pickup here (checkout by others refused)")
    hold("Łucja Wiśniewska", on_shelf["barcode"], THIS_BRANCH, "pending", 2)
    waiting = take(roles["book"], "waiting on the hold shelf for its patron")
    hold("Alice Example", waiting["barcode"], THIS_BRANCH, "waiting", 5)
    transit = take(roles["book"], "in transit to East Branch for a hold")
    transit.update(status="in_transit", transit_to=OTHER_BRANCH)
    hold("Kaisa Mäkinen", transit["barcode"], OTHER_BRANCH, "in_transit", 3)
    # A queue of two on one popular loan: the first hold wins at checkin.
    queue = take(roles["book"], "on loan with two holds queued")
    issued = noon - timedelta(days=9)
    loans.append(dict(card=by_name["Pål Næss"], barcode=queue["barcode"], issued_at=_fmt(issued),
                      due_at=_fmt(due_date("book", issued)), renewals=0))
    hold("Teresa Conceição", queue["barcode"], THIS_BRANCH, "pending", 8)
    hold("Mårten Öberg", queue["barcode"], OTHER_BRANCH, "pending", 7)
    for status, n in (("lost", 2), ("withdrawn", 3), ("missing", 1)):
        for _ in range(n):
            take(roles["book"], status)["status"] = status
    # Background circulation: about one item in six is on loan to the ordinary patrons.
    ordinary = [by_name[n] for n in ("Alice Example", "Bruno Díaz García", "Chloé Lefèvre", "Pål Næss",
                                      "Jürgen Schäfer", "Nguyễn Thị Hoa", "Olga Petrović")]
    per_card = {c: sum(1 for ln in loans if ln["card"] == c) for c in ordinary}
    for _ in range(22):
        item = free.pop()
        card = rng.choice(ordinary)
        if item["status"] != "available" or item["barcode"] in loaned or per_card[card] >= 6:
            continue
        per_card[card] += 1
        days_ago = rng.randint(1, 6)
        issued = noon - timedelta(days=days_ago)
        item["scenario"] = "on loan"
        loans.append(dict(card=card, barcode=item["barcode"], issued_at=_fmt(issued),
                          due_at=_fmt(due_date(item["media"], issued)), renewals=rng.randint(0, 1)))
    for it in items:
        if it["home_branch"] == OTHER_BRANCH and not it["scenario"]:
            it["scenario"] = "belongs to East Branch (returns here are sent there: alert 04)"
        elif it["media"] == "reference":
            it["scenario"] = "reference: not for loan"
        elif it["media"] == "dvd-new" and not it["scenario"]:
            it["scenario"] = "rental fee 2.00 (checkout needs the fee acknowledged)"
        elif it["parts"] > 1 and not it["scenario"]:
            it["scenario"] = f"multi-part set: {it['parts']} parts"
    return SeededLibrary(patrons, items, loans, holds, fines)
