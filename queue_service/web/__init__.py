"""The queue service's web pages: the resident's status page, congestion and the online guide
(``public``), and the staff KPI pages (``staff``). Server-rendered (Jinja2), no JavaScript framework."""
