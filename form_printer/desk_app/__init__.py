"""The counter desk (書かない窓口 at the counter): staff write the forms while they listen; the resident signs."""
