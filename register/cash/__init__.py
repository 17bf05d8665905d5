"""Cash changer (自動釣銭機): the UnifiedPOS-style interface, drivers and a simulator."""
