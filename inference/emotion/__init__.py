"""Emotion classification: the network, its weights-file format and the classifier."""
