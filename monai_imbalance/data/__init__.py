"""Built-in synthetic multi-lesion data (Decathlon layout) and readers for real datasets."""
