"""The city hub's web pages (docs/city.md, "The city's pages"): built by :func:`city_hub.web.app.make_app`."""
