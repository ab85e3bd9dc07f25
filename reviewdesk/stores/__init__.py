"""reviewdesk.stores (front door to come with the stage-packages redesign)."""
