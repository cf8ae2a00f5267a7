"""Headway's benchmark: import, analysis and dashboard at 10k, 100k and 1M sessions.

    .venv/bin/python -m bench --write-docs    # the full run, about 10 minutes
    .venv/bin/python -m bench --sizes 2k --repeat 1 --reruns 1 --in-process  # seconds

Each measured stage runs in a fresh child process (`bench.stages`), so that its peak memory
(VmHWM) is its own; the parent (`bench.run`) generates the practices, starts a throwaway
PostgreSQL, collects the children's figures and prints the tables (`bench.report`).
"""
