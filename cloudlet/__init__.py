"""cloudlet: run serverless applications written for AWS anywhere, with no cloud account and no Docker."""

__version__ = "0.1.0"
