"""Recordings: caption files, audio decoding, transcription and the passages cut from them."""
