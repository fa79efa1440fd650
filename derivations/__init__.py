"""The paper's statements as executable derivations.

Each statement module (s3_*, sA_*, ...) defines STATEMENTS, a list of
:class:`derivations.core.Statement`; :mod:`derivations.registry` collects them.
"""
