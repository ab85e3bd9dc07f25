"""reviewdesk.prescore (front door to come with the stage-packages redesign)."""
