"""Views: widgets that show a view-model's state and forward the person's actions to it."""
