"""Errors whose message is meant for the user: what is wrong, where, and what to do."""


class QAError(Exception):
    """A problem with the user's input or files; the message names the thing and the fix."""


class StaleIndexError(QAError):
    """The index on disk does not match the corpus, model or schema it is asked to serve."""
