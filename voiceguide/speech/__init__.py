"""Speech engines behind one interface, and the clip cache."""

from voiceguide.speech.base import register_engine
from voiceguide.speech.pyttsx3_engine import Pyttsx3Engine

register_engine("pyttsx3", Pyttsx3Engine)

from voiceguide.speech import piper_engine  # noqa: E402  (piper itself loads on first use)

piper_engine.register()
