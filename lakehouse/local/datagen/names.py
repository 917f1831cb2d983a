"""Word lists for customer names and email addresses (plain ASCII: safe in JSON and CSV as-is)."""

FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas",
    "Katrin", "Lukas", "Maria", "Noah", "Olivia", "Paul", "Quinn", "Rosa", "Simon", "Tara",
    "Uwe", "Vera", "Willem", "Xenia", "Yusuf", "Zoe", "Amir", "Bianca", "Carlos", "Dana",
    "Emil", "Fatima", "Goran", "Hanna", "Ivan", "Julia", "Karim", "Lea", "Marco", "Nina",
)
LAST_NAMES = (
    "Schmidt", "Martin", "Rossi", "Garcia", "Jansen", "Novak", "Dubois", "Silva", "Berg",
    "Keller", "Moreau", "Ricci", "Lopez", "Visser", "Horvat", "Fischer", "Laurent", "Costa",
    "Nilsen", "Weber", "Bauer", "Conti", "Ferreira", "Kowalski", "Petrov", "Meyer", "Blanc",
    "Romano", "Santos", "Larsen", "Wagner", "Leroy", "Greco", "Mendes", "Lindqvist", "Hofmann",
    "Girard", "Marino", "Pereira", "Olsen",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "post.example")
