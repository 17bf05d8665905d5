import sys

from madoguchi.doctor import main

sys.exit(main())
