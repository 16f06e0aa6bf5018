"""Errors a user can act on. The command line prints them as one line, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input or set-up, explained in the message."""


class ConfigError(UserError):
    """A configuration file is missing or says something that cannot be right: one line
    per problem, each naming the file and the key."""

    def __init__(self, *lines: str):
        self.lines = list(lines) or ["configuration error"]
        super().__init__("\n".join(self.lines))


class FileProblem(UserError):
    """A source file cannot be used at all: the landlord it belongs to is skipped.

    The message names landlord, file and (where it applies) column, and says what was
    expected.
    """

    MAX_LENGTH = 300   # one line a person reads: never a list that grows with the file

    def __init__(self, landlord: str, file: str, problem: str, column: str | None = None):
        file, column = _cut(file, 80), (_cut(column, 60) if column else column)
        where = f"{landlord}: {file}" + (f", column '{column}'" if column else "")
        problem = _cut(problem, max(120, self.MAX_LENGTH - len(where) - 2))
        self.landlord, self.file, self.column, self.problem = landlord, file, column, problem
        super().__init__(f"{where}: {problem}")

    def __reduce__(self):   # travels back from a worker process intact
        return FileProblem, (self.landlord, self.file, self.problem, self.column)


def _cut(text: str, length: int) -> str:
    text = " ".join(str(text).split())   # one line
    return text if len(text) <= length else text[: length - 1] + "…"
