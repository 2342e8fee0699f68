"""The server's commands come from one table (src/server/commands.c): the
README's text-protocol table lists what /help says, every command in one is
in the other; names are read in any case; /help COMMAND tells one."""

import re

from conftest import ROOT

COMMAND = re.compile(r"`/([a-zA-Z]+)")


def readme_commands():
    """The commands of the README's "you send" column, text protocol."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### The text protocol", 1)[1].split("\n#", 1)[0]
    sent = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name.lower() for cell in sent for name in COMMAND.findall(cell)}


def help_commands(server):
    p = server.peer()
    p.send("/help\n")
    line = p.line()
    assert line.startswith("Commandes : /"), line
    return set(re.findall(r"(?:^Commandes : |, )/([a-z]+)", line))


def test_readme_command_table_matches_help(server):
    readme, helped = readme_commands(), help_commands(server)
    assert {"rooms", "join", "who", "help"} <= helped
    assert helped - readme == set(), "in /help, not in the README's text-protocol table"
    assert readme - helped == set(), "in the README's text-protocol table, not in /help"


def test_commands_are_read_in_any_case(server):
    a = server.peer()
    a.join("alice")
    a.send("/WHO\n")
    assert a.line() == "Présents dans general : alice"
    a.send("/Join Jeux\n")  # its departure is told to the others only
    a.expect("Annonce : alice a rejoint le salon Jeux")
    a.send("/ROOMS\n")
    assert a.line().startswith("Salons : general (0), Jeux (1)")


def test_help_about_one_command(server):
    a = server.peer()
    a.join("bob")
    a.send("/help join\n")
    assert a.line() == "/join SALON : y aller, le créer s'il n'existe pas (aussi /j)"
    a.send("/HELP /who\n")
    assert a.line() == "/who : qui est là (aussi /names)"
    a.send("/help danse\n")  # not a command: the whole list
    assert a.line().startswith("Commandes : /rooms (les salons), /join SALON")


def test_a_missing_argument_gets_the_list(server):
    a = server.peer()
    a.join("carol")
    a.send("/join\n")
    assert a.line().startswith("Erreur : commande inconnue /join. Commandes : /rooms")
    a.send("/who est là\n")
    assert a.line().startswith("Erreur : commande inconnue /who est là. Commandes : ")
