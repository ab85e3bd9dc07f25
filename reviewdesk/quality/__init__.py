"""reviewdesk.quality (front door to come with the stage-packages redesign)."""
