"""The ticket kiosk (発券機): life event or procedures → guidance list → ONE printed ticket."""
