import sys

from densegym.cli import main

sys.exit(main())
