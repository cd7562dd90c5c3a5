"""Errors raised by the linker stage."""


class LinkError(Exception):
    """Root of every error the linker stage raises."""


class CustomerFileError(LinkError):
    """A customer sheet cannot be read at all (the user must fix or re-save the file)."""
