"""voiceguide: YAML routines turned into spoken, timed guidance — live or rendered to audio."""

__version__ = "0.1.0"
