"""Errors raised by the ingest stage."""


class IngestError(Exception):
    """Root of every error the ingest stage raises."""


class SourceError(IngestError):
    """A path given to import cannot be read as a mail source (the user must act)."""


class ParseError(IngestError):
    """One message's bytes could not be read as a message; it is stored and reported as failed."""


class RawStoreError(IngestError):
    """The raw message store cannot be written or read (permissions, disk, corruption)."""
