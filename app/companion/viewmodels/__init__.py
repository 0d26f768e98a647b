"""View-models: QObjects holding each screen's state and logic; they call the engine flows."""
