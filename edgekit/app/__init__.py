"""The library behind the CLI's commands: requests, sources, measuring runs and reports that combine layers.

Application layer, beside ``edgekit.cli`` and ``edgekit.study``: it may import every package below it. The CLI
parses options, builds one request, calls one function here, and renders what comes back.
"""
