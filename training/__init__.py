"""Training, evaluation and export of the emotion model that ``inference`` loads."""
