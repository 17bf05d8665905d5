import sys

from kiosk.doctor import main

sys.exit(main())
