"""Altair chart builders: <what>_chart(frame) -> alt.Chart, one module per page's subject.

Charts take frames that are already aggregated (a few hundred rows at most), so what reaches
the browser stays small at any practice size. Shared colours and axes are in `style`.
"""
