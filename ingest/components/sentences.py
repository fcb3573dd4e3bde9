"""Meta keys of the sentence ranking on passage Documents (ingest.components.passages fills the vectors)."""

# The chunker's (start, end) of each sentence in the passage text, and the multivector: the passage's own vector,
# then one vector per sentence.
SENTENCE_SPANS = "sentences"
SENTENCE_VECTORS = "sentence_vectors"
