"""Sentence embeddings for meaning-based review criteria (schema version 10).

``text_embeddings`` — one row per distinct text per encoder
    ``model_id VARCHAR``     the encoder's identity, e.g. ``all-MiniLM-L6-v2@0.1.0+mean``
    ``text_hash VARCHAR``    ``md5(text)`` of a customer sentence (see
                             ``convolab.flags.embeddings.SEGMENTS_SQL``) or of a criteria
                             exemplar phrase
    ``embedding FLOAT[]``    384 floats, unit length (cosine similarity = inner product)
    ``embedded_at TIMESTAMP`` UTC
    Primary key (model_id, text_hash): identical sentences are embedded once. Like
    ``message_emotions`` it is a cache keyed by text, written by ``convolab flag``
    (``convolab.flags.embeddings.embed_store``) and safe to delete: it is rebuilt on demand.

A list (``FLOAT[]``), not a fixed-size array, so that every store backend can hold it.
"""

from __future__ import annotations

__all__ = ["V10_EMBEDDINGS"]

V10_EMBEDDINGS = (
    """
    CREATE TABLE text_embeddings (
        model_id    VARCHAR NOT NULL,
        text_hash   VARCHAR NOT NULL,
        embedding   FLOAT[] NOT NULL,
        embedded_at TIMESTAMP,
        PRIMARY KEY (model_id, text_hash)
    )
    """,
)
