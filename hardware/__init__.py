"""Adapters that execute recipes on real tools (OPC UA first), their mapping files, and a tool emulator that
serves the twin over the same protocol for tests. See ``hardware/README.md``; campaigns find the adapters by
entry point (``twin.load_tool("opcua")``), never by import."""
