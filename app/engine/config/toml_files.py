"""Reading a config file: TOML, refused with its path named when it does not parse."""
from __future__ import annotations

import tomllib
from pathlib import Path


def read_toml(path: Path) -> dict:
    with path.open("rb") as fh:
        try:
            return tomllib.load(fh)
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{path}: not valid TOML: {err}") from None
