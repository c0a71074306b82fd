"""The large demo data set (`make seed SIZE=large`): what it is (dataset.py) and how it is loaded (loader.py)."""
