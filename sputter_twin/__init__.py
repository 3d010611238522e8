"""sputter-twin's distinctive home: the command line lives here, as ``sputter_twin.cli``.

``python -m sputter_twin`` runs the ``sputter-twin`` command. The library layers keep the folder names the design
fixes (``process_models``, ``twin``, ``hardware``, ``campaigns``, ``dashboards``); only the command line, whose
name ``cli`` would clash with any other project's in a shared environment, moved under this package.
"""
