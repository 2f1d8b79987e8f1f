"""Sample-level work: clips, trimming, loudness, resampling, synthesized tones."""
