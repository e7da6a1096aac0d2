"""cbm_widgets: ipywidgets for the CbM platform; talks to the backend only through its REST API."""
