"""An o2o-sdk adapter for the (fictional) Example POS REST API: the template to copy."""

from .adapter import ExamplePosAdapter, ExamplePosSettings, sign

__all__ = ["ExamplePosAdapter", "ExamplePosSettings", "sign"]
