"""The routine format: models, durations, YAML loading with positions, validation, schema."""

from voiceguide.routine.models import Routine, Step, Text, Voice, VoiceSpec

__all__ = ["Routine", "Step", "Text", "Voice", "VoiceSpec"]
