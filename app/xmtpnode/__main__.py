"""``python -m app.xmtpnode --port 0 --db PATH``: run a node in the foreground."""

from app.xmtpnode.cli import main

raise SystemExit(main())
