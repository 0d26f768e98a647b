"""Service objects between the view-models and the engine: node, engine session, accounts."""
