"""The bundle metadata schema, shipped with the package for offline checks.

``python -m monai.bundle verify_metadata`` downloads the schema named in ``metadata.json`` unless a file is
already at ``--filepath``. This package ships ``meta_schema.json``, written from the field list and types of
MONAI's bundle specification (metadata schema of 2024-07-25: the required fields, their types and the
``network_data_format`` layout), so the check runs without a network.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["SCHEMA_PATH", "verify_metadata_offline"]

SCHEMA_PATH = Path(__file__).with_name("meta_schema.json")


def verify_metadata_offline(meta_file: str | Path) -> None:
    """Validate a bundle's ``metadata.json`` against the shipped schema (no network).

    Args:
        meta_file: path of ``metadata.json``.

    Raises:
        FileNotFoundError: when ``meta_file`` does not exist.
        jsonschema.ValidationError: when the metadata does not follow the schema (the message names the field).

    Example:
        >>> import json, tempfile
        >>> path = Path(tempfile.mkdtemp()) / "metadata.json"
        >>> _ = path.write_text(json.dumps({"version": "0.1.0"}))
        >>> verify_metadata_offline(path)
        Traceback (most recent call last):
            ...
        jsonschema.exceptions.ValidationError: 'schema' is a required property
        ...
    """
    import jsonschema

    path = Path(meta_file)
    if not path.is_file():
        raise FileNotFoundError(f"metadata file not found: {path}")
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.validate(json.loads(path.read_text()), schema)
