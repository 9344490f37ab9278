"""Training data written for convolab's emotion model (CC BY 4.0, like GoEmotions).

``customer_service.tsv`` holds customer sentences alone; ``service_dialogue.tsv``
holds customer turns with the agent turn before each, composed by
``compose_service_dialogue.py`` from the hand-written turns in ``service_turns.py``.
The ``*_heldout.tsv`` files are never trained on.
"""
