"""File formats: audio writers (wav/flac/ogg/mp3), chapters and tags, captions, playlists."""
