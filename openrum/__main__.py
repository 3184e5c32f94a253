from openrum.cli import main

raise SystemExit(main())
