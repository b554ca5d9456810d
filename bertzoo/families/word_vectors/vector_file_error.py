"""The one error every vector-file reader raises for malformed input: it names the file and the line
(or byte offset) and says what was expected there."""

from __future__ import annotations

import os


class VectorFileError(ValueError):
    """A word-vector file that does not hold what its format promises.

    Attributes:
        path: the file.
        location: ``"line N"`` (1-based) or ``"byte N"``.
    """

    def __init__(self, path: str | os.PathLike, location: str, message: str):
        self.path = str(path)
        self.location = location
        super().__init__(f"{path}, {location}: {message}")
