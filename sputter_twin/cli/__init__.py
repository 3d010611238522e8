"""The ``sputter-twin`` command line (also ``python -m sputter_twin``): the top layer, above dashboards,
campaigns, hardware and twin."""
