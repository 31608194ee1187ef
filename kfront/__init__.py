"""kfront: a learnable speech front-end built on butterfly / K-matrix transforms."""
__version__ = "0.1.0"
