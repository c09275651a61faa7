from zoo_tools.cli import main

raise SystemExit(main())
