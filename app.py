"""Headway's entry script: every request runs this first, then the page it routes to.

`ui.route()` sets up the page, signs the visitor in, draws the demo/sample notices and the
sidebar filters once, and returns the page the URL asks for from the pages/ files the
signed-in role may open (st.navigation). See docs/architecture.md.
"""

from practice import ui

ui.run_page(ui.route())
