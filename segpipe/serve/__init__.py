"""`segpipe serve`: the HTTP API and dashboard widget of SPEC §10.

app.py builds the FastAPI app; routes.py holds the /api endpoints, each calling
the library function of its CLI command; snapshots.py reads the published file
while `segpipe run` replaces it; tenancy.py holds the tokens and per-tenant
views; static/ is the widget (plain HTML + JS, uPlot vendored from npm);
command.py starts uvicorn.
"""
