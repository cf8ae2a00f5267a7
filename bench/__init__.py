"""Headway's benchmark: import, analysis, dashboard and browser at 10k, 100k and 1M sessions.

    .venv/bin/python -m bench --check --write-docs   # the full run (under 20 minutes)
    .venv/bin/python -m bench --check --sizes 100k   # issue 12's 100k column (under 5 minutes)
    .venv/bin/python -m bench --sizes 2k --repeat 1 --reruns 1 --in-process --no-browser

Each measured stage runs in a fresh child process (`bench.stages`), so that its peak memory
(VmHWM) is its own; the parent (`bench.run`) generates the practices, starts a throwaway
PostgreSQL, collects the children's figures and prints the tables (`bench.report`). `--check`
judges them against issue 12's targets (`bench.targets`, a pure function of the figures) and
profiles each missed one (`bench.profiles`); `bench.browser` times the pages in headless
Chromium.
"""
