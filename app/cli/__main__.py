"""``python -m app.cli``: the same as the ``xmtp-keys`` command."""

from app.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
