#!/usr/bin/env python
from shared.manage import main

if __name__ == "__main__":
    main()
