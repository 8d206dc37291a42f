"""Local sentence embeddings for routellm (all-MiniLM-L6-v2, offline after ``pip install``)."""

__version__ = "0.1.0"
