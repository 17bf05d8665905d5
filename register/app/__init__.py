"""The self register's touchscreen app (``madoguchi kiosk register``)."""
