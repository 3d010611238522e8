"""The ``sputter-twin`` command line: the top layer, above dashboards, campaigns, hardware and twin."""
