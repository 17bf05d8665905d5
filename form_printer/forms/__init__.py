"""Application forms (申請書) printed by the form issuer: templates as data, a pure fill and layout core, rendering.

``model`` loads and checks the templates (``sites/<site>/forms/*.toml``); ``fill`` and ``layout`` are pure (what each
field says, how it fits its box); ``render`` draws pages with Pillow and packs them into one PDF; ``spool`` hands the
PDF to CUPS (or a folder, for the demo and tests). See docs/forms.md.

Import the module you need: this package imports nothing itself, so the queue service can read
the templates (``model``) without loading Pillow or the spooler.
"""
