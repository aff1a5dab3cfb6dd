"""Built-in behaviour, registered through the ``o2o_sdk`` entry point group like any plugin."""
