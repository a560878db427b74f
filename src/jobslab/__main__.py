import sys

from jobslab.cli import main

sys.exit(main())
