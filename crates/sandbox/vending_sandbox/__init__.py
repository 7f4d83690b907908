"""The local AWS sandbox of tenant vending: moto behind a front that adds what the workflow
needs and moto lacks, and refuses what AWS refuses (see README.md beside this package)."""
