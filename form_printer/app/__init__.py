"""The form issuer app (申請書自動交付機): Kivy screens over :class:`form_printer.issuer.FormIssuer`."""
