"""Script PyInstaller freezes: everything goes through ``app.launcher``."""

from app.launcher import main

raise SystemExit(main())
