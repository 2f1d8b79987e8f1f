"""Speech engines behind one interface, and the clip cache."""

from voiceguide.speech.base import register_engine
from voiceguide.speech.pyttsx3_engine import Pyttsx3Engine

register_engine("pyttsx3", Pyttsx3Engine)
