"""The Kivy shell every appliance app shares: boot, fonts, language, theme, idle timeout,
out-of-service overlay, keypad. Import :mod:`kiosk.ui.boot` first: it configures Kivy
before a window can open."""
